// Core Web Vitals from PerformanceObserver: TTFB and FCP at once; LCP, CLS, INP on the first hide.
import { emit, pageFields, pageview } from './core.js'
import { rate } from './rating.js'

let landing
let lcpMs
let clsScore
let windowScore = 0
let windowStartMs = 0
let lastShiftMs = 0
let reported
const interactionMs = {}

const send = (metric, value) => {
  value = metric == 'CLS' ? +value.toFixed(4) : Math.round(value)
  // Vitals belong to the document load, so they carry the landing page even after SPA navigation.
  emit('web_vital', { metric, value, rating: rate(metric, value) }, pageFields(landing))
}

const observe = (type, onEntry, options) => {
  try {
    if (PerformanceObserver.supportedEntryTypes.includes(type)) {
      new PerformanceObserver((list) => list.getEntries().forEach(onEntry))
        .observe({ type, buffered: true, ...options })
      return 1
    }
  } catch (e) {
    // No PerformanceObserver: no vitals from this browser.
  }
}

const onInteraction = (entry) => {
  const id = entry.interactionId
  // Several events (pointerdown, pointerup, click) make one interaction; the slowest counts.
  if (id) interactionMs[id] = Math.max(interactionMs[id] || 0, entry.duration)
}

export const watchVitals = () => {
  landing = pageview
  // A page opened in a background tab paints when first shown: its FCP and LCP say nothing of speed.
  const foreground = !document.hidden
  const navigation = performance.getEntriesByType('navigation')[0]
  if (navigation?.responseStart > 0) send('TTFB', navigation.responseStart)
  observe('paint', (entry) =>
    foreground && entry.name == 'first-contentful-paint' && send('FCP', entry.startTime))
  observe('largest-contentful-paint', (entry) => foreground && (lcpMs = entry.startTime))
  if (
    observe('layout-shift', (entry) => {
      if (entry.hadRecentInput) return
      // Session windows: shifts under 1 s apart, at most 5 s long; CLS is the worst window.
      const t = entry.startTime
      if (t - lastShiftMs < 1000 && t - windowStartMs < 5000) windowScore += entry.value
      else (windowScore = entry.value), (windowStartMs = t)
      lastShiftMs = t
      clsScore = Math.max(clsScore, windowScore)
    })
  )
    clsScore = 0
  observe('event', onInteraction, { durationThreshold: 40 })
  observe('first-input', onInteraction)
}

export const reportVitals = () => {
  if (reported) return
  reported = 1
  if (lcpMs) send('LCP', lcpMs)
  if (clsScore >= 0) send('CLS', clsScore)
  // The 98th percentile of interactions approximates INP: one outlier forgiven per 50 interactions.
  const durations = Object.values(interactionMs).sort((a, b) => b - a)
  if (durations.length) send('INP', durations[(durations.length / 50) | 0])
}
