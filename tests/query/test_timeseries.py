"""Time series: every bucket present, in the site's time zone, with the previous period."""

from __future__ import annotations

import datetime as dt
from typing import Any

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
    # Naive local starts: an hour whose local time happens once carries no offset.
    labels = [r["dimensions"][0] for r in answer["results"]]
    assert labels == [f"{local_day}T{hour:02}:00:00" for hour in range(24)]
    assert busy == {f"{local_day}T06:00:00": 1, f"{local_day}T07:00:00": 1}
    assert answer["meta"]["timezone"] == "Asia/Kolkata"


def test_hours_of_a_utc_site_are_naive_times(world: SmallWorld) -> None:
    world.send(world.pageview("a", 60, "/"))
    answer = world.query(metrics=["visits"], dimensions=["time:hour"])
    labels = [r["dimensions"][0] for r in answer["results"]]
    assert labels == [f"{world.day}T{hour:02}:00:00" for hour in range(24)]
    assert answer["results"][1]["metrics"] == [1]
    assert dt.datetime.fromisoformat(labels[1]) == world.start.replace(tzinfo=None, hour=1)


def _zone_day(world: SmallWorld, timezone: str, day: str, *utc_times: str) -> list[dict[str, Any]]:
    world.runtime.config.update_site(world.site.id, timezone=timezone)
    world.runtime.directory.clear()
    world.send(
        *(
            world.pageview(
                f"v{n}",
                0,
                "/",
                timestamp=int(dt.datetime.fromisoformat(t).timestamp() * 1000),
            )
            for n, t in enumerate(utc_times)
        )
    )
    answer = world.query(metrics=["visits"], dimensions=["time:hour"], date_range=[day, day])
    rows: list[dict[str, Any]] = answer["results"]
    return rows


def test_the_hour_the_clocks_go_back_is_two_hours(world: SmallWorld) -> None:
    # Berlin, 25 October 2026: at 03:00 summer time (01:00 UTC) the clocks go back to 02:00,
    # so 02:00 to 03:00 happens twice: 00:00-01:00 UTC (+02:00), then 01:00-02:00 UTC (+01:00).
    rows = _zone_day(
        world,
        "Europe/Berlin",
        "2026-10-25",
        "2026-10-25T00:30:00+00:00",
        "2026-10-25T01:30:00+00:00",
        "2026-10-25T01:40:00+00:00",
    )
    labels = [r["dimensions"][0] for r in rows]
    assert len(rows) == 25 and len(set(labels)) == 25
    # Only the repeated hour's two carry their offset; every other hour is its naive local start.
    assert labels == [
        "2026-10-25T00:00:00",
        "2026-10-25T01:00:00",
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:00:00+01:00",
        *(f"2026-10-25T{hour:02}:00:00" for hour in range(3, 24)),
    ]
    busy = {r["dimensions"][0]: r["metrics"][0] for r in rows if r["metrics"][0]}
    assert busy == {"2026-10-25T02:00:00+02:00": 1, "2026-10-25T02:00:00+01:00": 2}


def test_the_hour_the_clocks_skip_is_not_there(world: SmallWorld) -> None:
    # Berlin, 29 March 2026: at 02:00 winter time (01:00 UTC) the clocks jump to 03:00.
    rows = _zone_day(
        world,
        "Europe/Berlin",
        "2026-03-29",
        "2026-03-29T00:30:00+00:00",
        "2026-03-29T01:30:00+00:00",
    )
    labels = [r["dimensions"][0] for r in rows]
    assert labels == [f"2026-03-29T{hour:02}:00:00" for hour in range(24) if hour != 2]
    busy = {r["dimensions"][0]: r["metrics"][0] for r in rows if r["metrics"][0]}
    assert busy == {"2026-03-29T01:00:00": 1, "2026-03-29T03:00:00": 1}


def test_hours_the_clocks_go_back_two_hours_over_carry_their_offsets(world: SmallWorld) -> None:
    # Troll station, 25 October 2026: at 03:00 (+02:00, 01:00 UTC) the clocks go back to 01:00
    # (+00:00), so 01:00 and 02:00 both happen twice.
    rows = _zone_day(world, "Antarctica/Troll", "2026-10-25", "2026-10-25T01:30:00+00:00")
    labels = [r["dimensions"][0] for r in rows]
    assert labels[:7] == [
        "2026-10-25T00:00:00",
        "2026-10-25T01:00:00+02:00",
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T01:00:00+00:00",
        "2026-10-25T02:00:00+00:00",
        "2026-10-25T03:00:00",
        "2026-10-25T04:00:00",
    ]
    assert len(rows) == 26 and len(set(labels)) == 26
    busy = {r["dimensions"][0]: r["metrics"][0] for r in rows if r["metrics"][0]}
    assert busy == {"2026-10-25T01:00:00+00:00": 1}


def test_the_half_hour_the_clocks_go_back_is_a_bucket_of_its_own(world: SmallWorld) -> None:
    # Lord Howe Island, 5 April 2026: at 02:00 summer time (+11:00, 15:00 UTC) the clocks go
    # back half an hour to 01:30 (+10:30), so 01:30 to 02:00 happens twice. The hour 01:00 is
    # lived as 01:00-02:00 (+11:00), then as 01:30-02:00 again (+10:30): two buckets, each
    # named by the instant it began, both with their offset since both hold times that repeat.
    rows = _zone_day(
        world,
        "Australia/Lord_Howe",
        "2026-04-05",
        "2026-04-04T14:10:00+00:00",  # 01:10+11:00
        "2026-04-04T14:40:00+00:00",  # 01:40+11:00
        "2026-04-04T15:10:00+00:00",  # 01:40+10:30, the second time round
        "2026-04-04T15:40:00+00:00",  # 02:10+10:30
    )
    labels = [r["dimensions"][0] for r in rows]
    assert labels == [
        "2026-04-05T00:00:00",
        "2026-04-05T01:00:00+11:00",
        "2026-04-05T01:30:00+10:30",
        *(f"2026-04-05T{hour:02}:00:00" for hour in range(2, 24)),
    ]
    busy = {r["dimensions"][0]: r["metrics"][0] for r in rows if r["metrics"][0]}
    assert busy == {
        "2026-04-05T01:00:00+11:00": 2,
        "2026-04-05T01:30:00+10:30": 1,
        "2026-04-05T02:00:00": 1,
    }
    # Each label names the instant its bucket began, which is where its events start.
    began = [dt.datetime.fromisoformat(text) for text in labels[1:4]]
    assert [b.tzinfo is not None for b in began] == [True, True, False]
    assert [b.astimezone(dt.UTC).isoformat() for b in began[:2]] == [
        "2026-04-04T14:00:00+00:00",
        "2026-04-04T15:00:00+00:00",
    ]


def test_the_half_hour_the_clocks_skip_leaves_the_hour_its_other_half(world: SmallWorld) -> None:
    # Lord Howe Island, 4 October 2026: at 02:00 (+10:30, 15:30 UTC) the clocks jump to 02:30
    # (+11:00). The hour 02:00 is lived from 02:30 only: a half-hour bucket named 02:30.
    rows = _zone_day(
        world,
        "Australia/Lord_Howe",
        "2026-10-04",
        "2026-10-03T15:20:00+00:00",  # 01:50+10:30
        "2026-10-03T15:40:00+00:00",  # 02:40+11:00
        "2026-10-03T16:10:00+00:00",  # 03:10+11:00
    )
    labels = [r["dimensions"][0] for r in rows]
    assert labels == [
        "2026-10-04T00:00:00",
        "2026-10-04T01:00:00",
        "2026-10-04T02:30:00",
        *(f"2026-10-04T{hour:02}:00:00" for hour in range(3, 24)),
    ]
    busy = {r["dimensions"][0]: r["metrics"][0] for r in rows if r["metrics"][0]}
    assert busy == {
        "2026-10-04T01:00:00": 1,
        "2026-10-04T02:30:00": 1,
        "2026-10-04T03:00:00": 1,
    }
