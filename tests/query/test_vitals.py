"""Web vitals: the 75th percentile per metric, site-wide and per page, from the narrow table or,
when a filter needs more, from the events themselves — the same numbers either way."""

from __future__ import annotations

from clycyo.identity.compaction import compact
from clycyo.query import vitals
from tests.small_world import SmallWorld


def test_p75_site_wide_and_per_page(world: SmallWorld) -> None:
    events = [world.pageview("v1", 60, "/"), world.pageview("v2", 60, "/docs")]
    for n, value in enumerate([100, 200, 300, 400, 500]):
        page = "/" if n < 4 else "/docs"
        visitor = "v1" if n < 4 else "v2"
        events.append(
            world.browser(visitor, 61, "web_vital", page, props={"metric": "LCP", "value": value})
        )
    events.append(world.browser("v1", 61, "web_vital", "/", props={"metric": "CLS", "value": 0.25}))
    events.append(world.browser("v1", 61, "web_vital", "/", props={"metric": "LCP", "value": "x"}))
    world.send(*events)
    found = vitals.percentiles(world.runtime.store, world.site, [world.day, world.day])
    assert found == {
        ("", "LCP"): 400.0,
        ("/", "LCP"): 325.0,
        ("/docs", "LCP"): 500.0,
        ("", "CLS"): 0.25,
        ("/", "CLS"): 0.25,
    }
    narrow = vitals.percentiles(
        world.runtime.store, world.site, [world.day, world.day], [["is", "event:page", ["/"]]]
    )
    wide = vitals.percentiles(
        world.runtime.store,
        world.site,
        [world.day, world.day],
        [["is", "event:page", ["/"]], ["is_not", "event:origin", ["server"]]],
    )
    assert (
        narrow
        == wide
        == {("", "LCP"): 325.0, ("/", "LCP"): 325.0, ("", "CLS"): 0.25, ("/", "CLS"): 0.25}
    )


def test_site_wide_p75_from_hourly_buckets_is_within_half_a_percent(world: SmallWorld) -> None:
    events = [world.pageview("v1", 60, "/")]
    values = [120, 250, 380, 410, 640, 900, 1500, 2300]
    for n, value in enumerate(values):
        minute = 61 + n * 20  # spread over three hours
        events.append(
            world.browser("v1", minute, "web_vital", props={"metric": "LCP", "value": value})
        )
    world.send(*events)
    period = [world.day, world.day]
    exact = vitals.percentiles(world.runtime.store, world.site, period)[("", "LCP")]
    hourly = vitals.percentiles(world.runtime.store, world.site, period, by_page=False)
    assert exact == 1050.0
    assert abs(hourly[("", "LCP")] - exact) / exact <= 0.005
    compact(world.runtime.store)  # folding the per-batch rows changes nothing
    again = vitals.percentiles(world.runtime.store, world.site, period, by_page=False)
    assert again == hourly
