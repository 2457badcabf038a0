// Visitor and session ids: random, kept in first-party cookies, and none at all when cookieless.
import { COOKIELESS, COOKIE_DOMAIN } from './config.js'
import { SESSION_S, YEAR_S } from './tuning.js'

// 128 random bits as hex; getRandomValues works on plain http, unlike randomUUID.
export const randomId = () =>
  [...crypto.getRandomValues(new Uint8Array(16))]
    .map((b) => (b | 256).toString(16).slice(1))
    .join('')

const readCookie = (name) => document.cookie.match('(^|; )' + name + '=([^;]+)')?.[2]

const writeCookie = (name, value, maxAgeS) => {
  document.cookie =
    name + '=' + value + ';path=/;max-age=' + maxAgeS + ';SameSite=Lax' +
    (COOKIE_DOMAIN ? ';domain=' + COOKIE_DOMAIN : '') +
    (location.protocol == 'https:' ? ';Secure' : '')
}

let visitor

export const startVisitor = () => {
  if (!COOKIELESS) {
    // Rewritten on every page load so the year counts from the last visit, not the first.
    writeCookie('clycyo_vid', readCookie('clycyo_vid') || randomId(), YEAR_S)
    // Read back: a browser that refuses the cookie is tracked as in cookieless mode, rather than
    // as a new visitor on every page.
    visitor = readCookie('clycyo_vid')
  }
}

export const visitorId = () => visitor || null

// Nothing without a visitor (cookieless): spread into an event, undefined adds no field.
export const ids = () => {
  if (visitor) {
    const session = readCookie('clycyo_sid') || randomId()
    writeCookie('clycyo_sid', session, SESSION_S)
    return { visitor_id: visitor, session_id: session }
  }
}
