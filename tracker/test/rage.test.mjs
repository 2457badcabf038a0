// Boundaries of the rage-click rule: 3 clicks, each ≤ 1000 ms after the last, ≤ 30 px from the first.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { addClick, isRage } from '../src/rage.js'

const burstOf = (clicks) => clicks.reduce(addClick, [])

test('three clicks 1000 ms apart on the same spot are rage', () => {
  const burst = burstOf([0, 1000, 2000].map((t) => ({ x: 10, y: 10, t })))
  assert.equal(burst.length, 3)
  assert.ok(isRage(burst))
})

test('two clicks are not rage', () => {
  assert.ok(!isRage(burstOf([{ x: 0, y: 0, t: 0 }, { x: 0, y: 0, t: 100 }])))
})

test('a 1001 ms gap starts a new burst', () => {
  const burst = burstOf([{ x: 0, y: 0, t: 0 }, { x: 0, y: 0, t: 500 }, { x: 0, y: 0, t: 1501 }])
  assert.equal(burst.length, 1)
  assert.ok(!isRage(burst))
})

test('30 px from the first click stays in the burst, 31 px does not', () => {
  const within = burstOf([{ x: 0, y: 0, t: 0 }, { x: 30, y: 0, t: 100 }, { x: 0, y: 30, t: 200 }])
  assert.ok(isRage(within))
  const beyond = burstOf([{ x: 0, y: 0, t: 0 }, { x: 0, y: 0, t: 100 }, { x: 31, y: 0, t: 200 }])
  assert.equal(beyond.length, 1)
  assert.ok(!isRage(beyond))
})

test('distance is Euclidean: (18, 24) is exactly 30 px, (19, 24) is not', () => {
  assert.equal(burstOf([{ x: 0, y: 0, t: 0 }, { x: 18, y: 24, t: 10 }]).length, 2)
  assert.equal(burstOf([{ x: 0, y: 0, t: 0 }, { x: 19, y: 24, t: 10 }]).length, 1)
})

test('radius counts from the first click, so drift cannot stretch a burst', () => {
  const burst = burstOf([{ x: 0, y: 0, t: 0 }, { x: 25, y: 0, t: 100 }, { x: 50, y: 0, t: 200 }])
  assert.equal(burst.length, 1)
})

test('four fast clicks are one burst of four', () => {
  const burst = burstOf([0, 150, 300, 450].map((t) => ({ x: 5, y: 5, t })))
  assert.equal(burst.length, 4)
  assert.ok(isRage(burst))
})

test('the rule does not modify the burst it is given', () => {
  const first = burstOf([{ x: 0, y: 0, t: 0 }])
  addClick(first, { x: 0, y: 0, t: 10 })
  assert.equal(first.length, 1)
})
