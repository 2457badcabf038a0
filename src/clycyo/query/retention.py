"""Retention: weekly cohorts of persons by their first visit, and who came back week by week.

A person's cohort is the week (site time zone, Monday first) of their first visit ever, across
all their devices; the period picks the cohorts reported. A person counts in week n of their
cohort when they have a visit that week. Counting is exact. Filters on visits narrow the visits
looked at (for instance, only visits from a channel).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from clycyo.config.store import Site
from clycyo.query import dates, dialect, reports, timeseries
from clycyo.query.conditions import condition
from clycyo.query.errors import QueryError
from clycyo.store.base import EventStore

MAX_WEEKS = 26


class RetentionSpec(msgspec.Struct, forbid_unknown_fields=True):
    site: str
    date_range: str | list[str] = "56d"
    weeks: int = 8
    filters: list[list[Any]] = []


def run_retention(
    store: EventStore,
    site: Site,
    body: RetentionSpec | dict[str, Any] | bytes,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    spec = reports.decode(body, RetentionSpec)
    if not 1 <= spec.weeks <= MAX_WEEKS:
        raise QueryError("weeks", f"expected 1 to {MAX_WEEKS}")
    period = reports.period(spec.date_range, site, now)
    scope = reports.scope(store.dialect, site, period)
    p = scope.params
    conditions = []
    for f in reports.check_filters(spec.filters):
        if f.target.dimension.level != "visit":
            raise QueryError(
                "filters", f"retention is filtered by visit: dimensions, not {f.target.name}"
            )
        conditions.append(condition(f"v.{f.target.dimension.sql}", f, p, store.dialect))
    d = dialect.of(store.dialect)
    tz = site.timezone or "UTC"
    local = "v.started_at" if tz == "UTC" else d.local("v.started_at", p.add(tz))
    extra = "".join(f" AND {c}" for c in conditions)
    # Weeks are compared as naive wall times (ClickHouse: in UTC), the way the bounds are given.
    week = d.week(local)
    if d.clickhouse:
        week = f"toDateTime64(toString({week}), 6, 'UTC')"
    n = d.weeks_between("c.cohort", "w.week")
    sql = (
        f"WITH weekly AS (SELECT DISTINCT v.person_bits AS person, {week} AS week"
        f" FROM visits v WHERE v.site_id = {scope.site_id} AND {scope.live}{extra}),"
        " cohorts AS (SELECT person, min(week) AS cohort FROM weekly GROUP BY person)"
        f" SELECT c.cohort, {n} AS n, count(*) FROM cohorts c JOIN weekly w USING (person)"
        f" WHERE c.cohort >= {d.week(p.add(_local_start(period.start, tz)))}"
        f" AND c.cohort < {p.add(_local_start(period.end, tz))}"
        f" AND {n} < {p.add(spec.weeks)} GROUP BY 1, 2 ORDER BY 1, 2"
    )
    text, params = p.render(sql)
    table: dict[dt.datetime, list[int]] = {}
    for cohort, offset, count in store.execute(text, params):
        table.setdefault(cohort, [0] * spec.weeks)[int(offset)] = int(count)
    cohorts = []
    for cohort in timeseries.buckets(period, "week"):
        counts = table.get(cohort, [0] * spec.weeks)
        size = counts[0]
        cohorts.append(
            {
                "cohort": cohort.date().isoformat(),
                "visitors": size,
                "weeks": counts,
                "rates": [round(100.0 * n / size, 2) if size else 0.0 for n in counts],
            }
        )
    return {"cohorts": cohorts, "meta": {"site": site.domain, "date_range": period.as_json()}}


def _local_start(value: dt.datetime, timezone: str) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC).astimezone(dates.zone(timezone)).replace(tzinfo=None)
