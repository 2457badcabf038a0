// Pure rule: whether following a link is an outbound click, a file download, or neither.

export const DOWNLOAD =
  /\.(pdf|zip|dmg|exe|msi|pkg|apk|iso|csv|xlsx?|docx?|pptx?|txt|epub|mp[34]|mov|avi|mkv|wav|7z|rar|t?gz)$/i

// `download` is whether the <a> carries a download attribute. Resolving against the page's own
// host keeps odd hrefs (an SVG link's is an object) from throwing: they just look internal.
export const linkKind = (href, host, download) => {
  const url = new URL(href, 'http://' + host)
  if (/^https?:$/.test(url.protocol)) {
    if (download || DOWNLOAD.test(url.pathname)) return 'file_download'
    if (url.host != host) return 'outbound_click'
  }
}
