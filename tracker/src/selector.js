// Pure rule: a short CSS-like label (tag#id.class) for the control a person clicked.
import { cut, PROP_CHARS } from './cut.js'

// Clicks usually land on an icon or <span> inside the control; name the control itself.
// (Form fields need no entry: they have no children to be clicked instead.)
const CONTROL = 'a,button,label,[role=button]'

export const selector = (target) => {
  const el = target.closest?.(CONTROL) || target
  // Three classes at most: utility-class frameworks put dozens on one element. An id or a class
  // can be any length, and a label over a prop's limit would get the event rejected.
  return cut(
    el.localName + (el.id ? '#' + el.id : '') + ['', ...el.classList].slice(0, 4).join('.'),
    PROP_CHARS,
  )
}
