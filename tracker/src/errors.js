// Uncaught errors and unhandled promise rejections, each distinct error reported once per page.
import { emit } from './core.js'
import { cut, cutUrl, PROP_CHARS } from './cut.js'

const seen = {}

const report = (message, stack, source, line, column) => {
  const key = [message, source, line, column]
  if (seen[key]) return
  seen[key] = 1
  emit('js_error', {
    message: cut(message),
    // A rejection has no source; a script's address is a prop, with a prop's limit.
    source: source && cutUrl(source, PROP_CHARS),
    line,
    column,
    stack: cut(stack),
  })
}

export const watchErrors = () => {
  addEventListener('error', (e) => report(e.message, e.error?.stack, e.filename, e.lineno, e.colno))
  // A rejection's reason is any value: a Symbol, or an object whose toString throws, would make
  // the report itself throw here, in the page, and the error be lost.
  addEventListener('unhandledrejection', ({ reason }) => {
    try {
      report(String(reason?.message || reason), reason?.stack)
    } catch {
      report('Unhandled rejection')
    }
  })
}
