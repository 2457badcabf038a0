"""A filter on a dimension keeps exactly the rows of the breakdown by that dimension whose
label it names, `(none)` included: for events outside any visit too, on both engines."""

from __future__ import annotations

import re
from typing import Any

from clycyo.query import funnels
from clycyo.query.spec import NONE
from tests.small_world import SmallWorld

# Summed over a breakdown's rows, these give the total of the rows a filter keeps.
ADDITIVE = ("events", "revenue", "orders")
# One of each level's ways to reach a value (the visit's own column, its acquisition, the
# person's first and last touch): the other columns of a level differ only by their name.
ATTRIBUTION = (
    "visit:utm_source",
    "visit:channel",
    "visit:entry_page",
    "visit:country",
    "first_touch:source",
    "first_touch:utm_campaign",
    "last_touch:channel",
    "last_touch:utm_source",
)


def _world(world: SmallWorld) -> None:
    world.send(
        world.pageview("v1", 60, "/?utm_source=google&utm_campaign=spring"),
        world.browser("v1", 61, "signup", "/pricing"),
        world.pageview("v2", 90, "/", referrer="https://news.ycombinator.com/"),
        world.identify("v2", "ann", 91),
        world.pageview("v2", 300, "/pricing"),
        # Server events: of a person never seen in a browser (outside any visit), and of one
        # identified in a browser.
        world.server(70, "srv", user_id="ru", revenue={"amount": "5", "currency": "USD"}),
        world.payment(95, "20.00", "o1", user_id="ann"),
        world.payment(96, "7.00", "o2", user_id="ru"),
    )


def _holds(operator: str, label: str, values: list[str]) -> bool:
    """The documented meaning of a filter, for one breakdown label."""
    kind = operator.removesuffix("_not")
    if label == NONE:
        hit = NONE in values
    elif kind == "is":
        hit = label in values
    elif kind == "contains":
        hit = any(v.lower() in label.lower() for v in values if v != NONE)
    else:
        hit = any(re.search(v, label) for v in values if v != NONE)
    return hit != operator.endswith("_not")


def _filters(labels: list[str]) -> list[list[Any]]:
    found: list[list[Any]] = [["is", label] for label in labels]
    named = [label for label in labels if label != NONE]
    part = named[0][1:4] if named else "x"
    found += [["is_not", NONE], ["is_not", *named[:1], NONE], ["contains", part, NONE]]
    found += [["contains_not", part], ["matches", f"^{part}"], ["is_not", "no such value"]]
    return found


def test_every_filter_keeps_the_rows_its_breakdown_names(world: SmallWorld) -> None:
    _world(world)
    total = world.totals(*ADDITIVE)
    assert total == [8, 32.0, 3]
    seen_none = 0
    for dimension in ATTRIBUTION:
        rows = world.breakdown(dimension, *ADDITIVE)
        assert [sum(column) for column in zip(*rows.values(), strict=True)] == total, dimension
        seen_none += NONE in rows
        for operator, *values in _filters(list(rows)):
            kept = [m for label, m in rows.items() if _holds(operator, label, values)]
            expected = [sum(column) for column in zip(*kept, strict=True)] or [0, 0, 0]
            found = world.totals(*ADDITIVE, filters=[[operator, dimension, values]])
            assert found == expected, (dimension, operator, values, rows)
    assert seen_none == len(ATTRIBUTION)  # every one of them has events without a value


def test_events_outside_any_visit_are_none_for_visit_filters(world: SmallWorld) -> None:
    world.send(
        world.pageview("v1", 60, "/?utm_source=google"),
        world.server(70, "srv", user_id="ru", revenue={"amount": "5", "currency": "USD"}),
        world.server(71, "srv2", user_id="ru"),
    )
    assert world.breakdown("visit:utm_source", "events", "revenue") == {
        "google": [1, 0],
        NONE: [2, 5.0],
    }
    for f in (
        ["is", "visit:utm_source", [NONE]],
        ["is_not", "visit:utm_source", ["google"]],
        ["contains_not", "visit:utm_source", ["goo"]],
        ["is", "visit:channel", [NONE]],
        ["matches_not", "visit:channel", ["Search"]],
    ):
        assert world.totals("events", "revenue", filters=[f]) == [2, 5.0], f
        funnel = {
            "site": world.domain,
            "date_range": [world.day, world.day],
            "steps": [{"name": "srv"}, {"name": "srv2"}],
            "filters": [f],
        }
        steps = funnels.run_funnel(world.runtime.store, world.site, funnel)["steps"]
        assert [s["visitors"] for s in steps] == [1, 1], f
    assert world.totals("events", filters=[["is_not", "visit:utm_source", [NONE]]]) == [1]
