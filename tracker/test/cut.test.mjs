// Cutting error texts: never half a character, so the batch stays JSON every parser reads.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { cut } from '../src/cut.js'

const EMOJI = '😀' // two UTF-16 units

test('a character on the cut is kept whole, not split', () => {
  const text = 'a'.repeat(999) + EMOJI + 'b'
  assert.equal(cut(text), 'a'.repeat(999) + EMOJI)
  assert.ok(!JSON.stringify({ message: cut(text) }).includes('\\ud83d'))
})

test('at most 1,000 characters, counted as the server counts them', () => {
  assert.equal(cut(EMOJI.repeat(1200)), EMOJI.repeat(1000))
  assert.equal(cut('x'.repeat(5000)).length, 1000)
  assert.equal(cut('line 1\nline 2'), 'line 1\nline 2')
})

test('other values and nothing', () => {
  assert.equal(cut(42), '42')
  assert.equal(cut(undefined), undefined)
  assert.equal(cut(''), '')
})
