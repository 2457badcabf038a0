// Pure rule: whether a click continues a burst of clicks, and when a burst counts as rage.

export const RAGE_CLICKS = 3
export const RAGE_GAP_MS = 1000
export const RAGE_RADIUS_PX = 30

// A click is {x, y, t (ms)}. The radius is measured from the burst's first click, so a slowly
// drifting pointer cannot stretch one burst across a whole toolbar.
export const addClick = (burst, click) =>
  burst.length &&
  click.t - burst[burst.length - 1].t <= RAGE_GAP_MS &&
  Math.hypot(click.x - burst[0].x, click.y - burst[0].y) <= RAGE_RADIUS_PX
    ? [...burst, click]
    : [click]

export const isRage = (burst) => burst.length >= RAGE_CLICKS
