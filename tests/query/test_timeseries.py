"""Time series: every bucket present, in the site's time zone, with the previous period."""

from __future__ import annotations

import datetime as dt

from tests.small_world import SmallWorld


def test_empty_days_are_filled_and_the_previous_period_is_attached(world: SmallWorld) -> None:
    world.send(
        world.pageview("a", 60, "/"),
        world.pageview("b", 61, "/"),
        world.pageview("a", -1440 + 60, "/"),  # the day before
        world.pageview("c", -3 * 1440 + 60, "/"),  # in the previous period
    )
    first = (world.start - dt.timedelta(days=2)).date()
    answer = world.query(
        metrics=["visitors", "visits"],
        dimensions=["time:day"],
        date_range=[first.isoformat(), world.day],
        include={"comparison": "previous_period"},
    )
    rows = answer["results"]
    assert [r["dimensions"][0] for r in rows] == [
        (first + dt.timedelta(days=n)).isoformat() for n in range(3)
    ]
    assert [r["metrics"] for r in rows] == [[0, 0], [1, 1], [2, 2]]
    # The previous period is the three days before; "c" visited in its last day.
    assert [r["comparison"]["metrics"] for r in rows] == [[0, 0], [0, 0], [1, 1]]
    assert rows[2]["comparison"]["change"] == [100.0, 100.0]
    assert answer["meta"]["comparison_date_range"][1] == f"{first.isoformat()}T00:00:00Z"


def test_hours_follow_the_sites_time_zone(world: SmallWorld) -> None:
    world.runtime.config.update_site(world.site.id, timezone="Asia/Kolkata")  # UTC+05:30
    world.runtime.directory.clear()
    world.send(world.pageview("a", 60, "/"), world.pageview("b", 125, "/"))
    local_day = world.day
    answer = world.query(
        metrics=["visits"], dimensions=["time:hour"], date_range=[local_day, local_day]
    )
    busy = {r["dimensions"][0]: r["metrics"][0] for r in answer["results"] if r["metrics"][0]}
    assert busy == {f"{local_day}T06:00:00": 1, f"{local_day}T07:00:00": 1}
    assert len(answer["results"]) == 24
    assert answer["meta"]["timezone"] == "Asia/Kolkata"
