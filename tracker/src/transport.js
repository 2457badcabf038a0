// Delivery: batches events, posts them by sendBeacon (else fetch), retries failures from a queue.
import { API, COOKIELESS, KEY } from './config.js'
import { BATCH_EVENTS, FLUSH_DELAY_MS, RETRY_EVENTS, RETRY_MS } from './tuning.js'

let queue = []
let timer = 0

// Cookieless mode promises that nothing is written to the browser: failures wait in memory only.
const save = () => {
  if (!COOKIELESS)
    try {
      queue.length
        ? (localStorage.clycyo_q = JSON.stringify(queue))
        : localStorage.removeItem('clycyo_q')
    } catch (e) {
      // Storage full or blocked: the events still wait in memory.
    }
}

const later = (ms) => timer || (timer = setTimeout(flush, ms))

const retry = (batch) => {
  queue = batch.concat(queue).slice(-RETRY_EVENTS)
  save()
  later(RETRY_MS)
}

// Falsy when the batch went back to the queue. A refused beacon (the browser's in-flight quota is
// full) is queued, not re-sent by fetch: keepalive fetch shares that quota, and its failure would
// only be known after the page is gone, too late to keep the events.
const post = (batch) => {
  // A string body goes as text/plain (UTF-8) by either way, which keeps the request "simple": no
  // CORS preflight.
  const body = JSON.stringify({ key: KEY, sent_at: Date.now(), batch })
  if (navigator.sendBeacon) return navigator.sendBeacon(API, body) || retry(batch)
  fetch(API, { method: 'POST', keepalive: true, body })
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

// Events that failed on an earlier page go out with this page's first batch (its landing pageview,
// queued right after, starts the delay). Cookieless mode stored none, and must send no ids.
export const resumeQueue = () => {
  if (!COOKIELESS)
    try {
      queue = JSON.parse(localStorage.clycyo_q).concat(queue)
    } catch (e) {
      // Nothing stored (or storage blocked).
    }
}
