// Builds wire events (ids, time, page context) for every collector and hands them to the transport.
import { ids, randomId } from './identity.js'
import { enqueue } from './transport.js'

const context = { screen: screen.width + 'x' + screen.height, locale: navigator.language }
let userId

// The last pageview sent (the landing one goes first): later events describe its page.
export let pageview = {}

// Kept for this page only; the server links the visitor to the user from the identify event.
export const setUser = (id) => {
  userId = id == null ? id : '' + id
}

// Fields that tie an event to the page it describes rather than to the moment it is sent.
export const pageFields = (page) => ({ url: page.url, session_id: page.session_id })

// `extra` holds the wire fields of this event; its `type` too, unless it is the server's default,
// `event`, which then goes unsent.
export const emit = (name, props, extra) => {
  const event = {
    name, event_id: randomId(), timestamp: Date.now(), url: pageview.url,
    user_id: userId, props, context, ...ids(), ...extra,
  }
  if (event.type == 'pageview') pageview = event
  enqueue(event)
}
