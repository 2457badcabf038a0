// The tracker's options, read once from the data-* attributes of its own <script> tag.

// currentScript is null when the tag is a module or was inserted late; data-key finds it then.
const script = document.currentScript || document.querySelector('script[data-key]')
const data = script ? script.dataset : {}
// A flag is on when present, unless written as data-x="false".
const flag = (value) => value != null && value != 'false'

export const KEY = data.key
export const API = data.api || (script && new URL('/api/collect', script.src).href)
export const COOKIELESS = flag(data.cookieless)
export const RESPECT_DNT = flag(data.respectDnt)
export const SPA = data.spa != 'false'
export const COOKIE_DOMAIN = data.cookieDomain
