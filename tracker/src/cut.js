// Pure rules: texts and URLs cut to what the server accepts (src/clycyo/collect/limits.py), since
// one value over its limit gets the whole event rejected.

// The server's limits, in characters: on `url` and `referrer`, on a title, on a prop's text.
export const URL_CHARS = 4096
export const TEXT_CHARS = 2000
export const PROP_CHARS = 2000

// The first `chars` characters (1,000 unless said), never half of one: half an emoji is a lone
// surrogate, which JSON.stringify writes as an escape (`\ud83d`) that strict JSON parsers refuse,
// and the whole batch with it. A string's iterator yields whole characters (code points), which is
// also how the server counts them.
export const cut = (text, chars = 1000) => text && [...('' + text)].slice(0, chars).join('')

// A URL over `chars` (the limit on `url`, unless said) loses, until it fits: its fragment; then its
// query string but for the UTM parameters (the server reads a visit's campaign from them), and the
// `?` with it when there are none; then those too, and the end of its path. The origin and the
// start of the path always stay: they say which site and page it was.
export const cutUrl = (url, chars = URL_CHARS) => {
  const [query] = url.split('#')
  const [path] = query.split('?')
  const utm = query.split(/[?&]/).filter((p) => /^utm_/i.test(p)).join('&')
  for (const shorter of [query, path + (utm && '?' + utm), path])
    url = url.length > chars ? shorter : url
  return cut(url, chars)
}
