// Pageviews: the landing page, then each new URL of a single-page app (history API, back, hash).
import { emit, pageview } from './core.js'
import { cut, cutUrl, TEXT_CHARS } from './cut.js'
import { reportEngagement } from './engagement.js'

// `force` counts the same URL again: a page restored from the back/forward cache is a new view.
export const trackPageview = (force) => {
  // Cut before comparing: it is the cut URL that the last pageview holds.
  const url = cutUrl(location.href)
  if (url == pageview.url && !force) return
  if (pageview.url) reportEngagement(0, 1)
  emit('pageview', undefined, {
    type: 'pageview',
    url,
    title: cut(document.title, TEXT_CHARS),
    // Only the landing page has a real referrer; after it the previous URL is our own page.
    referrer: (!pageview.url && cutUrl(document.referrer)) || undefined,
  })
}

export const watchNavigation = () => {
  // Routers change the title after the URL: a zero-delay look reads the new one (and folds a
  // redirect made right after a push into a single pageview).
  const navigate = () => setTimeout(trackPageview)
  for (const method of ['pushState', 'replaceState']) {
    const original = history[method]
    // The look waits for a timeout, so it sees the URL the original call sets.
    history[method] = (...args) => (navigate(), original.apply(history, args))
  }
  addEventListener('popstate', navigate)
  addEventListener('hashchange', navigate)
}
