"""Journeys: the most common sequences of pages within a visit.

A visit's journey is its pageviews' pages in time order, a page viewed again at once (a reload)
counted once, cut after `steps` pages. With `start_page` only visits entering on that page count.
Filters apply to the visits' pageviews (event: filters) or to the visits (visit: filters).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

import msgspec

from clycyo.config.store import Site
from clycyo.query import dialect, reports
from clycyo.query.errors import QueryError
from clycyo.store.base import EventStore


class JourneySpec(msgspec.Struct, forbid_unknown_fields=True):
    site: str
    date_range: str | list[str] = "30d"
    steps: int = 3
    limit: int = 20
    start_page: str | None = None
    filters: list[list[Any]] = []


def run_journeys(
    store: EventStore,
    site: Site,
    body: JourneySpec | dict[str, Any] | bytes,
    now: dt.datetime | None = None,
    page_goals: Collection[str] | None = None,
) -> dict[str, Any]:
    """The journeys `body` asks for; with the site's page goals (`page_goals`) an
    `event:goal` filter must name one of them (None: any well-formed one)."""
    spec = reports.decode(body, JourneySpec)
    if not 2 <= spec.steps <= 10:
        raise QueryError("steps", "expected 2 to 10")
    if not 1 <= spec.limit <= 1000:
        raise QueryError("limit", "expected 1 to 1000")
    period = reports.period(spec.date_range, site, now)
    scope = reports.scope(store.dialect, site, period)
    p = scope.params
    d = dialect.of(store.dialect)
    where = [
        f"e.site_id = {scope.site_id}",
        f"e.time >= {scope.start}",
        f"e.time < {scope.end}",
        "e.type = 'pageview'",
        d.in_visit("e.visit_id"),
        *scope.event_filters(reports.check_filters(spec.filters, page_goals=page_goals)),
    ]
    start = "" if spec.start_page is None else f" WHERE path[1] = {p.add(spec.start_page)}"
    # ClickHouse's lagInFrame gives '' (not NULL) before a partition's first row.
    previous = "lagInFrame(toNullable(e.page))" if d.clickhouse else "lag(e.page)"
    path = d.first_values("page", ["time", "event_id"], p.add(spec.steps))
    sql = (
        f"WITH views AS (SELECT e.visit_id, e.time, e.event_id, e.page, {previous} OVER"
        " (PARTITION BY e.visit_id ORDER BY e.time, e.event_id) AS previous FROM events e"
        f" WHERE {' AND '.join(where)}),"
        f" paths AS (SELECT visit_id, {path} AS path FROM views"
        " WHERE previous IS NULL OR previous <> page GROUP BY visit_id)"
        f" SELECT path, count(*) AS visits, count(DISTINCT {d.bits('visit_id')}) FROM paths"
        f"{start} GROUP BY path ORDER BY visits DESC, path LIMIT {p.add(spec.limit)}"
    )
    text, params = p.render(sql)
    journeys = [
        {"pages": list(path), "visits": int(visits), "visitors": int(visitors)}
        for path, visits, visitors in store.execute(text, params)
    ]
    return {"journeys": journeys, "meta": {"site": site.domain, "date_range": period.as_json()}}
