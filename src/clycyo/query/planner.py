"""Which base relation computes each metric of a query, grouped into one statement per base.

Metrics of visits (visitors, visits, pageviews, bounce rate, duration) come from live visit states,
unless the query looks at events (an `event:` dimension or filter): then the countable ones come
from events, and the visit-only ones keep visits but only those with a matching event. Money comes
from the ledger. `conversions` counts persons with an event matching the event filters (or, by
`event:goal`, of the row's goal), or without them, persons who paid; `conversion_rate` divides
those of them who are among the visitors counted without the event filters (`among_visitors`:
in each row, the row's visitors) by those visitors.
A page filter of a query that names events (`rate_pages`) says where the conversion happened and
which visitors it is a share of: the rate's visitors are then those who viewed that page.
A query that looks at pages and names no events counts persons, visits and conversions from
pageviews, `events` from every event (`looks_at_pageviews`): the two kinds are separate
statements, so that no metric's value depends on the others asked with it. Time on page and
scroll depth (`page_visitors`) are a page's own: broken down by its page, its host, time or
nothing, and refused with any other dimension. This module decides;
`builder.py` writes the SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from clycyo.query import registry
from clycyo.query.builder import Plan
from clycyo.query.errors import QueryError
from clycyo.query.registry import EVENTS, LEDGER, PAGE_VISITORS, VISITS, Metric
from clycyo.query.spec import DimensionRef, Filter, Query

VISITORS_WITHOUT_EVENT_FILTERS = "visitors (no event filters)"
CONVERTED_VISITORS = registry.CONVERTED_VISITORS.name
# Events that are not in `actions` (see identity/schema.py); pages are looked at in `pageviews`.
_NOT_ACTIONS = frozenset({"pageview", "engagement", "web_vital"})
_PAGEVIEW_COLUMNS = frozenset({"event:page", "event:hostname", "event:name", "event:origin"})
_PAGES = frozenset({"event:page", "event:hostname"})
# Filters that name events: a page goal's pageviews are its conversions, as a custom event's.
_NAMES = frozenset({"event:name", "event:goal"})
# Counted from pageviews when the query looks at pages (with the visit-only metrics).
_PAGE_METRICS = frozenset({"visitors", "visits", "pageviews", "conversions"})


@dataclass(frozen=True)
class Part:
    """One statement, and where its columns go: metric names (in its order) and which of the
    query's dimensions it is grouped by (by position)."""

    plan: Plan
    metric_names: tuple[str, ...]
    dimension_positions: tuple[int, ...]


def _base(metric: Metric, query: Query, event_context: bool) -> str:
    if metric.name in ("conversions", CONVERTED_VISITORS):
        # A breakdown by goal names events as a filter by goal does: a row's are its goal's.
        by_goal = any(d.name == "event:goal" for d in query.dimensions)
        return EVENTS if query.event_filters or by_goal else LEDGER
    recipes = metric.recipes
    if PAGE_VISITORS in recipes:
        return PAGE_VISITORS
    if LEDGER in recipes:
        return LEDGER
    if event_context and EVENTS in recipes:
        return EVENTS
    if VISITS in recipes:
        return VISITS
    return EVENTS


def _event_refs(query: Query) -> list[DimensionRef]:
    refs = [d for d in query.dimensions if d.dimension.level == "event"]
    return refs + [f.target for f in query.event_filters]


def looks_at_pageviews(query: Query) -> bool:
    """Whether persons, visits and conversions count pageviews only: the query looks at pages
    (an `event:page` or `event:hostname` dimension or filter) and names no events (no
    `event:name` or `event:goal` dimension or filter). A page then means its
    pageviews, whatever else is asked."""
    refs = _event_refs(query)
    return any(r.name in _PAGES for r in refs) and all(r.name not in _NAMES for r in refs)


def events_table(query: Query, pageviews_only: bool) -> str:
    """The narrowest table that holds every event a statement looks at.

    A positive `event:name` filter of names that are all actions reads `actions`. Pageviews
    only (`pageviews_only`, or an `event:name` filter of `pageview`) read `pageviews` when it
    has every event dimension and filter of the query. The choice never changes an answer.
    """
    names: set[str] | None = None
    for f in query.event_filters:
        if f.target.name == "event:name" and f.operator == "is":
            names = set(f.values) if names is None else names & set(f.values)
    if names and not names & _NOT_ACTIONS:
        return "actions"
    in_pageviews = all(ref.name in _PAGEVIEW_COLUMNS for ref in _event_refs(query))
    if in_pageviews and (pageviews_only or names == {"pageview"}):
        return "pageviews"
    return "events"


def _table(base: str, query: Query, pageviews_only: bool) -> str:
    """Where an events plan reads, or a visits plan looks for its visits' matching events; a
    `page_visitors` plan reads `pageviews` (and `engagements` beside it) where those have every
    event field the query looks at."""
    if base == PAGE_VISITORS:
        narrow = all(ref.name in _PAGEVIEW_COLUMNS for ref in _event_refs(query))
        return "pageviews" if narrow else "events"
    if base == EVENTS:
        return events_table(query, pageviews_only)
    if base == VISITS and events_table(query, pageviews_only) == "pageviews":
        return "pageviews"
    return "events"


def rate_pages(query: Query) -> tuple[Filter, ...]:
    """The page filters (`event:page`, `event:hostname`) the conversion rate's visitors keep: those
    of a query that names events, where a page is where the conversion happened, so the rate is a
    share of that page's visitors. Without named events (`looks_at_pageviews`) the pageview is the
    conversion itself, a share of all the visitors."""
    if looks_at_pageviews(query):
        return ()
    return tuple(f for f in query.event_filters if f.target.name in _PAGES)


def plan(query: Query, approximate: bool) -> list[Part]:
    dims = query.dimensions
    event_dims = [d for d in dims if d.dimension.level == "event"]
    event_context = bool(event_dims or query.event_filters)
    pages = looks_at_pageviews(query)
    # (base, pageviews only) → its metrics: one statement each.
    groups: dict[tuple[str, bool], list[Metric]] = {}
    rate = registry.METRICS["conversion_rate"]
    for index, metric in enumerate(query.metrics):
        if metric is rate:
            continue
        base = _base(metric, query, event_context)
        if base == VISITS and event_dims:
            raise QueryError(
                f"metrics[{index}]", f"{metric.name} cannot be broken down by {event_dims[0].name}"
            )
        not_pages = [d for d in dims if d.name not in _PAGES and d.dimension.level != "time"]
        if base == PAGE_VISITORS and not_pages:
            raise QueryError(
                f"metrics[{index}]",
                f"{metric.name} cannot be broken down by {not_pages[0].name}: it is a page's"
                " own (event:page, event:hostname, time:* or none)",
            )
        pageviews_only = pages and (
            base == VISITS or (base == EVENTS and metric.name in _PAGE_METRICS)
        )
        groups.setdefault((base, pageviews_only), []).append(metric)
    every_dimension = tuple(range(len(dims)))
    single = len(groups) == 1 and rate not in query.metrics
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
                table=_table(base, query, pageviews_only),
                pageviews_only=pageviews_only,
            ),
            tuple(m.name for m in metrics),
            every_dimension,
        )
        for (base, pageviews_only), metrics in groups.items()
    ]
    if rate in query.metrics:
        parts.append(_converted_visitors(query, approximate, pages))
        parts.append(_all_visitors(query, approximate))
    return parts


def _converted_visitors(query: Query, approximate: bool, pages: bool) -> Part:
    """The conversion rate's numerator: `conversions`, of persons among its visitors only."""
    converted = registry.CONVERTED_VISITORS
    base = _base(converted, query, True)
    pageviews_only = pages and base == EVENTS
    return Part(
        Plan(
            base,
            (converted,),
            query.dimensions,
            query.filters,
            approximate,
            table=_table(base, query, pageviews_only),
            pageviews_only=pageviews_only,
            among_visitors=True,
            visitor_pages=rate_pages(query),
        ),
        (CONVERTED_VISITORS,),
        tuple(range(len(query.dimensions))),
    )


def _all_visitors(query: Query, approximate: bool) -> Part:
    """Visitors for the conversion rate: the event filters dropped but `rate_pages` (visits with a
    pageview they match), grouped by whatever the query's dimensions are that visits have (an
    event breakdown divides by the total)."""
    positions = tuple(i for i, d in enumerate(query.dimensions) if d.dimension.level != "event")
    kept: tuple[DimensionRef, ...] = tuple(query.dimensions[i] for i in positions)
    pages = rate_pages(query)
    filters = tuple(f for f in query.filters if f.target.dimension.level != "event") + pages
    visitors = registry.METRICS["visitors"]
    return Part(
        Plan(
            VISITS,
            (visitors,),
            kept,
            filters,
            approximate,
            table="pageviews" if pages else "events",
            pageviews_only=bool(pages),
        ),
        (VISITORS_WITHOUT_EVENT_FILTERS,),
        positions,
    )
