"""Comparisons with the year before and with a range of one's own, on both engines: rows meet
the compared period's row of the same dimensions, time buckets the bucket at the same place."""

from __future__ import annotations

import datetime as dt
from typing import Any

from clycyo.query.dates import year_earlier
from tests.small_world import SmallWorld


def _visit(world: SmallWorld, visitor: str, when: dt.datetime, **extra: Any) -> dict[str, Any]:
    stamp = int(when.replace(tzinfo=dt.UTC).timestamp() * 1000)
    return world.pageview(visitor, 0, "/", timestamp=stamp, **extra)


def test_the_year_before_compares_day_by_day_and_source_by_source(world: SmallWorld) -> None:
    first = world.start.replace(tzinfo=None)
    then = dt.datetime.combine(year_earlier(first.date()), dt.time())
    day = dt.timedelta(days=1)
    google = {"referrer": "https://www.google.com/"}
    world.send(
        _visit(world, "now", first + dt.timedelta(hours=9), **google),
        _visit(world, "a", then + dt.timedelta(hours=9), **google),
        _visit(world, "b", then + day + dt.timedelta(hours=9)),
        _visit(world, "c", then + day + dt.timedelta(hours=10)),
        _visit(world, "early", then - dt.timedelta(hours=1)),  # the day before: not compared
    )
    span = [first.date().isoformat(), (first + day).date().isoformat()]
    answer = world.query(
        metrics=["visitors"],
        dimensions=["time:day"],
        date_range=span,
        include={"comparison": "year_over_year"},
    )
    rows = answer["results"]
    assert [r["metrics"] for r in rows] == [[1], [0]]
    assert [r["comparison"]["metrics"] for r in rows] == [[1], [2]]
    assert [r["comparison"]["dimensions"][0] for r in rows] == [
        then.date().isoformat(),
        (then + day).date().isoformat(),
    ]
    assert [r["comparison"]["change"] for r in rows] == [[0.0], [-100.0]]
    assert answer["meta"]["comparison_date_range"] == [
        then.isoformat() + "Z",
        (then + 2 * day).isoformat() + "Z",
    ]
    sources = world.query(
        metrics=["visitors"],
        dimensions=["visit:source"],
        date_range=span,
        include={"comparison": "year_over_year"},
    )["results"]
    assert {r["dimensions"][0]: r["comparison"]["metrics"] for r in sources} == {"Google": [1]}


def test_a_range_of_ones_own_meets_the_buckets_by_position(world: SmallWorld) -> None:
    first = world.start.replace(tzinfo=None)
    day = dt.timedelta(days=1)
    chosen = first - 10 * day  # three days, against the query's two
    world.send(
        _visit(world, "a", chosen + dt.timedelta(hours=3)),
        _visit(world, "b", chosen + day + dt.timedelta(hours=3)),
        _visit(world, "c", chosen + day + dt.timedelta(hours=4)),
        _visit(world, "d", chosen + 2 * day + dt.timedelta(hours=3)),  # its third day: no match
    )
    custom = [chosen.date().isoformat(), (chosen + 2 * day).date().isoformat()]
    answer = world.query(
        metrics=["visitors", "bounce_rate"],
        dimensions=["time:day"],
        date_range=[first.date().isoformat(), (first + day).date().isoformat()],
        include={"comparison": {"date_range": custom}},
    )
    rows = answer["results"]
    assert [r["comparison"]["metrics"] for r in rows] == [[1, 100.0], [2, 100.0]]
    second = (chosen + day).date().isoformat()
    assert [r["comparison"]["dimensions"][0] for r in rows] == [custom[0], second]
    assert answer["meta"]["comparison_date_range"][0] == chosen.isoformat() + "Z"
    totals = world.query(
        metrics=["visitors"],
        date_range=[first.date().isoformat(), first.date().isoformat()],
        include={"comparison": {"date_range": custom}},
    )["results"]
    assert totals[0]["comparison"]["metrics"] == [4]


def test_hours_of_a_day_the_clocks_go_back_meet_the_year_befores_in_order(
    world: SmallWorld,
) -> None:
    # Berlin went back an hour on 26 October 2025 and on 25 October 2026: that day of 2026 has
    # 25 hours, the same day of 2025 24; each hour meets the one at its place, the 25th none.
    world.runtime.config.update_site(world.site.id, timezone="Europe/Berlin")
    world.runtime.directory.clear()
    world.send(
        _visit(world, "a", dt.datetime(2025, 10, 24, 22, 30)),  # 00:30 local, summer time
        _visit(world, "b", dt.datetime(2025, 10, 25, 21, 30)),  # 23:30 local
        _visit(world, "c", dt.datetime(2026, 10, 25, 22, 30)),  # 23:30 local, winter time
    )
    rows = world.query(
        metrics=["visits"],
        dimensions=["time:hour"],
        date_range=["2026-10-25", "2026-10-25"],
        include={"comparison": "year_over_year"},
    )["results"]
    assert len(rows) == 25
    before = [r["comparison"]["dimensions"][0] for r in rows]
    assert before[:24] == [f"2025-10-25T{hour:02}:00:00" for hour in range(24)]
    assert [r["comparison"]["metrics"][0] for r in rows] == [1, *[0] * 22, 1, 0]
    assert rows[24]["metrics"] == [1]


def test_time_buckets_meet_by_position_beside_another_dimension(world: SmallWorld) -> None:
    first = world.start.replace(tzinfo=None)
    then = dt.datetime.combine(year_earlier(first.date()), dt.time())
    day = dt.timedelta(days=1)
    google = {"referrer": "https://www.google.com/"}
    world.send(
        _visit(world, "now", first + dt.timedelta(hours=9), **google),
        _visit(world, "a", then + dt.timedelta(hours=9), **google),
        _visit(world, "b", then + dt.timedelta(hours=10), **google),
        _visit(world, "c", then + day + dt.timedelta(hours=10)),
        _visit(world, "d", first - day + dt.timedelta(hours=11), **google),  # the day before
    )
    span = [first.date().isoformat(), (first + day).date().isoformat()]
    by_source = world.query(
        metrics=["visitors"],
        dimensions=["time:day", "visit:source"],
        date_range=span,
        include={"comparison": "year_over_year"},
    )["results"]
    (google_row,) = by_source
    assert google_row["dimensions"] == [first.date().isoformat(), "Google"]
    assert google_row["comparison"]["dimensions"] == [then.date().isoformat(), "Google"]
    assert google_row["comparison"]["metrics"] == [2]
    # Without the empty buckets, the day just before is the previous period's first (and only)
    # day with a visit.
    unfilled = world.query(
        metrics=["visitors"],
        dimensions=["time:day"],
        date_range=[first.date().isoformat(), first.date().isoformat()],
        include={"comparison": "previous_period", "time_labels": False},
    )["results"]
    assert [r["comparison"]["metrics"] for r in unfilled] == [[1]]
    assert unfilled[0]["comparison"]["dimensions"] == [(first - day).date().isoformat()]
