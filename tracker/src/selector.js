// Pure rule: a short CSS-like label (tag#id.class) for the control a person clicked.

// Clicks usually land on an icon or <span> inside the control; name the control itself.
// (Form fields need no entry: they have no children to be clicked instead.)
const CONTROL = 'a,button,label,[role=button]'

export const selector = (target) => {
  const el = target.closest?.(CONTROL) || target
  // Three classes at most: utility-class frameworks put dozens on one element.
  return (
    el.localName +
    (el.id ? '#' + el.id : '') +
    ['', ...el.classList].slice(0, 4).join('.')
  )
}
