"""Retention cohorts by first visit across devices, and the commonest page sequences."""

from __future__ import annotations

import datetime as dt

from clycyo.query import api
from tests.small_world import IPHONE, SmallWorld

DAY_MINUTES = 24 * 60


def test_weekly_cohorts_follow_persons_across_devices(world: SmallWorld) -> None:
    monday = world.start - dt.timedelta(days=world.start.weekday() + 14)  # two weeks back
    offset = (monday - world.start).total_seconds() / 60
    world.send(
        # a: first visit in week 0, back in weeks 1 and 2 on another device
        world.pageview("a-laptop", offset + 60),
        world.identify("a-laptop", "ann", offset + 61),
        world.pageview("a-phone", offset + 7 * DAY_MINUTES + 60, user_agent=IPHONE),
        world.identify("a-phone", "ann", offset + 7 * DAY_MINUTES + 61),
        world.pageview("a-phone", offset + 14 * DAY_MINUTES + 60, user_agent=IPHONE),
        # b: week 0 only; c: first seen in week 1, back in week 2
        world.pageview("b", offset + 2 * DAY_MINUTES),
        world.pageview("c", offset + 8 * DAY_MINUTES),
        world.pageview("c", offset + 15 * DAY_MINUTES),
    )
    first_day = monday.date().isoformat()
    last_day = (monday + dt.timedelta(days=20)).date().isoformat()
    answer = api.cohorts(
        world.runtime,
        world.site,
        {"site": world.domain, "date_range": [first_day, last_day], "weeks": 3},
    )
    cohorts = {c["cohort"]: (c["visitors"], c["weeks"]) for c in answer["cohorts"]}
    week = [(monday + dt.timedelta(days=7 * n)).date().isoformat() for n in range(3)]
    assert cohorts == {week[0]: (2, [2, 1, 1]), week[1]: (1, [1, 1, 0]), week[2]: (0, [0, 0, 0])}


def test_journeys_are_page_sequences_of_visits(world: SmallWorld) -> None:
    world.send(
        world.pageview("a", 60, "/"),
        world.pageview("a", 61, "/"),  # a reload counts once
        world.pageview("a", 62, "/pricing"),
        world.pageview("a", 63, "/signup"),
        world.pageview("b", 60, "/"),
        world.pageview("b", 61, "/pricing"),
        world.pageview("b", 62, "/signup"),
        world.pageview("b", 63, "/thanks"),
        world.pageview("c", 60, "/blog"),
    )
    body = {"site": world.domain, "date_range": [world.day, world.day], "steps": 3}
    answer = api.paths(world.runtime, world.site, body)
    assert answer["journeys"] == [
        {"pages": ["/", "/pricing", "/signup"], "visits": 2, "visitors": 2},
        {"pages": ["/blog"], "visits": 1, "visitors": 1},
    ]
    entering = api.paths(world.runtime, world.site, {**body, "start_page": "/blog"})
    assert [j["pages"] for j in entering["journeys"]] == [["/blog"]]
