// Fails when dist/clycyo.js exceeds its size budget, measured as gzip -9 output.
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'

const BUDGET_BYTES = 3000
const script = readFileSync(new URL('../dist/clycyo.js', import.meta.url))
const gzipBytes = gzipSync(script, { level: 9 }).length
console.log(`dist/clycyo.js: ${script.length} bytes, gzip -9: ${gzipBytes} bytes (budget ${BUDGET_BYTES})`)
if (gzipBytes > BUDGET_BYTES) {
  console.error(`over budget by ${gzipBytes - BUDGET_BYTES} bytes`)
  process.exit(1)
}
