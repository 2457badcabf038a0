"""Realtime's last thirty minutes on both engines: visitors and pageviews per clock minute, and
the custom events sent in them (a conversion whoever sent it; not the tracker's own events)."""

from __future__ import annotations

import datetime as dt

from clycyo.query import realtime
from tests.small_world import SmallWorld


def _now(world: SmallWorld) -> dt.datetime:
    return world.start + dt.timedelta(minutes=100, seconds=30)  # in minute 29 of 01:11-01:40


def _send(world: SmallWorld) -> None:
    world.send(
        world.pageview("early", 60, "/"),  # before the thirty minutes
        world.pageview("a", 75, "/"),
        world.pageview("a", 75.5, "/pricing"),
        world.browser("a", 76, "engagement", "/pricing", props={"scroll_depth": 50}),
        world.identify("a", "ann", 76.1),
        world.browser("a", 76.2, "signup", "/pricing", props={"plan": "team"}),
        world.payment(80, "49.00", "o1", user_id="ann"),  # the server's, in ann's visit
        world.payment(90, "19.00", "o2", user_id="bob"),  # bob is not browsing
        world.payment(95, "19.00", "o3", user_id="ann"),
        world.pageview("b", 99, "/docs"),
        world.browser("b", 99, "web_vital", "/docs", props={"metric": "LCP", "value": 900}),
        world.browser("b", 99.5, "js_error", "/docs", props={"message": "TypeError"}),
        world.pageview("b", 100.2, "/docs/api"),
        world.pageview("late", 101, "/"),  # after the moment asked about
    )


def test_visitors_and_pageviews_per_minute_of_the_last_thirty(world: SmallWorld) -> None:
    _send(world)
    answer = realtime.run_realtime(world.runtime.store, world.site, _now(world))
    minutes = answer["minutes"]
    assert len(minutes) == realtime.MINUTES == 30
    assert minutes[0]["minute"] == (world.start + dt.timedelta(minutes=71)).strftime(
        "%Y-%m-%dT%H:%M:00Z"
    )
    assert [m["local"] for m in minutes[:2]] == ["01:11", "01:12"]
    counted = {i: (m["visitors"], m["pageviews"]) for i, m in enumerate(minutes) if m["visitors"]}
    # Bob's payment puts nobody on the site (minute 19); the current minute counts so far.
    assert counted == {4: (1, 2), 5: (1, 0), 9: (1, 0), 24: (1, 0), 28: (1, 1), 29: (1, 1)}
    assert answer["visitors"] == 1  # the last five minutes: b


def test_conversions_of_the_last_thirty_minutes(world: SmallWorld) -> None:
    _send(world)
    answer = realtime.run_realtime(world.runtime.store, world.site, _now(world))
    # Custom events only, whether the browser or the server sent them; a person counts once.
    assert answer["goals"] == [
        {"name": "payment", "visitors": 2, "events": 3},
        {"name": "signup", "visitors": 1, "events": 1},
    ]


def test_minutes_are_labelled_in_the_sites_time_zone(world: SmallWorld) -> None:
    world.runtime.config.update_site(world.site.id, timezone="Asia/Kolkata")
    world.runtime.directory.clear()
    answer = realtime.run_realtime(world.runtime.store, world.site, _now(world))
    assert [m["local"] for m in answer["minutes"][:2]] == ["06:41", "06:42"]
    assert answer["minutes"][-1]["local"] == "07:10"
    assert answer["goals"] == [] and {m["pageviews"] for m in answer["minutes"]} == {0}
