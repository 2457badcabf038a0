"""The query layer for a running server: the same functions the HTTP API, the CLI and the
dashboard call, given a `Runtime`.

Each first waits until every event acknowledged before the call is in the store (so a client
that sent events and then asks sees them), then runs the report. They block: call them off the
event loop (`asyncio.to_thread`). Invalid input raises `QueryError` (a `ValueError`) naming the
field, `UnknownSite` for a site there is none of; whether the caller may read a site is its own
business. No SQL and no HTTP here: the reports build their statements, the web layer answers
requests.
"""

from __future__ import annotations

from concurrent.futures import Future
from decimal import Decimal
from typing import Any

import msgspec

from clycyo.config.goals import PageGoalStore
from clycyo.config.segments import SegmentStore
from clycyo.config.store import Site
from clycyo.identity import listing
from clycyo.identity.erase import Erasure, erase
from clycyo.identity.timeline import history as person_events_history
from clycyo.identity.timeline import timeline as person_timeline
from clycyo.query import (
    funnels,
    goals,
    journeys,
    realtime,
    retention,
    runner,
    segment_filters,
    spec,
)
from clycyo.query.errors import QueryError, UnknownSite
from clycyo.revenue.goals import carries_money
from clycyo.revenue.person import net_by_currency

WAIT_LOADED_S = 5.0


def _ready(runtime: Any) -> None:
    runtime.writer.catch_up(WAIT_LOADED_S)


def site_for(runtime: Any, domain: str) -> Site:
    site = runtime.directory.by_domain(domain.strip().lower().removeprefix("www."))
    if site is None:
        raise UnknownSite(domain)
    return site  # type: ignore[no-any-return]


def run(runtime: Any, body: dict[str, Any] | bytes) -> dict[str, Any]:
    """`POST /api/v1/query` as a function: a query body in, `{"results", "meta"}` out."""
    decoded = spec.decode(body)
    site = site_for(runtime, decoded.site)
    page_goals = PageGoalStore(runtime.config).patterns(site.id)
    decoded = _with_segments(runtime, site, decoded, page_goals)
    _ready(runtime)
    return runner.run_query(runtime.store, site, decoded, page_goals=page_goals).as_json()


def _with_segments(
    runtime: Any, site: Site, decoded: spec.QuerySpec, page_goals: frozenset[str]
) -> spec.QuerySpec:
    """The spec with its `segment` filters replaced by the site's segments' filters."""

    def find(segment_id: int) -> list[list[Any]] | None:
        found = SegmentStore(runtime.config).find(site.id, segment_id)
        return None if found is None else found.query_filters()

    filters = segment_filters.expand(decoded.filters, find, page_goals)
    return msgspec.structs.replace(decoded, filters=filters)


def goal_carries_money(runtime: Any, site: Site, goal: list[list[Any]]) -> bool:
    """Whether the goal the `event:name` and `event:goal` filters `goal` choose ever had an
    event with money (`revenue/goals.py`)."""
    page_goals = PageGoalStore(runtime.config).patterns(site.id)
    checked = tuple(
        spec.check_filter(raw, f"filters[{i}]", page_goals) for i, raw in enumerate(goal)
    )
    for index, found in enumerate(checked):
        if found.target.name not in ("event:name", goals.GOAL):
            raise QueryError(f"filters[{index}][1]", "a goal is chosen by event:name or event:goal")
    _ready(runtime)
    return carries_money(runtime.store, site.id, checked)


def funnel(runtime: Any, site: Site, body: dict[str, Any] | bytes) -> dict[str, Any]:
    page_goals = PageGoalStore(runtime.config).patterns(site.id)
    _ready(runtime)
    return funnels.run_funnel(runtime.store, site, body, page_goals=page_goals)


def funnel_persons(
    runtime: Any, site: Site, body: dict[str, Any], *, step: int, dropped: bool, limit: int
) -> list[dict[str, Any]]:
    page_goals = PageGoalStore(runtime.config).patterns(site.id)
    _ready(runtime)
    return funnels.funnel_persons(
        runtime.store, site, body, step=step, dropped=dropped, limit=limit, page_goals=page_goals
    )


def cohorts(runtime: Any, site: Site, body: dict[str, Any] | bytes) -> dict[str, Any]:
    _ready(runtime)
    return retention.run_retention(runtime.store, site, body)


def paths(runtime: Any, site: Site, body: dict[str, Any] | bytes) -> dict[str, Any]:
    page_goals = PageGoalStore(runtime.config).patterns(site.id)
    _ready(runtime)
    return journeys.run_journeys(runtime.store, site, body, page_goals=page_goals)


def now_on_site(runtime: Any, site: Site) -> dict[str, Any]:
    _ready(runtime)
    return realtime.run_realtime(runtime.store, site)


def timeline(runtime: Any, site: Site, person_id: str, limit: int = 1000) -> dict[str, Any] | None:
    _ready(runtime)
    return person_timeline(runtime.store, site.id, person_id, limit)


def person_history(runtime: Any, site: Site, person_id: str) -> dict[str, Any] | None:
    """What all of a person's events add up to, however many the timeline shows, or None."""
    _ready(runtime)
    return person_events_history(runtime.store, site.id, person_id)


def person_revenue(runtime: Any, site: Site, person_id: str) -> dict[str, Decimal] | None:
    """A person's net revenue per currency (the ledger's, as `revenue` counts it), or None."""
    _ready(runtime)
    return net_by_currency(runtime.store, site.id, person_id)


def list_persons(runtime: Any, site: Site, wanted: listing.Listing) -> listing.Page:
    """A page of the site's persons (`identity/listing.py`), net revenue in its currency."""
    _ready(runtime)
    return listing.list_persons(runtime.store, site.id, site.currency, wanted)


def erase_person(runtime: Any, site: Site, person_id: str) -> Future[Erasure | None]:
    """Erase a person on the writer thread; the future resolves once it is done everywhere."""
    _ready(runtime)

    def job() -> Erasure | None:
        runtime.writer.flush_collector_logs()
        gone: list[tuple[int, str, str]] = []
        erasure = erase(
            runtime.store,
            runtime.intake,
            runtime.quarantine,
            deriver=runtime.deriver,
            site_id=site.id,
            person_id=person_id,
            forget_order=lambda site_id, name, order_id: gone.append((site_id, name, order_id)),
            forget_links=runtime.stripe_links.forget_person,
        )
        runtime.forget_orders(gone)
        return erasure

    future: Future[Erasure | None] = runtime.writer.submit(job)
    return future
