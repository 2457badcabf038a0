// Whether this browser must not be tracked: the site's opt-out flag, and DNT / GPC when honoured.

export const optedOut = (respectDnt) => {
  try {
    if (localStorage.clycyo_ignore == 'true') return true
  } catch (e) {
    // Storage blocked by the browser: no opt-out can have been set.
  }
  return respectDnt && (navigator.doNotTrack == '1' || navigator.globalPrivacyControl)
}
