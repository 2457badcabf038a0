// Copies the chart library from node_modules into the Python package's static files, with its
// licence, so `clycyo serve` ships it and no page loads anything from another host.
import { copyFileSync, mkdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const target = join(root, '..', 'src', 'clycyo', 'web', 'static', 'dashboard', 'vendor')
const files = [
  ['uplot/dist/uPlot.iife.min.js', 'uplot.min.js'],
  ['uplot/dist/uPlot.min.css', 'uplot.min.css'],
  ['uplot/LICENSE', 'uplot.LICENSE.txt'],
]
const budgetBytes = 64 * 1024 // a chart library bigger than this needs a decision record

mkdirSync(target, { recursive: true })
let total = 0
for (const [from, to] of files) {
  copyFileSync(join(root, 'node_modules', from), join(target, to))
  total += statSync(join(target, to)).size
}
const version = JSON.parse(readFileSync(join(root, 'node_modules', 'uplot', 'package.json'))).version
console.log(`dashboard vendor assets: uPlot ${version}, ${total} bytes`)
if (total > budgetBytes) {
  console.error(`over the ${budgetBytes}-byte budget`)
  process.exit(1)
}
