"""Run a checked query: its statements, the merge of their rows, gaps, order, comparison.

`run_query(store, site, spec)` is the entry the HTTP API, the CLI and the dashboard share. Each
statement (one per base relation, see `planner.py`) returns rows keyed by dimension values; rows
merge on those keys, the conversion rate is divided out (converting persons among the visitors
counted without the event filters, over those visitors), empty time buckets are filled with zeros,
rows are ordered and cut to the limit, and with a comparison the compared period's row with the
same dimensions (for time buckets: the same position) is attached; that period is the previous
one, the year before or a range of the spec's own (`spec.Query.comparison`). A count of nothing
is 0; a ratio of nothing (`Metric.ratio`: no visits, no visitors, no orders) is null, and so is
its change.
Distinct persons are counted exactly until a period holds `APPROXIMATE_ABOVE_VISITS` visits, and
approximately above (`meta.approximate`). Money leaves as numbers; amounts in other currencies than
the site's go to `meta.other_currencies`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from clycyo.config.store import Site
from clycyo.query import approximate as sizing
from clycyo.query import registry, spec, timeseries
from clycyo.query.builder import Plan, SiteContext, build
from clycyo.query.dates import Period
from clycyo.query.planner import CONVERTED_VISITORS, VISITORS_WITHOUT_EVENT_FILTERS, Part, plan
from clycyo.query.registry import LEDGER
from clycyo.query.spec import NONE, Query, QuerySpec
from clycyo.store.base import EventStore

APPROXIMATE_ABOVE_VISITS = sizing.APPROXIMATE_ABOVE_VISITS
Key = tuple[Any, ...]


@dataclass
class Result:
    results: list[dict[str, Any]]
    meta: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"results": self.results, "meta": self.meta}


def site_context(site: Site) -> SiteContext:
    return SiteContext(site.id, site.currency or "USD", site.timezone or "UTC")


def should_approximate(store: EventStore, site_id: int, period: Period) -> bool:
    return sizing.visits_in(store, site_id, period) > APPROXIMATE_ABOVE_VISITS


def _empty(metric: str) -> Any:
    """A metric's value where there is nothing to count."""
    found = registry.METRICS.get(metric)
    return None if found is not None and found.ratio else 0


def _plain(value: Any, metric: str) -> Any:
    if value is None:
        return _empty(metric)
    unit = registry.METRICS[metric].unit if metric in registry.METRICS else "count"
    if unit == "money":
        return float(value)
    if unit in ("percent", "number"):
        return float(value)
    if isinstance(value, Decimal | float):
        return int(value) if value == int(value) else float(value)
    return int(value)


def _execute(
    store: EventStore, part: Part, period: Period, ctx: SiteContext
) -> dict[Key, list[Any]]:
    sql, params = build(part.plan, period, ctx, store.dialect)
    width = len(part.plan.dimensions)
    return {tuple(row[:width]): list(row[width:]) for row in store.execute(sql, params)}


def _compute(
    store: EventStore,
    query: Query,
    period: Period,
    ctx: SiteContext,
    approximately: bool,
    *,
    visits: int = 0,
) -> list[tuple[Key, list[Any]]]:
    parts = plan(query, approximately)
    if not approximately:
        return _merge(query, [(part, _execute(store, part, period, ctx)) for part in parts])
    prune = len(parts) == 1 and query.order_by[0][0] in parts[0].metric_names
    for attempt in ("top", "all"):
        sized = [
            sizing.size(
                store, query, period, ctx, part, prune=prune and attempt == "top", visits=visits
            )
            for part in parts
        ]
        rows = _merge(query, [(s.part, _execute(store, s.part, period, ctx)) for s in sized])
        if sizing.complete(query, sized, rows):
            break
    return rows


def _merge(
    query: Query, outputs: list[tuple[Part, dict[Key, list[Any]]]]
) -> list[tuple[Key, list[Any]]]:
    """One row per dimension values, with the metrics of every statement."""
    full = [out for part, out in outputs if len(part.dimension_positions) == len(query.dimensions)]
    keys: dict[Key, None] = {}
    for out in full:
        keys.update(dict.fromkeys(out))
    if not query.dimensions:
        keys = {(): None}
    names = [m.name for m in query.metrics]
    rows = []
    for key in keys:
        values: dict[str, Any] = {}
        for part, out in outputs:
            sub = tuple(key[i] for i in part.dimension_positions)
            found = out.get(sub)
            for position, name in enumerate(part.metric_names):
                values[name] = found[position] if found is not None else None
        if "conversion_rate" in names:
            visitors = values.get(VISITORS_WITHOUT_EVENT_FILTERS) or 0
            conversions = values.get(CONVERTED_VISITORS) or 0
            rate = round(100.0 * conversions / visitors, 2) if visitors else None
            values["conversion_rate"] = rate
        rows.append((key, [_plain(values.get(name), name) for name in names]))
    return rows


def _time_position(query: Query) -> int | None:
    for index, ref in enumerate(query.dimensions):
        if ref.dimension.level == "time":
            return index
    return None


def _fill(
    query: Query, period: Period, rows: list[tuple[Key, list[Any]]]
) -> list[tuple[Key, list[Any]]]:
    position = _time_position(query)
    if position is None or len(query.dimensions) != 1 or not query.fill_time:
        return rows
    unit = query.dimensions[position].dimension.sql
    assert isinstance(unit, str)
    known = {key[0]: values for key, values in rows}
    empty = [_empty(m.name) for m in query.metrics]
    return [((bucket,), known.get(bucket, empty)) for bucket in timeseries.buckets(period, unit)]


def _order(query: Query, rows: list[tuple[Key, list[Any]]]) -> list[tuple[Key, list[Any]]]:
    metric_index = {m.name: i for i, m in enumerate(query.metrics)}
    dimension_index = {d.name: i for i, d in enumerate(query.dimensions)}

    def sortable(value: Any) -> tuple[int, Any]:
        return (1, "") if value is None else (0, value)

    def by_metric(value: Any, descending: bool) -> tuple[int, Any]:
        """Nulls last either way, as the SQL orders them."""
        if value is None:
            return (1, 0)
        return (0, -value if descending else value)

    ordered = sorted(rows, key=lambda r: tuple(sortable(v) for v in r[0]))
    for name, descending in reversed(query.order_by):
        if name in metric_index:
            i = metric_index[name]
            ordered.sort(key=lambda r: by_metric(r[1][i], descending))
        else:
            i = dimension_index[name]
            ordered.sort(key=lambda r: sortable(r[0][i]), reverse=descending)
    return ordered


def _labels(query: Query, key: Key) -> list[Any]:
    timezone = query.period.timezone
    out = []
    for ref, value in zip(query.dimensions, key, strict=True):
        if value is None:
            out.append(NONE)
        elif isinstance(value, dt.datetime):
            unit = ref.dimension.sql
            unit = unit if isinstance(unit, str) else "day"
            out.append(timeseries.label(value, unit, timezone))
        else:
            out.append(value)
    return out


def _change(metric: str, now: Any, before: Any) -> float | None:
    if now is None or before is None:
        return None
    if registry.METRICS[metric].unit == "percent":
        return round(float(now) - float(before), 2)
    if not before:
        return None
    return round(100.0 * (float(now) - float(before)) / float(before), 1)


def _other_currencies(
    store: EventStore, query: Query, period: Period, ctx: SiteContext
) -> dict[str, Any]:
    metrics = (
        registry.AMOUNT_ANY_CURRENCY,
        registry.METRICS["orders"],
        registry.METRICS["refunds"],
    )
    currency = spec.DimensionRef(registry.DIMENSIONS["event:currency"], None, "event:currency")
    part = Part(
        Plan(LEDGER, metrics, (currency,), query.filters), ("amount", "orders", "refunds"), (0,)
    )
    found = {}
    for (code,), (amount, orders, refunds) in _execute(store, part, period, ctx).items():
        if code is not None and code != ctx.currency:
            found[code] = {
                "revenue": float(amount or 0),
                "orders": int(orders or 0),
                "refunds": int(refunds or 0),
            }
    return found


def run_checked(
    store: EventStore, site: Site, query: Query, approximate: bool | None = None
) -> Result:
    """Run a checked query; `approximate` forces the distinct counting (None: by size)."""
    ctx = site_context(site)
    period = query.period
    visits = sizing.visits_in(store, site.id, period)
    if approximate is None:
        approximate = visits > APPROXIMATE_ABOVE_VISITS
    computed = _compute(store, query, period, ctx, approximate, visits=visits)
    rows = _order(query, _fill(query, period, computed))
    if _time_position(query) is None or len(query.dimensions) > 1:
        rows = rows[: query.limit]
    results = [{"dimensions": _labels(query, key), "metrics": values} for key, values in rows]
    meta: dict[str, Any] = {
        "site": site.domain,
        "date_range": period.as_json(),
        "timezone": ctx.timezone,
        "currency": ctx.currency,
        "approximate": approximate,
    }
    if query.comparison is not None:
        _compare(
            store,
            query,
            query.comparison,
            ctx,
            approximate=approximate,
            visits=visits,
            rows=rows,
            results=results,
            meta=meta,
        )
    if registry.METRICS["revenue"] in query.metrics:
        meta["other_currencies"] = _other_currencies(store, query, period, ctx)
    return Result(results, meta)


def _compare(
    store: EventStore,
    query: Query,
    compared: Period,
    ctx: SiteContext,
    *,
    approximate: bool,
    visits: int,
    rows: list[tuple[Key, list[Any]]],
    results: list[dict[str, Any]],
    meta: dict[str, Any],
) -> None:
    """Attach to each row its values in the `compared` period: those of the row of the same
    dimensions, a time bucket standing for the bucket at the same position (the first day with
    the first day, whatever the dates: a year before or a range of another length), with other
    dimensions beside it or without."""
    meta["comparison_date_range"] = compared.as_json()
    before = _fill(
        query, compared, _compute(store, query, compared, ctx, approximate, visits=visits)
    )
    by_key = {key: values for key, values in before}
    position = _time_position(query)
    mine: dict[Any, int] = {}
    theirs: list[Any] = []
    if position is not None:
        unit = query.dimensions[position].dimension.sql
        assert isinstance(unit, str)
        mine = {b: i for i, b in enumerate(timeseries.buckets(query.period, unit))}
        theirs = list(timeseries.buckets(compared, unit))
    names = [m.name for m in query.metrics]
    for (key, values), result in zip(rows, results, strict=True):
        wanted: Key | None = key
        if position is not None:
            index = mine.get(key[position])
            wanted = (
                (*key[:position], theirs[index], *key[position + 1 :])
                if index is not None and index < len(theirs)
                else None
            )
        if wanted is not None and wanted in by_key:
            old_key, old_values = wanted, by_key[wanted]
        else:
            old_key, old_values = wanted or key, [_empty(n) for n in names]
        result["comparison"] = {
            "dimensions": _labels(query, old_key),
            "metrics": old_values,
            "change": [_change(n, a, b) for n, a, b in zip(names, values, old_values, strict=True)],
        }


def run_query(
    store: EventStore,
    site: Site,
    body: QuerySpec | dict[str, Any] | bytes,
    now: dt.datetime | None = None,
    page_goals: Collection[str] = (),
) -> Result:
    """Validate `body` (a spec, or its JSON) for `site`, whose page goals' patterns are
    `page_goals`, and run it."""
    decoded = body if isinstance(body, QuerySpec) else spec.decode(body)
    timezone = site.timezone or "UTC"
    checked = spec.check(decoded, timezone=timezone, now=now, page_goals=page_goals)
    return run_checked(store, site, checked)
