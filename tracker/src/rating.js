// Pure rule: the Core Web Vitals rating of a measured value (good / needs-improvement / poor).

// [good up to and including, poor above] per metric; ms except CLS, which is unitless.
export const THRESHOLDS = {
  LCP: [2500, 4000],
  INP: [200, 500],
  CLS: [0.1, 0.25],
  FCP: [1800, 3000],
  TTFB: [800, 1800],
}

export const rate = (metric, value) =>
  value <= THRESHOLDS[metric][0]
    ? 'good'
    : value <= THRESHOLDS[metric][1]
      ? 'needs-improvement'
      : 'poor'
