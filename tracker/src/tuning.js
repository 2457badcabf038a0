// The numbers the transport and the cookies are tuned by. This file imports nothing, so esbuild
// writes each value where it is used: it keeps the constants of a file with imports as variables,
// which the size budget pays for (~26 bytes gzipped for these).

// Transport: a batch leaves this long after its first event.
export const FLUSH_DELAY_MS = 1000
// sendBeacon refuses bodies over ~64 KB; 20 events stay well below that even with stacks.
export const BATCH_EVENTS = 20
// Failed events kept for retry; past that the oldest are dropped rather than grow without bound.
export const RETRY_EVENTS = 100
// A fixed delay (bytes the size budget keeps for other things): retries only follow a refused
// beacon or a fetch that found no network, and a page's hide sends what waits at once anyway.
export const RETRY_MS = 5000

// Cookies: the visitor's lasts a year from the last visit; the session's lifetime is the
// inactivity timeout, and each event renews it.
export const YEAR_S = 31536000
export const SESSION_S = 1800
