"""A metric's value never depends on the other metrics asked with it: each, in any company,
equals its value asked alone, whatever the narrow table the planner picks (on both engines)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from clycyo.query import registry
from tests.small_world import SmallWorld

VISIT_ONLY = ("bounce_rate", "visit_duration", "views_per_visit")
PAGE_OWN = ("time_on_page", "scroll_depth")  # refused by other dimensions than a page's
# Queries that look at pages, at an event kind, or at both, by filter and by dimension.
CONTEXTS: list[dict[str, Any]] = [
    {"filters": [["is_not", "event:page", ["/x"]]]},
    {"filters": [["is", "event:page", ["/", "/x"]]]},
    {"filters": [["contains", "event:hostname", ["shop"]]], "dimensions": ["visit:source"]},
    {"dimensions": ["event:page"]},
    {"dimensions": ["event:page"], "filters": [["is", "event:props:plan", ["(none)"]]]},
    {"dimensions": ["event:name"], "filters": [["is_not", "event:page", ["/x"]]]},
    {"filters": [["is", "event:origin", ["server"]]]},
    {"filters": [["is", "event:name", ["pageview"]]], "dimensions": ["event:page"]},
]


def _world(world: SmallWorld) -> None:
    world.send(
        world.pageview("v1", 60, "/", referrer="https://www.google.com/"),
        world.browser("v1", 61, "signup", "/", props={"plan": "pro"}),
        world.pageview("v1", 62, "/x"),
        world.pageview("v2", 90, "/x"),
        world.browser("v2", 91, "click", "/x"),
        world.identify("v2", "ann", 92),
        world.pageview("v3", 120, "/pricing"),
        world.server(70, "srv", user_id="ru"),
        world.payment(95, "20.00", "o1", user_id="ann"),
        world.payment(96, "7.00", "o2", user_id="ru"),
    )


def _values(world: SmallWorld, context: dict[str, Any], metrics: list[str]) -> dict[str, Any]:
    """Each metric's non-empty values by row (a row another metric brought in is left out)."""
    answer = world.query(metrics=metrics, **context)
    found: dict[str, dict[tuple[Any, ...], Any]] = {m: {} for m in metrics}
    for row in answer["results"]:
        for name, value in zip(metrics, row["metrics"], strict=True):
            if value not in (0, None):
                found[name][tuple(row["dimensions"])] = value
    return found


@pytest.mark.parametrize("context", CONTEXTS, ids=lambda c: repr(c)[:60])
def test_each_metric_is_the_same_in_any_company(world: SmallWorld, context: dict[str, Any]) -> None:
    _world(world)
    by_event = any(d.startswith("event:") for d in context.get("dimensions", []))
    by_other = any(d not in ("event:page", "event:hostname") for d in context.get("dimensions", []))
    metrics = [
        m
        for m in registry.METRICS
        if not (by_event and m in VISIT_ONLY) and not (by_other and m in PAGE_OWN)
    ]
    alone = {m: _values(world, context, [m])[m] for m in metrics}
    assert any(alone.values())
    rng = random.Random(repr(context))
    companies = [metrics, metrics[::-1]]
    companies += [rng.sample(metrics, rng.randint(2, 4)) for _ in range(6)]
    for company in companies:
        together = _values(world, context, company)
        for name in company:
            assert together[name] == alone[name], (name, company)


def test_pages_count_pageviews_and_events_count_every_event(world: SmallWorld) -> None:
    _world(world)
    page_filter = [["is_not", "event:page", ["/x"]]]
    assert world.totals("visitors", filters=page_filter) == [2]
    assert world.totals("visitors", "events", filters=page_filter) == [2, 7]
    assert world.breakdown("event:page", "visitors", "visits", "pageviews", "events") == {
        "/": [1, 1, 1, 2],
        "/x": [2, 2, 2, 3],
        "/pricing": [1, 1, 1, 1],
        "/account": [0, 0, 0, 1],  # the identify event's page
        "(none)": [0, 0, 0, 3],  # server events
    }
    # Naming the events looks at them rather than at pageviews.
    rows = world.breakdown(
        "event:page", "visitors", "events", filters=[["is", "event:name", ["click"]]]
    )
    assert rows == {"/x": [1, 1]}
    # An event filter that is no page filter counts the persons of every matching event.
    assert world.totals("visitors", filters=[["is", "event:origin", ["server"]]]) == [2]
