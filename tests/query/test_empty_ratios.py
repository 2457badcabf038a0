"""A ratio of nothing (no visits, no visitors, no orders) is null, and so is its change; a count
of nothing is 0."""

from __future__ import annotations

import datetime as dt

from clycyo.query import registry
from tests.small_world import SmallWorld

RATIOS = [m.name for m in registry.METRICS.values() if m.ratio]
COUNTS = ["visitors", "visits", "pageviews", "events", "revenue", "orders"]


def _world(world: SmallWorld) -> None:
    world.send(
        world.pageview("a", 60, "/"),
        world.pageview("a", 61, "/pricing"),
        world.pageview("b", 62, "/"),
        world.payment(63, "30.00", "o1", visitor_id="a"),
    )


def test_the_ratios_are_the_ones_that_divide() -> None:
    assert RATIOS == [
        "bounce_rate",
        "visit_duration",
        "views_per_visit",
        "time_on_page",
        "scroll_depth",
        "conversion_rate",
        "average_order_value",
    ]


def test_an_empty_previous_period_has_null_ratios_and_no_change(world: SmallWorld) -> None:
    _world(world)
    answer = world.query(metrics=[*RATIOS, *COUNTS], include={"comparison": "previous_period"})
    (row,) = answer["results"]
    # No engagement reports: no time on page, no scroll depth.
    assert row["metrics"] == [50.0, 30, 1.5, None, None, 50.0, 30.0, 2, 2, 3, 4, 30.0, 1]
    assert row["comparison"]["metrics"] == [None] * len(RATIOS) + [0] * len(COUNTS)
    assert row["comparison"]["change"] == [None] * (len(RATIOS) + len(COUNTS))


def test_an_empty_period_and_empty_buckets_have_null_ratios(world: SmallWorld) -> None:
    _world(world)
    before = (world.start - dt.timedelta(days=5)).date().isoformat()
    (row,) = world.query(metrics=[*RATIOS, *COUNTS], date_range=[before, before])["results"]
    assert row["metrics"] == [None] * len(RATIOS) + [0] * len(COUNTS)
    first = (world.start - dt.timedelta(days=1)).date().isoformat()
    answer = world.query(
        metrics=["bounce_rate", "visits"],
        dimensions=["time:day"],
        date_range=[first, world.day],
        include={"comparison": "previous_period"},
    )
    assert [r["metrics"] for r in answer["results"]] == [[None, 0], [50.0, 2]]
    assert [r["comparison"]["change"] for r in answer["results"]] == [[None, None]] * 2


def test_rows_without_a_ratio_order_last_either_way(world: SmallWorld) -> None:
    _world(world)
    world.send(world.server(70, "srv", user_id="ru"))
    for direction in ("desc", "asc"):
        answer = world.query(
            metrics=["visit_duration", "events"],
            dimensions=["visit:entry_page"],
            order_by=[["visit_duration", direction]],
        )
        rows = [(r["dimensions"][0], r["metrics"]) for r in answer["results"]]
        assert rows[-1] == ("(none)", [None, 1]), direction
