// Clicks: rage-click bursts, outbound links and file downloads.
import { emit } from './core.js'
import { cutUrl, PROP_CHARS } from './cut.js'
import { linkKind } from './links.js'
import { addClick, isRage, RAGE_GAP_MS } from './rage.js'
import { selector } from './selector.js'

let burst = []
let timer

// Called when a burst is over: a click starts another, a quiet second passes, or the page is left.
export const endBurst = () => {
  if (isRage(burst)) emit('rage_click', { selector: burst[0].selector, clicks: burst.length })
  burst = []
}

const followLink = (target) => {
  const link = target.closest?.('a[href]')
  const kind = link && linkKind(link.href, location.host, link.hasAttribute('download'))
  // A prop's text has the server's shorter limit, not a page URL's.
  if (kind) emit(kind, { url: cutUrl(link.href, PROP_CHARS) })
}

export const watchClicks = () => {
  // Capture phase: a handler that stops propagation must not hide the click.
  addEventListener('click', (e) => {
    const click = { x: e.clientX, y: e.clientY, t: e.timeStamp, selector: selector(e.target) }
    const next = addClick(burst, click)
    if (next.length == 1) endBurst()
    burst = next
    clearTimeout(timer)
    // Just past the longest gap a burst allows, so a click exactly on it still joins.
    timer = setTimeout(endBurst, RAGE_GAP_MS + 100)
    followLink(e.target)
  }, true)
  // A middle click opens the link in a new tab without a click event.
  addEventListener('auxclick', (e) => e.button == 1 && followLink(e.target), true)
}
