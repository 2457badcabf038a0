"""The narrow copies of a batch's events: `pageviews`, `engagements`, `vitals`, `vital_hours`
and `actions`.

Built once the events have their visit ids, in one pass over them in time order: each kind of
event adds a row tuple to its table, and each table is converted to Arrow in one call
(`columns.rows_table`). `actions` has every column of `events`, so only the indexes of the
events it takes are returned; the writer copies those rows from the events' Arrow table. The
work per event is a few comparisons for the events a table does not take. `vital_hours` counts
the batch's vitals per site, hour, metric and 1 % bucket, in the order the counts first appear.
`engagements` holds each engagement report's props as numbers, by the rules `report_values`
states (a store that had reports before the table is filled by the same rules, `backfill.py`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from clycyo.identity import keys
from clycyo.identity.schema import (
    ENGAGEMENT_SCHEMA,
    PAGEVIEW_SCHEMA,
    VITAL_HOUR_SCHEMA,
    VITAL_SCHEMA,
)
from clycyo.model import Event
from clycyo.prop_numbers import prop_number
from clycyo.store.columns import rows_table

VITAL_METRICS = frozenset({"LCP", "INP", "CLS", "FCP", "TTFB"})
_NOT_ACTIONS = frozenset({"engagement", "web_vital"})
_HOUR_US = 3600 * 1_000_000
# An engagement report counts for a day at most, as in a visit's engaged time (identity/visit.py).
MAX_ENGAGED_MS = 24 * 3600 * 1000.0
# A web vital's value is kept below this in absolute value (an infinite one never is).
MAX_VITAL = 1e12


def is_action(event: Event) -> bool:
    """Events copied to `actions`: all but pageviews, engagement reports and web vitals (money
    always is one)."""
    if event.revenue_amount is not None:
        return True
    return event.type != "pageview" and event.name not in _NOT_ACTIONS


class PageKeys:
    """`keys.page_key` of recent pages: a site has few pages and each pageview needs its key."""

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self._keys: dict[str, int] = {}

    def __call__(self, page: str) -> int:
        key = self._keys.get(page)
        if key is None:
            if len(self._keys) > self.limit:
                self._keys.clear()
            key = self._keys[page] = keys.page_key(page)
        return key


def narrow_tables(
    events: list[Event], order: list[int], visit_ids: list[int | None], page_key: PageKeys
) -> tuple[dict[str, pa.Table], list[int]]:
    """The `vitals`, `vital_hours`, `pageviews` and `engagements` rows for `events` placed in
    visits (`order`: their indexes in time order), and the indexes of the events `actions`
    copies."""
    pageviews: list[tuple[Any, ...]] = []
    engagements: list[tuple[Any, ...]] = []
    vitals: list[tuple[Any, ...]] = []
    actions: list[int] = []
    for index in order:
        event = events[index]
        kind, name = event.type, event.name
        if kind == "pageview":
            pageviews.append(_page_row(event, visit_ids[index], page_key))
        elif name not in _NOT_ACTIONS:
            actions.append(index)
            continue
        if name == "engagement":
            row = _page_row(event, visit_ids[index], page_key)
            engagements.append((*row, *report_values(event.props)))
        if name == "web_vital" and event.props:
            vital = _vital(event, visit_ids[index])
            if vital is not None:
                vitals.append(vital)
        if event.revenue_amount is not None:
            actions.append(index)
    tables = {
        "vitals": rows_table(vitals, VITAL_SCHEMA),
        "vital_hours": vital_hours(vitals),
        "pageviews": rows_table(pageviews, PAGEVIEW_SCHEMA),
        "engagements": rows_table(engagements, ENGAGEMENT_SCHEMA),
    }
    return tables, actions


def _page_row(event: Event, visit_id: int | None, page_key: PageKeys) -> tuple[Any, ...]:
    """The columns `pageviews` and `engagements` share, of a pageview or engagement report."""
    page = event.page
    return (
        event.site_id,
        event.time_us,
        visit_id,
        page_key(page or ""),
        page,
        event.hostname,
        event.type,
        event.name,
        event.origin,
    )


def report_values(props: Mapping[str, Any] | None) -> tuple[float | None, float | None]:
    """An engagement report's scroll depth and engaged time (ms), each None when it is no
    report: text that is no number (`prop_numbers`), a depth outside 0 to 100, a negative or
    infinite time. A time counts for a day at most."""
    if not props:
        return None, None
    depth = prop_number(props.get("scroll_depth"))
    engaged_ms = prop_number(props.get("engaged_ms"))
    if depth is not None and not 0 <= depth <= 100:
        depth = None
    if engaged_ms is not None:
        engaged_ms = min(engaged_ms, MAX_ENGAGED_MS) if 0 <= engaged_ms <= 1e308 else None
    return depth, engaged_ms


def _vital(event: Event, visit_id: int | None) -> tuple[Any, ...] | None:
    """A `vitals` row, or None for a metric not measured or a value that is no number
    (`prop_numbers`) or not under MAX_VITAL."""
    props = event.props or {}
    metric = props.get("metric")
    if metric not in VITAL_METRICS:
        return None
    value = prop_number(props.get("value"))
    if value is None or not abs(value) < MAX_VITAL:
        return None
    return (event.site_id, event.time_us, visit_id, event.page, metric, value)


def vital_hours(vitals: list[tuple[Any, ...]]) -> pa.Table:
    """The `vital_hours` rows that count `vitals` (rows in `vitals`' column order); retention
    recounts the hours it trims with this too."""
    return rows_table(_per_hour(vitals), VITAL_HOUR_SCHEMA)


def _per_hour(vitals: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """`vital_hours` rows: the vitals counted per (site, hour, metric, bucket)."""
    if not vitals:
        return []
    sites, times, _, _, metrics, values = zip(*vitals, strict=True)
    hours = [t - t % _HOUR_US for t in times]
    counts = Counter(zip(sites, hours, metrics, keys.vital_buckets(values), strict=True))
    return [(*key, n) for key, n in counts.items()]
