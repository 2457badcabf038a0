// Bundles src/ into dist/clycyo.js: one minified IIFE with no imports left at run time.
import { build } from 'esbuild'

await build({
  entryPoints: ['src/main.js'],
  outfile: 'dist/clycyo.js',
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2020',
  legalComments: 'none',
  logLevel: 'warning',
})
