// Entry point: unless tracking is refused, starts every collector; exposes the window.clycyo API.
import { endBurst, watchClicks } from './clicks.js'
import { KEY, RESPECT_DNT, SPA } from './config.js'
import { optedOut } from './consent.js'
import { emit, setUser } from './core.js'
import { reportEngagement, watchEngagement } from './engagement.js'
import { watchErrors } from './errors.js'
import { startVisitor, visitorId } from './identity.js'
import { trackPageview, watchNavigation } from './pageviews.js'
import { flush, resumeQueue } from './transport.js'
import { reportVitals, watchVitals } from './vitals.js'

const stub = window.clycyo

// A second copy of the script on the page would count everything twice.
if (!stub?.visitorId) {
  const commands = {}
  const clycyo = (command, ...args) => commands[command]?.(...args)
  clycyo.visitorId = visitorId
  window.clycyo = clycyo

  if (KEY && !optedOut(RESPECT_DNT)) {
    startVisitor()
    resumeQueue()
    // Options are wire fields of this one event: revenue and order_id (event_id, timestamp too).
    commands.track = emit
    commands.identify = (userId, traits) => {
      setUser(userId)
      emit(undefined, undefined, { type: 'identify', traits })
    }
    commands.pageview = trackPageview

    trackPageview()
    watchEngagement()
    watchVitals()
    watchErrors()
    watchClicks()
    if (SPA) watchNavigation()

    const leave = () => {
      endBurst()
      reportEngagement(1)
      reportVitals()
      flush()
    }
    addEventListener('visibilitychange', () => document.hidden && leave())
    addEventListener('pagehide', leave)
    addEventListener('pageshow', (e) => e.persisted && trackPageview(1))
  }

  stub?.q?.forEach((args) => clycyo(...args))
}
