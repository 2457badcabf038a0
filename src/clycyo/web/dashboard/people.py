"""People: the site's persons, a page at a time, and each person's timeline.

The list is the query layer's (`identity/listing.py`, also `GET /api/v1/persons`): identified
persons by default (`who=everyone` adds anonymous visitors), most recently seen first or by net
revenue (`sort=revenue`), only those who paid (`customers=1`), whose user id or a visitor id
starts with `q` (a search looks among everyone unless `who` says otherwise), the next page after
`cursor`. The timeline is the query layer's (CONTRACT §6): browser and server events of every
device the person used, in time order, each marked with its origin. This view adds what a reader
wants at a glance: first and last touch, net revenue and the devices. Persons are not shown on
shared links.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

from clycyo.identity import listing
from clycyo.identity.listing import Listing
from clycyo.query.errors import QueryError
from clycyo.web.dashboard import stats
from clycyo.web.dashboard.routing import Page, ViewContext
from clycyo.web.dashboard.viewer import NotAllowed

PAGE_SIZE = 50
TOUCH_FIELDS = ("source", "channel", "utm_source", "utm_medium", "utm_campaign")
# Many per page and rarely the story: hidden from the timeline unless asked (`?detail=all`).
QUIET_EVENTS = ("engagement", "web_vital")


def _listing(query: dict[str, str]) -> tuple[Listing, dict[str, str]]:
    """What the query string asks to list, and the choices to keep in the page's links."""
    try:
        wanted = listing.from_params(query, PAGE_SIZE)
    except QueryError as exc:
        raise NotAllowed(400, str(exc)) from exc
    kept = {
        "q": wanted.prefix,
        "who": "identified" if wanted.identified_only else "everyone",
        "sort": wanted.sort,
        "customers": "1" if wanted.customers_only else "",
    }
    if wanted.limit != PAGE_SIZE:
        kept["limit"] = str(wanted.limit)
    return wanted, kept


def _link(base: str, kept: dict[str, str], **changes: str) -> str:
    """The People page with the choices `kept`, but `changes`, and from its first page."""
    wanted = {**kept, **changes}
    return f"{base}/people?" + urlencode({k: v for k, v in wanted.items() if v})


def search(ctx: ViewContext) -> Page:
    wanted, kept = _listing(ctx.query)
    found = stats.list_persons(ctx.runtime, ctx.viewer.site, wanted)
    base = ctx.viewer.base
    return Page(
        "people.html",
        {
            **kept,
            "people": [
                {**p, "url": f"{base}/people/{quote(str(p['id']), safe='')}"} for p in found.persons
            ],
            "next_cursor": found.next_cursor,
            "links": {
                "next": _link(base, kept, cursor=found.next_cursor) if found.next_cursor else None,
                "first": _link(base, kept) if wanted.after else None,
                "identified": _link(base, kept, who="identified"),
                "everyone": _link(base, kept, who="everyone"),
                "by_last_seen": _link(base, kept, sort="last_seen"),
                "by_revenue": _link(base, kept, sort="revenue"),
                "customers": _link(base, kept, customers="" if wanted.customers_only else "1"),
            },
            "currency": ctx.viewer.site.currency,
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
