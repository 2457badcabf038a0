"""Time on page and scroll depth from the tracker's engagement reports, on both engines: per
visitor of a page, the deepest scroll reported and the engaged time summed, counted by hand."""

from __future__ import annotations

from typing import Any

import pytest

from clycyo.query.errors import QueryError
from tests.small_world import SmallWorld


def _report(world: SmallWorld, visitor: str, minute: float, path: str, **props: Any) -> Any:
    return world.browser(visitor, minute, "engagement", path, props=props)


def _send_world(world: SmallWorld) -> None:
    world.send(
        world.pageview("v1", 60, "/a"),
        _report(world, "v1", 61, "/a", scroll_depth=40, engaged_ms=3000),
        _report(world, "v1", 62, "/a", scroll_depth=70, engaged_ms=2000),
        world.pageview("v2", 70, "/a"),
        _report(world, "v2", 71, "/a", scroll_depth=100, engaged_ms=10000),
        # Not numbers, or out of range: no report, and no failure.
        _report(world, "v2", 72, "/a", scroll_depth="deep", engaged_ms="soon"),
        _report(world, "v2", 73, "/a", scroll_depth=250, engaged_ms=-5),
        _report(world, "v2", 74, "/a", scroll_depth="nan", engaged_ms="inf"),
        world.pageview("v3", 80, "/b"),
        # A report of a page its visitor did not view in the period counts nowhere.
        _report(world, "v4", 90, "/c", scroll_depth=10, engaged_ms=1000),
    )


METRICS = ("visitors", "pageviews", "time_on_page", "scroll_depth")


def test_per_page_the_deepest_scroll_per_visitor_and_the_engaged_time(world: SmallWorld) -> None:
    _send_world(world)
    # /a: scroll (70 + 100) / 2 = 85; time (3 + 2 + 10 s) / 2 visitors = 7.5, rounded up to 8.
    # /b: viewed, never reported.
    expected = {"/a": [2, 2, 8.0, 85.0], "/b": [1, 1, None, None]}
    assert world.breakdown("event:page", *METRICS) == expected
    # The dashboard's Top pages ask for pageviews by name: the reports still count.
    fixed = [["is", "event:name", ["pageview"]]]
    assert world.breakdown("event:page", *METRICS, filters=fixed) == expected
    assert world.breakdown("event:page", "scroll_depth") == {"/a": [85.0], "/b": [None]}


def test_the_total_averages_over_each_visitors_pages(world: SmallWorld) -> None:
    _send_world(world)
    # Three visitor-pages (v1 /a, v2 /a, v3 /b): 15 s / 3 = 5; scroll as /a's, /b having none.
    assert world.totals("time_on_page", "scroll_depth") == [5.0, 85.0]
    assert world.breakdown("time:day", "time_on_page", "scroll_depth") == {
        f"{world.day}": [5.0, 85.0]
    }
    on_a = world.totals("time_on_page", "scroll_depth", filters=[["is", "event:page", ["/a"]]])
    assert on_a == [8.0, 85.0]
    # A visit filter keeps those visits' pages: v1 and v2 entered on /a.
    entered_a = [["is", "visit:entry_page", ["/a"]]]
    assert world.totals("time_on_page", "scroll_depth", filters=entered_a) == [8.0, 85.0]
    # Every visitor came direct; a touch filter keeps them all, the other channel none.
    direct = [["is", "first_touch:channel", ["Direct"]]]
    assert world.totals("time_on_page", "scroll_depth", filters=direct) == [5.0, 85.0]
    search = [["is", "last_touch:channel", ["Organic Search"]]]
    assert world.totals("time_on_page", "scroll_depth", filters=search) == [None, None]
    by_host = world.breakdown("event:hostname", "time_on_page", "scroll_depth")
    assert by_host == {world.domain: [5.0, 85.0]}
    # An event filter chooses the pageviews: no pageview is named signup.
    named = [["is", "event:name", ["signup"]]]
    assert world.totals("time_on_page", "scroll_depth", filters=named) == [None, None]


def test_a_visitor_on_two_devices_is_one_reader(world: SmallWorld) -> None:
    world.send(
        world.pageview("d1", 60, "/a"),
        _report(world, "d1", 61, "/a", scroll_depth=30, engaged_ms=4000),
        world.identify("d1", "ann", 62),
        world.pageview("d2", 120, "/a"),
        _report(world, "d2", 121, "/a", scroll_depth=90, engaged_ms=6000),
        world.identify("d2", "ann", 122),
    )
    # One person: their deepest scroll 90, their 10 s over one visitor.
    assert world.breakdown("event:page", "time_on_page", "scroll_depth") == {"/a": [10.0, 90.0]}


def test_a_dimension_that_is_not_the_pages_own_is_refused(world: SmallWorld) -> None:
    for metric in ("time_on_page", "scroll_depth"):
        for dimension in ("visit:country", "event:name", "first_touch:channel"):
            with pytest.raises(QueryError) as refused:
                world.breakdown(dimension, "visitors", metric)
            assert str(refused.value).startswith(f"metrics[1]: {metric} cannot be broken down")
            assert dimension in str(refused.value)
