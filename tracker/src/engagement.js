// Engagement of the current page: deepest scroll (%) and time visible with focus, sent as deltas.
import { emit, pageFields, pageview } from './core.js'

let depthPct = 0
let sentDepthPct = 0
let engagedMs = 0
let since = 0

// Measured on scroll and at report time only: at load the layout may still grow (images, fonts).
const measureScroll = () => {
  const seenPct = Math.round(
    ((scrollY + innerHeight) / document.documentElement.scrollHeight) * 100,
  )
  // A document with no height (a hidden frame) gives 0 / 0: nothing to scroll counts as all seen,
  // and NaN, sent as null, would get the event rejected.
  depthPct = Math.max(depthPct, seenPct < 100 ? seenPct : 100)
}

// Closes the running stretch of engaged time and opens a new one if the page is still in front.
const tick = () => {
  const now = Date.now()
  if (since) engagedMs += now - since
  since = !document.hidden && document.hasFocus() ? now : 0
}

// Each report carries only the time since the previous one, so the server sums engaged_ms;
// nothing new (a second hide, pagehide after visibilitychange) sends nothing. `leaving` stops the
// clock at once: during pagehide the page still counts as visible and focused. `nextPage` starts
// the scroll depth of the page that follows (an SPA's next URL) from the top.
export const reportEngagement = (leaving, nextPage) => {
  tick()
  if (leaving) since = 0
  measureScroll()
  if (engagedMs || depthPct > sentDepthPct)
    // The page's own session: leaving a page read for over 30 min must not open a new visit.
    emit('engagement', { scroll_depth: depthPct, engaged_ms: engagedMs }, pageFields(pageview))
  engagedMs = 0
  if (nextPage) depthPct = 0
  sentDepthPct = depthPct
}

export const watchEngagement = () => {
  tick()
  addEventListener('scroll', measureScroll, { passive: true })
  addEventListener('focus', tick)
  addEventListener('blur', tick)
  addEventListener('visibilitychange', tick)
}
