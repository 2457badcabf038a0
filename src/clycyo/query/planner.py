"""Which base relation computes each metric of a query, grouped into one statement per base.

Metrics of visits (visitors, visits, pageviews, bounce rate, duration) come from live visit
states, unless the query looks at events (an `event:` dimension or filter): then the countable
ones come from events, and the visit-only ones keep visits but only those with a matching event.
Money comes from the ledger. `conversions` counts persons with an event matching the event
filters, or without them, persons who paid; `conversion_rate` divides it by the visitors counted
without the event filters. This module decides; `builder.py` writes the SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from clycyo.query import registry
from clycyo.query.builder import Plan
from clycyo.query.errors import QueryError
from clycyo.query.registry import EVENTS, LEDGER, VISITS, Metric
from clycyo.query.spec import DimensionRef, Query

VISITORS_WITHOUT_EVENT_FILTERS = "visitors (no event filters)"
# Events that are not in `actions` (see identity/schema.py); pages are looked at in `pageviews`.
_NOT_ACTIONS = frozenset({"pageview", "engagement", "web_vital"})
_PAGE_DIMENSIONS = frozenset({"event:page", "event:hostname", "event:name", "event:origin"})
_PAGE_METRICS = frozenset({"visitors", "visits", "pageviews", "conversions"})


@dataclass(frozen=True)
class Part:
    """One statement, and where its columns go: metric names (in its order) and which of the
    query's dimensions it is grouped by (by position)."""

    plan: Plan
    metric_names: tuple[str, ...]
    dimension_positions: tuple[int, ...]


def _base(metric: Metric, query: Query, event_context: bool) -> str:
    if metric.name == "conversions":
        return EVENTS if query.event_filters else LEDGER
    recipes = metric.recipes
    if LEDGER in recipes:
        return LEDGER
    if event_context and EVENTS in recipes:
        return EVENTS
    if VISITS in recipes:
        return VISITS
    return EVENTS


def events_table(query: Query, metrics: list[Metric]) -> str:
    """The narrowest table that holds every event the query looks at.

    A positive `event:name` filter of names that are all actions reads `actions`. A query that
    looks at pages only (`event:page`, `event:hostname`) and counts visitors, visits or
    pageviews reads `pageviews`: without an `event:name` filter, a page means its pageviews.
    """
    names: set[str] | None = None
    for f in query.event_filters:
        if f.target.name == "event:name" and f.operator == "is":
            names = set(f.values) if names is None else names & set(f.values)
    if names and not names & _NOT_ACTIONS:
        return "actions"
    refs = [d for d in query.dimensions if d.dimension.level == "event"]
    refs += [f.target for f in query.event_filters]
    pages_only = all(ref.name in _PAGE_DIMENSIONS for ref in refs)
    if names is None and any(r.name == "event:name" for r in refs):
        return "events"  # an event:name dimension or a negative filter: every kind of event
    counts_pages = all(m.name in _PAGE_METRICS for m in metrics) or names == {"pageview"}
    if pages_only and (names is None or names == {"pageview"}) and counts_pages:
        return "pageviews"
    return "events"


def plan(query: Query, approximate: bool) -> list[Part]:
    dims = query.dimensions
    event_dims = [d for d in dims if d.dimension.level == "event"]
    event_context = bool(event_dims or query.event_filters)
    by_base: dict[str, list[Metric]] = {}
    wanted = list(query.metrics)
    rate = registry.METRICS["conversion_rate"]
    if rate in wanted and registry.METRICS["conversions"] not in wanted:
        wanted.append(registry.METRICS["conversions"])
    for index, metric in enumerate(wanted):
        if metric is rate:
            continue
        base = _base(metric, query, event_context)
        if base == VISITS and event_dims:
            raise QueryError(
                f"metrics[{index}]", f"{metric.name} cannot be broken down by {event_dims[0].name}"
            )
        by_base.setdefault(base, []).append(metric)
    every_dimension = tuple(range(len(dims)))
    single = len(by_base) == 1 and rate not in query.metrics
    only_time = bool(dims) and all(d.dimension.level == "time" for d in dims)
    parts = [
        Part(
            Plan(
                base,
                tuple(metrics),
                dims,
                query.filters,
                approximate,
                query.order_by if single and not only_time else (),
                query.limit if single and not only_time else None,
                table=events_table(query, metrics) if base == EVENTS else "events",
            ),
            tuple(m.name for m in metrics),
            every_dimension,
        )
        for base, metrics in by_base.items()
    ]
    if rate in query.metrics:
        parts.append(_all_visitors(query, approximate))
    return parts


def _all_visitors(query: Query, approximate: bool) -> Part:
    """Visitors for the conversion rate: the event filters dropped, grouped by whatever the
    query's dimensions are that visits have (an event breakdown divides by the total)."""
    positions = tuple(i for i, d in enumerate(query.dimensions) if d.dimension.level != "event")
    kept: tuple[DimensionRef, ...] = tuple(query.dimensions[i] for i in positions)
    filters = tuple(f for f in query.filters if f.target.dimension.level != "event")
    visitors = registry.METRICS["visitors"]
    return Part(
        Plan(VISITS, (visitors,), kept, filters, approximate),
        (VISITORS_WITHOUT_EVENT_FILTERS,),
        positions,
    )
