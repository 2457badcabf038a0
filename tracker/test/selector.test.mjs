// The short label of a clicked element, tested on element-shaped objects (no DOM in node).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { PROP_CHARS } from '../src/cut.js'
import { selector } from '../src/selector.js'

const element = (localName, id = '', classes = [], control) => ({
  localName,
  id,
  classList: classes,
  closest: () => control,
})

test('tag, id and classes', () => {
  const button = element('button', 'buy', ['primary'])
  button.closest = () => button
  assert.equal(selector(button), 'button#buy.primary')
})

test('at most three classes', () => {
  const div = element('div', '', ['a', 'b', 'c', 'd'], null)
  assert.equal(selector(div), 'div.a.b.c')
})

test('a click inside a control names the control', () => {
  const link = element('a', 'home', [])
  assert.equal(selector(element('svg', '', ['icon'], link)), 'a#home')
})

test("a label over a prop's limit is cut to it", () => {
  const button = element('button', 'retry-' + 'x'.repeat(PROP_CHARS), ['retry'])
  button.closest = () => button
  const label = selector(button)
  assert.equal(label.length, PROP_CHARS)
  assert.ok(label.startsWith('button#retry-xxx'))
})
