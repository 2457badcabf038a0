"""Web vitals: the 75th percentile of each metric (LCP, INP, CLS, FCP, TTFB), site-wide and per
page, as Google's Core Web Vitals report them.

The tracker sends one `web_vital` event per metric and page load (props `metric`, `value`); the
writer keeps a narrow copy of each in `vitals`, which the percentile reads (exact, interpolated)
unless a filter needs other fields of the events, and counts them per hour in 1 % buckets
(`vital_hours`), which answers the site-wide percentile without filters within half a percent.
Filters are the query API's (event: and visit: dimensions).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from clycyo.config.store import Site
from clycyo.identity import keys
from clycyo.identity import narrow as narrow_rows
from clycyo.query import dialect, reports
from clycyo.store.base import EventStore

METRICS = ("LCP", "INP", "CLS", "FCP", "TTFB")


def percentiles(
    store: EventStore,
    site: Site,
    date_range: str | list[str],
    filters: list[list[Any]] | None = None,
    now: dt.datetime | None = None,
    *,
    by_page: bool = True,
) -> dict[tuple[str, str], float]:
    """p75 per ("", metric) for the whole site and, with `by_page`, per (page, metric)."""
    period = reports.period(date_range, site, now)
    checked = reports.check_filters(filters or [])
    if not checked and not by_page:
        return _from_hours(store, site, period)
    scope = reports.scope(store.dialect, site, period)
    # The narrow `vitals` table answers unless a filter needs the events' other fields.
    narrow = all(
        f.target.name == "event:page" or f.target.dimension.level == "visit" for f in checked
    )
    d = dialect.of(store.dialect)
    where = [f"e.site_id = {scope.site_id}", f"e.time >= {scope.start}", f"e.time < {scope.end}"]
    if narrow:
        source = "SELECT e.page, e.metric, e.value FROM vitals e"
    else:
        where.append("e.name = 'web_vital'")
        metric, value = d.prop("e.props", "'metric'"), d.prop("e.props", "'value'")
        source = f"SELECT e.page, {metric} AS metric, {d.prop_number(value)} AS value FROM events e"
    where += scope.event_filters(checked)
    sets = "GROUPING SETS ((metric), (page, metric))" if by_page else "GROUPING SETS ((metric))"
    # A site-wide row has no page: ClickHouse reports '' there unless told to use NULL.
    page = "if(grouping(page) = 1, NULL, page)" if d.clickhouse else "page"
    sql = (
        f"SELECT {page}, metric, {d.quantile('value', 0.75)} FROM ({source}"
        f" WHERE {' AND '.join(where)})"
        # The narrow copy's range (identity/narrow.py): a finite value under 10^12.
        f" WHERE abs(value) < {narrow_rows.MAX_VITAL} AND metric IS NOT NULL GROUP BY {sets}"
    )
    text, params = scope.params.render(sql)
    found: dict[tuple[str, str], float] = {}
    for page, metric, value in store.execute(text, params):
        if metric in METRICS and value is not None:
            found[(page or "", metric)] = _rounded(metric, float(value))
    return found


def _rounded(metric: str, value: float) -> float:
    return round(value, 4 if metric == "CLS" else 0)


def _from_hours(store: EventStore, site: Site, period: Any) -> dict[tuple[str, str], float]:
    """Site-wide p75 from the hourly bucket counts (within half a percent; hours start on the
    hour, so a time zone with a half-hour offset shifts the period's edges by 30 minutes)."""
    rows = store.execute(
        "SELECT metric, bucket, sum(n) FROM vital_hours WHERE site_id = ? AND hour >= ?"
        " AND hour < ? GROUP BY metric, bucket ORDER BY metric, bucket",
        [site.id, period.start, period.end],
    )
    counts: dict[str, list[tuple[int, int]]] = {}
    for metric, bucket, n in rows:
        counts.setdefault(metric, []).append((int(bucket), int(n)))
    found: dict[tuple[str, str], float] = {}
    for metric, buckets in counts.items():
        total = sum(n for _, n in buckets)
        rank = 0.75 * (total - 1)  # where quantile_cont interpolates, between two ranks
        low, high = _value_at(buckets, math.floor(rank)), _value_at(buckets, math.ceil(rank))
        value = low + (rank - math.floor(rank)) * (high - low)
        found[("", metric)] = _rounded(metric, value)
    return found


def _value_at(buckets: list[tuple[int, int]], rank: int) -> float:
    """The value of the `rank`-th smallest measurement (0-based), as its bucket stands for it."""
    seen = 0
    for bucket, n in buckets:
        seen += n
        if seen > rank:
            return keys.bucket_value(bucket)
    return keys.bucket_value(buckets[-1][0])


def p75(
    runtime: Any, site: Site, date_range: str | list[str], filters: list[list[Any]] | None = None
) -> dict[tuple[str, str], float]:
    """`percentiles` for a running server: waits for acknowledged events to be stored first."""
    runtime.writer.catch_up(5.0)
    return percentiles(runtime.store, site, date_range, filters)
