"""People: find a person by user id or visitor id, and read their timeline.

The timeline is the query layer's (CONTRACT §6): browser and server events of every device the
person used, in time order, each marked with its origin. This view adds what a reader wants at a
glance: first and last touch, net revenue and the devices. Persons are not shown on shared links.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import quote

from clycyo.web.dashboard import stats
from clycyo.web.dashboard.routing import Page, ViewContext
from clycyo.web.dashboard.viewer import NotAllowed

MAX_QUERY_CHARS = 200
RESULTS_SHOWN = 50
TOUCH_FIELDS = ("source", "channel", "utm_source", "utm_medium", "utm_campaign")
# Many per page and rarely the story: hidden from the timeline unless asked (`?detail=all`).
QUIET_EVENTS = ("engagement", "web_vital")


def search(ctx: ViewContext) -> Page:
    text = ctx.query.get("q", "").strip()[:MAX_QUERY_CHARS]
    found = stats.find_people(ctx.runtime, ctx.viewer.site, text, RESULTS_SHOWN) if text else []
    return Page(
        "people.html",
        {
            "q": text,
            "people": [
                {**p, "url": f"{ctx.viewer.base}/people/{quote(str(p['id']), safe='')}"}
                for p in found
            ],
        },
    )


def _touch(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "time": event.get("timestamp"),
        **{f: event.get(f) for f in TOUCH_FIELDS},
        "page": event.get("page") or event.get("url"),
    }


def visit_starts(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first event of each visit: it carries the visit's acquisition (source, channel)."""
    seen: set[str] = set()
    starts = []
    for event in events:
        visit = event.get("visit_id")
        if visit and visit not in seen and event.get("channel"):
            seen.add(visit)
            starts.append(event)
    return starts


def summarize(history: dict[str, Any], money: dict[str, Decimal], currency: str) -> dict[str, Any]:
    """From the person's whole `history` (not only the events the timeline shows): first touch
    (the first visit's acquisition), last touch (the last non-direct visit, else the first),
    visits and events by origin; net revenue from `money` (net per currency) in the site's
    `currency`, the rest apart, never added."""
    first, last = history.get("first_visit"), history.get("last_touch_visit")
    return {
        "events": history["events"],
        "visits": history["visits"],
        "browser_events": history["browser_events"],
        "server_events": history["server_events"],
        "first_seen": history["first_seen"],
        "last_seen": history["last_seen"],
        "first_touch": _touch(first) if first else None,
        "last_touch": _touch(last) if last else None,
        "revenue": money.get(currency, Decimal(0)),
        "other_currencies": {code: net for code, net in money.items() if code != currency},
    }


def person_view(ctx: ViewContext) -> Page:
    person_id = str(ctx.path_params["person"])
    found = stats.timeline(ctx.runtime, ctx.viewer.site, person_id)
    if found is None or not found.get("events"):
        raise NotAllowed(404, "no events for this person on this site")
    events: list[dict[str, Any]] = found["events"]
    # From the ledger, not the timeline: each payment once (a browser and a server copy of one
    # order are one payment), and also payments older than the timeline's latest events.
    money = stats.person_revenue(ctx.runtime, ctx.viewer.site, person_id)
    # The timeline holds only the latest events; the summary counts all of them.
    history = stats.person_history(ctx.runtime, ctx.viewer.site, person_id)
    every = ctx.query.get("detail") == "all"
    starts = {id(e) for e in visit_starts(events)}
    shown = [
        {**e, "visit_start": id(e) in starts}
        for e in events
        if every or e.get("name") not in QUIET_EVENTS
    ]
    return Page(
        "person.html",
        {
            "id": person_id,
            "person": found.get("person", {}),
            "summary": summarize(history, money, ctx.viewer.site.currency),
            "events": shown,
            "hidden": len(events) - len(shown),
            "meta": found.get("meta", {}),
            "currency": ctx.viewer.site.currency,
        },
    )
