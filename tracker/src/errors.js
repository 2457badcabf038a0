// Uncaught errors and unhandled promise rejections, each distinct error reported once per page.
import { emit } from './core.js'

const TEXT_CHARS = 1000
const seen = {}

const trim = (text) => text && ('' + text).slice(0, TEXT_CHARS)

const report = (message, stack, source, line, column) => {
  const key = [message, source, line, column]
  if (seen[key]) return
  seen[key] = 1
  emit('js_error', { message: trim(message), source, line, column, stack: trim(stack) })
}

export const watchErrors = () => {
  addEventListener('error', (e) => report(e.message, e.error?.stack, e.filename, e.lineno, e.colno))
  addEventListener('unhandledrejection', (e) => {
    const reason = e.reason
    report(reason?.message || reason, reason?.stack)
  })
}
