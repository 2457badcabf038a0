// Delivery: batches events, posts them by sendBeacon (else fetch), retries failures from a queue.
import { API, COOKIELESS, KEY } from './config.js'

const FLUSH_DELAY_MS = 1000
// sendBeacon refuses bodies over ~64 KB; 20 events stay well below that even with stacks.
const BATCH_EVENTS = 20
// Failed events kept for retry; past that the oldest are dropped rather than grow without bound.
const RETRY_EVENTS = 100
const STORE = 'clycyo_q'

let queue = []
let timer = 0
let retryMs = 2000

// Cookieless mode promises that nothing is written to the browser: failures wait in memory only.
const save = () => {
  if (!COOKIELESS)
    try {
      queue.length ? (localStorage[STORE] = JSON.stringify(queue)) : localStorage.removeItem(STORE)
    } catch (e) {
      // Storage full or blocked: the events still wait in memory.
    }
}

const later = (ms) => timer || (timer = setTimeout(flush, ms))

const retry = (batch) => {
  queue = batch.concat(queue).slice(-RETRY_EVENTS)
  save()
  later((retryMs = Math.min(retryMs * 2, 60000)))
}

// Falsy when the batch went back to the queue. A refused beacon (the browser's in-flight quota is
// full) is queued, not re-sent by fetch: keepalive fetch shares that quota, and its failure would
// only be known after the page is gone, too late to keep the events.
const post = (batch) => {
  // text/plain keeps the request "simple": no CORS preflight, and sendBeacon accepts it.
  const body = JSON.stringify({ key: KEY, sent_at: Date.now(), batch })
  if (navigator.sendBeacon) return navigator.sendBeacon(API, body) || retry(batch)
  fetch(API, { method: 'POST', keepalive: true, body, headers: { 'Content-Type': 'text/plain' } })
    .catch(() => retry(batch))
  return 1
}

export const flush = () => {
  clearTimeout(timer)
  timer = 0
  // Stops at the first refusal, which has put its batch back at the head of the queue.
  while (queue.length && post(queue.splice(0, BATCH_EVENTS)));
  save()
}

export const enqueue = (event) => {
  queue.push(event)
  later(FLUSH_DELAY_MS)
}

// Events that failed on an earlier page go out with this page's first batch.
export const resumeQueue = () => {
  try {
    queue = JSON.parse(localStorage[STORE]).concat(queue)
    later(FLUSH_DELAY_MS)
  } catch (e) {
    // Nothing stored (or storage blocked).
  }
}
