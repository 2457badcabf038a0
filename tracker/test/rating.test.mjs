// Web Vitals rating boundaries: good up to and including the first threshold, poor above the second.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { rate } from '../src/rating.js'

const cases = {
  LCP: [[2500, 'good'], [2501, 'needs-improvement'], [4000, 'needs-improvement'], [4001, 'poor']],
  INP: [[200, 'good'], [201, 'needs-improvement'], [500, 'needs-improvement'], [501, 'poor']],
  CLS: [[0.1, 'good'], [0.1001, 'needs-improvement'], [0.25, 'needs-improvement'], [0.2501, 'poor']],
  FCP: [[1800, 'good'], [1801, 'needs-improvement'], [3000, 'needs-improvement'], [3001, 'poor']],
  TTFB: [[800, 'good'], [801, 'needs-improvement'], [1800, 'needs-improvement'], [1801, 'poor']],
}

for (const [metric, expectations] of Object.entries(cases)) {
  for (const [value, rating] of expectations) {
    test(`${metric} ${value} is ${rating}`, () => assert.equal(rate(metric, value), rating))
  }
  test(`${metric} 0 is good`, () => assert.equal(rate(metric, 0), 'good'))
}
