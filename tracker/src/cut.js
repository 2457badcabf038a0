// Pure rules: texts and URLs cut to what the server accepts (src/clycyo/collect/limits.py), since
// one value over its limit gets the whole event rejected.

// The server's limit on `url` and `referrer`, in characters.
export const URL_CHARS = 4096

// The first `chars` characters (1,000 unless said), never half of one: half an emoji is a lone
// surrogate, which JSON.stringify writes as an escape (`\ud83d`) that strict JSON parsers refuse,
// and the whole batch with it. A string's iterator yields whole characters (code points), which is
// also how the server counts them.
export const cut = (text, chars = 1000) => text && [...('' + text)].slice(0, chars).join('')

// A URL over the limit loses, until it fits: its fragment; then its query string but for the UTM
// parameters (the server reads a visit's campaign from them); then those too, and the end of its
// path. The origin and the start of the path always stay: they say which site and page it was.
// (A query without UTM parameters leaves an empty `?` after the second step.)
export const cutUrl = (url) => {
  const [query] = url.split('#')
  const [path] = query.split('?')
  for (const shorter of [
    query,
    path + '?' + query.split(/[?&]/).filter((p) => /^utm_/i.test(p)).join('&'),
    path,
  ])
    url = url.length > URL_CHARS ? shorter : url
  return cut(url, URL_CHARS)
}
