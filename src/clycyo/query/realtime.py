"""Realtime: who is on the site now — persons with an event of a visit in the last five minutes.

Counts persons (all devices of a user are one), pageviews, and for the dashboard the pages those
visitors are on (their latest pageview) and the sources of their visits. Events outside any visit
(a renewal the payment provider reports, a backend's event for a person not browsing) put nobody
on the site. Beside the five minutes, the last thirty: visitors and pageviews per clock minute
(the current minute last, so far), and the custom events sent in them (the conversions: a
signup, a payment, whether the browser or the server sent it; not the events the tracker sends
on its own). Exact counts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from clycyo.config.store import Site
from clycyo.identity import persons
from clycyo.query import dialect, goals, reports
from clycyo.query.dates import Period
from clycyo.store.base import EventStore

WINDOW = dt.timedelta(minutes=5)
MINUTES = 30  # the per-minute chart's and the conversions' span
TOP = 10
# The tracker's own events are not conversions, as they are no goal (the dashboard's goals
# panel reads the list here).
TRACKER_EVENTS = goals.TRACKER_EVENTS


def _recent(store: EventStore, scope: reports.Scope, *, in_visit: bool, extra: str = "") -> str:
    """The statement's head: `recent`, the scope's events with their person (and `extra`
    columns), only those of a visit when `in_visit`."""
    d = dialect.of(store.dialect)
    return (
        f"WITH m AS ({scope.identity_map}), recent AS (SELECT"
        f" coalesce(m.user_bits, {d.bits('e.visit_id')}) AS person, e.type, e.name, e.page,"
        f" e.time, e.visit_id{extra} FROM events e {persons.JOINS[store.dialect]['event']}"
        f" WHERE e.site_id = {scope.site_id} AND e.time >= {scope.start} AND e.time < {scope.end}"
        + (f" AND {d.in_visit('e.visit_id')})" if in_visit else ")")
    )


def run_realtime(store: EventStore, site: Site, now: dt.datetime | None = None) -> dict[str, Any]:
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(tzinfo=None)
    period = Period(moment - WINDOW, moment + dt.timedelta(seconds=1), site.timezone or "UTC")
    scope = reports.scope(store.dialect, site, period)
    p = scope.params
    d = dialect.of(store.dialect)
    base = _recent(store, scope, in_visit=True)
    totals = base + (
        " SELECT count(DISTINCT person), count(*) FILTER (WHERE type = 'pageview') FROM recent"
    )
    pages = base + (
        f", latest AS (SELECT person, {d.function('arg_max')}(page, time) AS page FROM recent"
        " WHERE type = 'pageview' GROUP BY person)"
        f" SELECT page, count(*) FROM latest GROUP BY page ORDER BY 2 DESC, 1 LIMIT {TOP}"
    )
    sources = base + (
        ", visiting AS (SELECT DISTINCT r.person, v.source FROM recent r JOIN visits v"
        f" ON v.visit_id = r.visit_id WHERE v.site_id = {scope.site_id} AND {scope.live})"
        f" SELECT source, count(DISTINCT person) FROM visiting GROUP BY source"
        f" ORDER BY 2 DESC, 1 NULLS LAST LIMIT {TOP}"
    )
    results = []
    for sql in (totals, pages, sources):
        text, params = p.render(sql)
        results.append(store.execute(text, params))
    ((visitors, pageviews),) = results[0]
    return {
        "visitors": int(visitors),
        "pageviews": int(pageviews or 0),
        "pages": [{"page": page, "visitors": int(n)} for page, n in results[1]],
        "sources": [{"source": source or "(none)", "visitors": int(n)} for source, n in results[2]],
        **_last_minutes(store, site, moment),
        "meta": {
            "site": site.domain,
            "since": period.start.isoformat() + "Z",
            "window_s": 300,
            "minutes": MINUTES,
        },
    }


def _last_minutes(store: EventStore, site: Site, moment: dt.datetime) -> dict[str, Any]:
    """Visitors and pageviews in each of the last `MINUTES` clock minutes, and the conversions
    (custom events) in them."""
    first = moment.replace(second=0, microsecond=0) - dt.timedelta(minutes=MINUTES - 1)
    period = Period(first, moment + dt.timedelta(seconds=1), site.timezone or "UTC")
    scope = reports.scope(store.dialect, site, period)
    p = scope.params
    d = dialect.of(store.dialect)
    first_us = p.add(int(first.replace(tzinfo=dt.UTC).timestamp()) * 1_000_000)
    minute = f", floor(({d.epoch_us('e.time')} - {first_us}) / 60000000) AS minute"
    per_minute = _recent(store, scope, in_visit=True, extra=minute) + (
        " SELECT minute, count(DISTINCT person), count(*) FILTER (WHERE type = 'pageview')"
        " FROM recent GROUP BY minute"
    )
    tracker = ", ".join(f"'{name}'" for name in TRACKER_EVENTS)
    goals = _recent(store, scope, in_visit=False) + (
        " SELECT name, count(DISTINCT person), count(*) FROM recent"
        f" WHERE type = 'event' AND name NOT IN ({tracker})"
        f" GROUP BY name ORDER BY 2 DESC, 3 DESC, 1 LIMIT {TOP}"
    )
    counts: dict[int, tuple[int, int]] = {}
    text, params = p.render(per_minute)
    for index, visitors, pageviews in store.execute(text, params):
        counts[int(index)] = (int(visitors), int(pageviews or 0))
    zone = ZoneInfo(site.timezone or "UTC")
    minutes = []
    for index in range(MINUTES):
        start = (first + dt.timedelta(minutes=index)).replace(tzinfo=dt.UTC)
        visitors, pageviews = counts.get(index, (0, 0))
        minutes.append(
            {
                "minute": start.isoformat().replace("+00:00", "Z"),
                "local": start.astimezone(zone).strftime("%H:%M"),
                "visitors": visitors,
                "pageviews": pageviews,
            }
        )
    text, params = p.render(goals)
    return {
        "minutes": minutes,
        "goals": [
            {"name": name, "visitors": int(persons_n), "events": int(events_n)}
            for name, persons_n, events_n in store.execute(text, params)
        ],
    }
