"""Realtime: who is on the site now — persons with an event of a visit in the last five minutes.

Counts persons (all devices of a user are one), pageviews, and for the dashboard the pages those
visitors are on (their latest pageview) and the sources of their visits. Events outside any visit
(a renewal the payment provider reports, a backend's event for a person not browsing) put nobody
on the site. Exact counts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from clycyo.config.store import Site
from clycyo.identity import persons
from clycyo.query import dialect, reports
from clycyo.query.dates import Period
from clycyo.store.base import EventStore

WINDOW = dt.timedelta(minutes=5)
TOP = 10


def run_realtime(store: EventStore, site: Site, now: dt.datetime | None = None) -> dict[str, Any]:
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(tzinfo=None)
    period = Period(moment - WINDOW, moment + dt.timedelta(seconds=1), site.timezone or "UTC")
    scope = reports.scope(store.dialect, site, period)
    p = scope.params
    d = dialect.of(store.dialect)
    base = (
        f"WITH m AS ({scope.identity_map}), recent AS (SELECT"
        f" coalesce(m.user_bits, {d.bits('e.visit_id')}) AS person, e.type, e.page, e.time,"
        f" e.visit_id FROM events e {persons.JOINS[store.dialect]['event']}"
        f" WHERE e.site_id = {scope.site_id} AND e.time >= {scope.start} AND e.time < {scope.end}"
        f" AND {d.in_visit('e.visit_id')})"
    )
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
        "meta": {"site": site.domain, "since": period.start.isoformat() + "Z", "window_s": 300},
    }
