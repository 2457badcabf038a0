"""Funnels: ordered steps per person within a window, with drop-off, counted exactly."""

from __future__ import annotations

from typing import Any

import pytest

from clycyo.config.goals import PageGoalStore
from clycyo.query import api
from clycyo.query.errors import QueryError
from tests.small_world import IPHONE, SmallWorld

STEPS = [{"page": "/"}, {"page": "/pricing"}, {"name": "signup"}]


def _funnel(world: SmallWorld, **body: Any) -> list[dict[str, Any]]:
    body.setdefault("steps", STEPS)
    body.setdefault("date_range", [world.day, world.day])
    answer = api.funnel(world.runtime, world.site, {"site": world.domain, **body})
    return list(answer["steps"])


def test_steps_count_in_order_within_the_window(world: SmallWorld) -> None:
    world.send(
        # a: all three steps in order
        world.pageview("a", 60, "/"),
        world.pageview("a", 61, "/pricing"),
        world.browser("a", 62, "signup", "/pricing"),
        # b: pricing before home, then home: only step 1
        world.pageview("b", 60, "/pricing"),
        world.pageview("b", 61, "/"),
        # c: the signup comes two hours later, outside a one-hour window
        world.pageview("c", 60, "/"),
        world.pageview("c", 61, "/pricing"),
        world.browser("c", 185, "signup", "/pricing"),
        # d: a late start works: the second home visit is within the window of the signup
        world.pageview("d", 10, "/"),
        world.pageview("d", 120, "/"),
        world.pageview("d", 125, "/pricing"),
        world.browser("d", 130, "signup", "/pricing"),
        # e: signs up first, never sees pricing
        world.browser("e", 60, "signup"),
        world.pageview("e", 61, "/"),
    )
    steps = _funnel(world, window="1h")
    assert [s["visitors"] for s in steps] == [5, 3, 2]
    assert [s["dropoff"] for s in steps] == [0, 2, 1]
    assert [s["conversion_rate"] for s in steps] == [100.0, 60.0, 40.0]
    assert steps[2]["step_conversion_rate"] == 66.67
    wide = _funnel(world, window="4h")
    assert [s["visitors"] for s in wide] == [5, 3, 3]


def test_a_person_completes_a_funnel_across_devices_and_the_server(world: SmallWorld) -> None:
    world.send(
        world.pageview("phone", 60, "/", user_agent=IPHONE),
        world.identify("phone", "erin", 61),
        world.pageview("laptop", 70, "/pricing"),
        world.identify("laptop", "erin", 71),
        world.server(72, "signup", user_id="erin"),  # the backend records the signup
    )
    assert [s["visitors"] for s in _funnel(world, window="1h")] == [1, 1, 1]
    # Filters narrow the events of every step.
    desktop = _funnel(world, window="1h", filters=[["is", "visit:device", ["desktop"]]])
    assert [s["visitors"] for s in desktop] == [0, 0, 0]


def test_the_persons_of_a_step(world: SmallWorld) -> None:
    world.send(
        world.pageview("a", 60, "/"),
        world.pageview("a", 61, "/pricing"),
        world.pageview("b", 60, "/"),
    )
    body = {"site": world.domain, "steps": STEPS, "date_range": [world.day, world.day]}
    reached = api.funnel_persons(world.runtime, world.site, body, step=2, dropped=False, limit=10)
    assert [p["id"] for p in reached] == ["a"]
    dropped = api.funnel_persons(world.runtime, world.site, body, step=1, dropped=True, limit=10)
    assert [p["id"] for p in dropped] == ["b"]


def test_a_share_of_nobody_is_null(world: SmallWorld) -> None:
    world.send(world.pageview("a", 60, "/"), world.browser("b", 61, "signup"))
    # Nobody entered: no share of step 1 exists, though someone did a later step.
    empty = _funnel(world, steps=[{"page": "/pricing"}, {"name": "signup"}])
    assert [s["visitors"] for s in empty] == [0, 0]
    assert [s["conversion_rate"] for s in empty] == [None, None]
    assert [s["step_conversion_rate"] for s in empty] == [None, None]
    # Step 2 is empty: step 3 is 0 % of step 1, and no share of step 2.
    steps = _funnel(world)
    assert [s["visitors"] for s in steps] == [1, 0, 0]
    assert [s["conversion_rate"] for s in steps] == [100.0, 0.0, 0.0]
    assert [s["step_conversion_rate"] for s in steps] == [100.0, 0.0, None]


def test_a_person_known_only_from_server_events_is_their_user_id(world: SmallWorld) -> None:
    def page(minute: float, path: str) -> dict[str, Any]:
        return {
            "type": "pageview",
            "url": f"https://{world.domain}{path}",
            "user_id": "u-srv",
            "timestamp": world.at(minute),
        }

    world.send(
        # The backend reports page views and a passive event of a user, with no visitor id.
        page(60, "/"),
        page(61, "/pricing"),
        world.server(62, "engagement", user_id="u-srv", props={"engaged_ms": 5}),
        world.pageview("v-only", 63, "/"),
    )
    body = {"site": world.domain, "steps": STEPS, "date_range": [world.day, world.day]}
    reached = api.funnel_persons(world.runtime, world.site, body, step=2, dropped=False, limit=10)
    assert [p["id"] for p in reached] == ["u-srv"]
    started = api.funnel_persons(world.runtime, world.site, body, step=1, dropped=False, limit=10)
    assert [p["id"] for p in started] == ["v-only", "u-srv"]
    engaged = {**body, "steps": [{"page": "/"}, {"name": "engagement"}]}
    (person,) = api.funnel_persons(
        world.runtime, world.site, engaged, step=2, dropped=False, limit=10
    )
    assert person["id"] == "u-srv"
    # The id opens the person, as the people API names them.
    timeline = api.timeline(world.runtime, world.site, "u-srv")
    assert timeline is not None and timeline["person"]["user_id"] == "u-srv"


def test_a_funnel_takes_only_the_sites_page_goals(world: SmallWorld) -> None:
    """A step or the funnel may be narrowed by a goal of the site's (`event:goal`, as `/query`
    takes it); a page goal the site does not have is refused, naming the field."""
    PageGoalStore(world.runtime.config).add(world.site.id, "/blog/**")
    world.send(
        world.pageview("a", 60, "/"),
        world.pageview("a", 61, "/blog/one"),
        world.pageview("b", 60, "/"),
        world.pageview("b", 61, "/pricing"),
    )
    blog = [["is", "event:goal", ["Visit /blog/**"]]]
    steps = [{"page": "/"}, {"name": "pageview", "filters": blog}]
    assert [s["visitors"] for s in _funnel(world, steps=steps)] == [2, 1]
    body = {"site": world.domain, "steps": steps, "date_range": [world.day, world.day]}
    reached = api.funnel_persons(world.runtime, world.site, body, step=2, dropped=False, limit=9)
    assert [p["id"] for p in reached] == ["a"]
    nope = [["is", "event:goal", ["Visit /blog/*"]]]
    unknown = [
        ({"steps": [{"page": "/"}, {"filters": nope}]}, "steps[1].filters[0][2][0]"),
        ({"steps": STEPS, "filters": nope}, "filters[0][2][0]"),
    ]
    for spec, field in unknown:
        with pytest.raises(QueryError) as refused:
            _funnel(world, **spec)
        assert refused.value.field == field
        assert "the site has no goal 'Visit /blog/*'" in str(refused.value)
        with pytest.raises(QueryError, match="no goal"):
            api.funnel_persons(world.runtime, world.site, {"site": world.domain, **spec}, step=1,
                               dropped=False, limit=9)  # fmt: skip
