"""The dashboard's one door to the query layer: a query body in, result rows out.

Views build exactly the body a client would `POST /api/v1/query` (CONTRACT §5) or send to the
report endpoints, and hand it to the same functions those endpoints call (`query/api.py`), so a
panel and the API cannot disagree: same body, same code, same numbers. The body is also put into
each view's `.json` twin, so anyone can re-run a panel's query. Refusals of the query layer
become `QueryFailed`. This module builds no SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from clycyo.config.funnels import Step
from clycyo.config.store import Site
from clycyo.identity.listing import Listing
from clycyo.identity.listing import Page as PersonPage
from clycyo.query import api, props, vitals
from clycyo.query import why as why_query
from clycyo.query.errors import QueryError
from clycyo.runtime import Runtime
from clycyo.web.dashboard.params import GOAL_DIMENSIONS, ViewState

T = TypeVar("T")
NONE_LABEL = "(none)"
TOUCHES = ("first_touch:", "last_touch:")  # filters on a person's acquisition, not on events


@dataclass(frozen=True)
class Row:
    dimensions: list[Any]
    metrics: list[Any]
    comparison: dict[str, Any] | None = None  # with `include.comparison`: previous metrics, change


class QueryFailed(Exception):
    """The query layer refused a body (the message says why) or is not available."""


def _asking(work: Callable[[], T]) -> T:
    try:
        return work()
    except QueryError as exc:
        raise QueryFailed(str(exc)) from exc


@dataclass(frozen=True)
class Answer:
    rows: list[Row]
    # Money in currencies other than the site's, which `revenue` leaves out: currency → net amount.
    other_currencies: dict[str, float]


def run_answer(runtime: Runtime, site: Site, body: dict[str, Any]) -> Answer:
    """Run one query body for `site` (its `site` field is set here): its rows, and the money it
    left out for being in another currency (when it asks for revenue)."""
    result = _asking(lambda: api.run(runtime, {**body, "site": site.domain}))
    rows = [
        Row(list(r["dimensions"]), list(r["metrics"]), r.get("comparison"))
        for r in result["results"]
    ]
    others = result["meta"].get("other_currencies") or {}
    return Answer(rows, {code: found["revenue"] for code, found in sorted(others.items())})


def run_query(runtime: Runtime, site: Site, body: dict[str, Any]) -> list[Row]:
    """Run one query body for `site` (its `site` field is set here) and return its rows."""
    return run_answer(runtime, site, body).rows


def goal_carries_money(runtime: Runtime, site: Site, state: ViewState) -> bool:
    """Whether the goal the view chose ever had an event with money (`api.goal_carries_money`)."""
    goal = [f.as_query() for f in state.filters if f.dimension in GOAL_DIMENSIONS]
    return _asking(lambda: api.goal_carries_money(runtime, site, goal))


def vital_percentiles(
    runtime: Runtime, site: Site, state: ViewState
) -> dict[tuple[str, str], float]:
    """Web vitals' p75 per (page, metric), and per ("", metric) for the whole site, under the
    view's period and filters (`query/vitals.py`, which takes fewer filters than a query body)."""
    date_range, filters = state.period.date_range(), state.query_filters()
    return _asking(lambda: vitals.p75(runtime, site, date_range, filters))


def funnel_body(steps: Sequence[Step], state: ViewState, window: str) -> dict[str, Any]:
    """A saved funnel as the query layer's funnel spec (without `site`)."""
    return {
        "steps": [
            {
                ("page" if s.kind == "pageview" else "name"): s.match,
                "filters": [[op, d, [v]] for op, d, v in s.filters],
                "label": s.label,
            }
            for s in steps
        ],
        "date_range": state.period.date_range(),
        "filters": state.query_filters(),
        "window": window,
    }


def funnel(runtime: Runtime, site: Site, body: dict[str, Any]) -> list[dict[str, Any]]:
    """Per step: persons reaching it, conversion from the first and the previous step, drop-off."""
    found = _asking(lambda: api.funnel(runtime, site, {**body, "site": site.domain}))
    return list(found["steps"])


def funnel_persons(
    runtime: Runtime, site: Site, body: dict[str, Any], *, step: int, dropped: bool, limit: int
) -> list[dict[str, Any]]:
    """Persons who reached step `step` (1-based), or reached it and went no further."""
    full = {**body, "site": site.domain}
    return _asking(
        lambda: api.funnel_persons(runtime, site, full, step=step, dropped=dropped, limit=limit)
    )


def list_persons(runtime: Runtime, site: Site, wanted: Listing) -> PersonPage:
    """A page of the site's persons, as `GET /api/v1/persons` lists them."""
    return _asking(lambda: api.list_persons(runtime, site, wanted))


def timeline(runtime: Runtime, site: Site, person_id: str) -> dict[str, Any] | None:
    """A person's timeline as `GET /api/v1/persons/{id}/timeline` answers it, or None."""
    return _asking(lambda: api.timeline(runtime, site, person_id))


def person_history(runtime: Runtime, site: Site, person_id: str) -> dict[str, Any]:
    """What all of a person's events add up to (counts, visits, first and last touch)."""
    found = _asking(lambda: api.person_history(runtime, site, person_id))
    if found is None:
        raise QueryFailed(f"no person {person_id!r}")
    return found


def person_revenue(runtime: Runtime, site: Site, person_id: str) -> dict[str, Decimal]:
    """A person's net revenue per currency, each payment once (as the `revenue` metric)."""
    return _asking(lambda: api.person_revenue(runtime, site, person_id)) or {}


def realtime(runtime: Runtime, site: Site) -> dict[str, Any]:
    """Visitors of the last five minutes, with their current pages and sources."""
    found = _asking(lambda: api.now_on_site(runtime, site))
    for row in found["pages"]:
        row["label"] = row["page"] or NONE_LABEL
    for row in found["sources"]:
        row["label"] = row["source"]
    return found


def prop_keys(runtime: Runtime, site: Site, name: str, state: ViewState) -> list[str]:
    """The property keys events named `name` carry in the view's period, most frequent first.
    A first- or last-touch filter, which the listing of keys cannot take, is left out of it:
    the keys may be more than the filtered events carry, and each one's rows are counted under
    every filter."""
    runtime.writer.catch_up(api.WAIT_LOADED_S)
    filters = [f for f in state.query_filters() if not str(f[1]).startswith(TOUCHES)]
    return _asking(
        lambda: props.prop_keys(
            runtime.store,
            site,
            name=name,
            date_range=state.period.date_range(),
            filters=filters,
        )
    )


def why(
    runtime: Runtime, site: Site, steps: Sequence[Step], state: ViewState
) -> why_query.WhyCounts:
    """Friction counts of the attempts at `steps[-2]` that paid (`steps[-1]`) or not, with the
    payments that paid them (for the average paid order), under the view's filters."""
    attempt, payment = steps[-2], steps[-1]
    filters = state.query_filters() + [[op, d, [v]] for op, d, v in attempt.filters]
    # Like `query/api.py`'s reports: first everything acknowledged so far into the store.
    runtime.writer.catch_up(api.WAIT_LOADED_S)
    return _asking(
        lambda: why_query.count_why(
            runtime.store,
            site,
            date_range=state.period.date_range(),
            filters=filters,
            attempt=why_query.Attempt(attempt.kind, attempt.match),
            payment_event=payment.match,
        )
    )
