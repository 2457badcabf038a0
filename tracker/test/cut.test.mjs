// Cutting texts and URLs to the server's limits: never half a character, so the batch stays JSON
// every parser reads; a URL keeps its origin, path and campaign as long as they fit.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { cut, cutUrl, PROP_CHARS, URL_CHARS } from '../src/cut.js'

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

test('a title is cut at the limit given, counted in characters', () => {
  const title = 'a'.repeat(1999) + EMOJI + 'b'.repeat(3000)
  assert.equal(cut(title, 2000), 'a'.repeat(1999) + EMOJI)
  assert.equal(cut('Pricing', 2000), 'Pricing')
})

const ORIGIN = 'https://shop.example'
const UTM = 'utm_source=newsletter&UTM_Medium=email'

test('a URL within the limit is left as it is', () => {
  const url = ORIGIN + '/p?q=1#' + 'f'.repeat(URL_CHARS - ORIGIN.length - 7)
  assert.equal(url.length, URL_CHARS)
  assert.equal(cutUrl(url), url)
  assert.equal(cutUrl(''), '')
})

test('over the limit, the fragment goes first', () => {
  const url = ORIGIN + '/p?' + UTM + '&q=1#' + 'f'.repeat(URL_CHARS)
  assert.equal(cutUrl(url), ORIGIN + '/p?' + UTM + '&q=1')
})

test('then the query string, but for its UTM parameters', () => {
  const url = ORIGIN + '/p?state=' + 's'.repeat(URL_CHARS) + '&' + UTM + '&q=1#/route?utm_term=x'
  assert.equal(cutUrl(url), ORIGIN + '/p?' + UTM)
})

test('a query without UTM parameters goes with its `?`', () => {
  assert.equal(cutUrl(ORIGIN + '/p?state=' + 's'.repeat(URL_CHARS)), ORIGIN + '/p')
  assert.equal(cutUrl(ORIGIN + '/p?a=1&' + 'b'.repeat(URL_CHARS) + '#top'), ORIGIN + '/p')
})

test('then the UTM parameters too, and the end of the path', () => {
  const fits = '/' + 'p'.repeat(URL_CHARS - ORIGIN.length - 10)
  assert.equal(cutUrl(ORIGIN + fits + '?' + UTM + '#top'), ORIGIN + fits)
  const long = '/' + 'p'.repeat(URL_CHARS)
  assert.equal(cutUrl(ORIGIN + long + '?' + UTM), (ORIGIN + long).slice(0, URL_CHARS))
})

test('a URL in a prop is cut the same way, to the limit on text in props', () => {
  const query = '?utm_source=newsletter&ref=' + 'r'.repeat(3000)
  const cutReport = ORIGIN + '/report.pdf?utm_source=newsletter'
  assert.equal(cutUrl(ORIGIN + '/report.pdf' + query, PROP_CHARS), cutReport)
  const outbound = ORIGIN + '/out?ref=' + 'r'.repeat(3000) + '#offer'
  assert.equal(cutUrl(outbound, PROP_CHARS), ORIGIN + '/out')
  const fits = ORIGIN + '/p?q=' + 'q'.repeat(PROP_CHARS - ORIGIN.length - 5)
  assert.equal(fits.length, PROP_CHARS)
  assert.equal(cutUrl(fits, PROP_CHARS), fits)
  assert.equal(cutUrl(fits + 'q', PROP_CHARS), ORIGIN + '/p')
  assert.equal(cutUrl(ORIGIN + '/' + 'p'.repeat(3000), PROP_CHARS).length, PROP_CHARS)
})
