// Which links count as outbound clicks or file downloads.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { linkKind } from '../src/links.js'

const HOST = 'shop.example.com'

test('a link to another host is outbound', () => {
  assert.equal(linkKind('https://other.example.org/page?x=1', HOST), 'outbound_click')
})

test('a link on the same host is neither', () => {
  assert.equal(linkKind('https://shop.example.com/pricing', HOST), undefined)
})

test('another port is another host', () => {
  assert.equal(linkKind('http://shop.example.com:8080/', HOST), 'outbound_click')
})

test('common file extensions are downloads, on any host, whatever the case', () => {
  const files = ['a.pdf', 'b.ZIP', 'c.dmg', 'd.exe', 'e.csv', 'f.xlsx', 'g.docx', 'h.mp4', 'i.mp3']
  for (const file of files)
    assert.equal(linkKind('https://shop.example.com/files/' + file, HOST), 'file_download', file)
  assert.equal(linkKind('https://cdn.example.net/report.pdf?v=2', HOST), 'file_download')
})

test('an extension-like word inside the path is not a download', () => {
  assert.equal(linkKind('https://shop.example.com/pdf/guide', HOST), undefined)
})

test('the download attribute makes any link a download', () => {
  assert.equal(linkKind('https://shop.example.com/export?id=3', HOST, true), 'file_download')
})

test('mailto:, tel: and javascript: links are ignored', () => {
  for (const href of ['mailto:a@example.org', 'tel:+123', 'javascript:void(0)'])
    assert.equal(linkKind(href, HOST), undefined, href)
})
