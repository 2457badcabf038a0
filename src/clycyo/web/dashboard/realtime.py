"""Realtime: who is on the site in the last five minutes, refreshed live by the page's script.

Below the count, the last thirty minutes: pageviews and visitors per minute (a bar chart the
script draws with the overview's chart library) and the conversions, custom events such as a
signup or a payment. The page polls its own `.json` twin (same query, same numbers), so realtime
needs no socket and works through any proxy. The counting is the query layer's realtime query.
"""

from __future__ import annotations

from clycyo.web.dashboard import stats
from clycyo.web.dashboard.routing import Page, ViewContext

WINDOW_MINUTES = 5
REFRESH_S = 10
MIN_REFRESH_S, MAX_REFRESH_S = 2, 300


def realtime_view(ctx: ViewContext) -> Page:
    data = stats.realtime(ctx.runtime, ctx.viewer.site)
    for row in data["goals"]:
        row["label"] = row["name"]
    try:
        refresh_s = int(ctx.query.get("refresh", REFRESH_S))
    except ValueError:
        refresh_s = REFRESH_S
    return Page(
        "realtime.html",
        {
            "site": ctx.viewer.site.domain,
            "window_minutes": WINDOW_MINUTES,
            "refresh_s": max(MIN_REFRESH_S, min(refresh_s, MAX_REFRESH_S)),
            **data,
        },
    )
