"""Persons: late identify, several devices, server events, shared browsers, arrival order."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from clycyo.query import api
from tests.small_world import IPHONE, SmallWorld


def _timeline(world: SmallWorld, person: str) -> dict[str, Any]:
    found = api.timeline(world.runtime, world.site, person)
    assert found is not None
    return found


def test_history_before_identify_belongs_to_the_user(world: SmallWorld) -> None:
    world.send(
        world.pageview("v1", 60, "/", referrer="https://www.google.com/"),
        world.pageview("v1", 200, "/pricing"),  # a second, direct visit
    )
    assert world.totals("visitors", "visits") == [1, 2]
    world.send(world.identify("v1", "alice", 205))
    assert world.totals("visitors", "visits") == [1, 2]
    timeline = _timeline(world, "alice")
    assert timeline["person"] == {"user_id": "alice", "visitor_ids": ["v1"]}
    assert [e["name"] for e in timeline["events"]] == ["pageview", "pageview", "identify"]
    # The visitor id now names the same person.
    assert _timeline(world, "v1")["person"]["user_id"] == "alice"


def test_two_devices_are_one_person_with_the_earliest_acquisition(world: SmallWorld) -> None:
    world.send(
        world.pageview(
            "phone", 100, "/", user_agent=IPHONE, referrer="https://news.ycombinator.com/"
        ),
        world.pageview("laptop", 60, "/", referrer="https://www.bing.com/"),
        world.pageview("laptop", 300, "/pricing", referrer="https://www.google.com/"),
        world.identify("phone", "alice", 101),
        world.identify("laptop", "alice", 301),
        world.payment(302, "49.00", "inv_1", user_id="alice"),
    )
    assert world.totals("visitors", "visits") == [1, 3]
    assert world.breakdown("visit:device", "visitors", "visits") == {
        "desktop": [1, 2],
        "mobile": [1, 1],
    }
    assert world.breakdown("first_touch:source", "revenue", "visitors") == {"Bing": [49.0, 1]}
    assert world.breakdown("last_touch:source", "revenue") == {"Google": [49.0]}
    assert _timeline(world, "alice")["person"]["visitor_ids"] == ["laptop", "phone"]


def test_server_events_join_the_person_whatever_they_carry(world: SmallWorld) -> None:
    world.send(
        world.server(50, "signup", visitor_id="v1"),  # before the visitor was identified
        world.server(55, "trial_started", user_id="bob"),  # only the user
        world.pageview("v1", 60, "/", referrer="https://www.google.com/"),
    )
    # Persons with any of these events (visitors without an event filter count visits only).
    anything = [["is", "event:name", ["signup", "trial_started", "pageview"]]]
    assert world.totals("visitors", "events", filters=anything) == [2, 3]
    assert world.totals("visitors") == [1]
    world.send(world.identify("v1", "bob", 61))
    assert world.totals("visitors", "events", filters=anything) == [1, 3]
    names = [e["name"] for e in _timeline(world, "bob")["events"]]
    assert names == ["signup", "trial_started", "pageview", "identify"]
    assert {e["origin"] for e in _timeline(world, "bob")["events"]} == {"browser", "server"}
    assert world.totals("conversions", filters=[["is", "event:name", ["signup"]]]) == [1]


def test_a_shared_browser_never_merges_its_users(world: SmallWorld) -> None:
    world.send(
        world.pageview("shared", 60, "/"),  # before any identify: the first user's
        world.identify("shared", "alice", 62),
        world.pageview("shared", 63, "/account"),
        world.identify("shared", "bob", 64),  # bob logs in on the same browser
        world.pageview("shared", 65, "/settings"),
        world.pageview("bobs-phone", 120, "/", user_agent=IPHONE),
        world.identify("bobs-phone", "bob", 121),
        world.payment(66, "10.00", "o1", user_id="alice"),
        world.payment(67, "20.00", "o2", user_id="bob"),
    )
    assert world.totals("visitors", "visits", "revenue", "conversions") == [2, 3, 30.0, 2]
    alice = _timeline(world, "alice")
    bob = _timeline(world, "bob")
    assert [e.get("page") for e in alice["events"] if e["type"] == "pageview"] == ["/", "/account"]
    assert [e.get("page") for e in bob["events"] if e["type"] == "pageview"] == ["/settings", "/"]
    assert alice["person"]["visitor_ids"] == ["shared"]
    assert bob["person"]["visitor_ids"] == ["bobs-phone", "shared"]
    # The browser's id names its latest user.
    assert _timeline(world, "shared")["person"]["user_id"] == "bob"


def _arrivals() -> list[tuple[int, ...]]:
    return list(itertools.permutations(range(4)))[::5]


@pytest.mark.parametrize("order", _arrivals())
def test_the_answer_does_not_depend_on_arrival_order(
    world: SmallWorld, order: tuple[int, ...]
) -> None:
    batches = [
        [world.pageview("v1", 60, "/", referrer="https://www.google.com/")],
        [world.server(70, "payment_intent", visitor_id="v1")],
        [world.identify("v1", "carol", 75), world.pageview("v2", 90, "/", user_agent=IPHONE)],
        [world.identify("v2", "carol", 91), world.payment(92, "15.00", "o1", user_id="carol")],
    ]
    for index in order:
        world.send(*batches[index])
    assert world.totals("visitors", "revenue", "conversions") == [1, 15.0, 1]
    assert world.breakdown("first_touch:channel", "revenue") == {"Organic Search": [15.0]}
    assert len(_timeline(world, "carol")["events"]) == 6


def test_a_link_after_a_restart_restates_the_stored_visits(world: SmallWorld) -> None:
    world.send(
        world.pageview("laptop", 60, "/", referrer="https://www.google.com/"),
        world.pageview("phone", 600, "/", user_agent=IPHONE),
    )
    world.reopen()  # the laptop's visit is no longer in the writer's memory
    world.send(world.identify("phone", "zoe", 601), world.identify("laptop", "zoe", 602))
    assert world.totals("visitors", "visits") == [1, 3]
    assert world.breakdown("first_touch:source", "visitors") == {"Google": [1]}
    assert world.breakdown("visit:device", "visitors") == {"desktop": [1], "mobile": [1]}


@pytest.mark.parametrize("together", [True, False], ids=["one-batch", "two-requests"])
def test_a_browser_payment_the_servers_copy_supersedes_still_links_its_visitor(
    world: SmallWorld, together: bool
) -> None:
    """The browser's copy of an order carries both ids; the server's copy, naming the user
    only, replaces it. The copy is not stored, but its link is, whether both copies reach the
    writer in one load or in two."""
    view = world.pageview("vH", 60, "/?utm_source=tw")
    browser = world.payment(61, "10", "o5", origin="browser", visitor_id="vH", user_id="u5")
    server = world.payment(61.5, "9", "o5", user_id="u5")
    if together:
        world.send(view, browser, server)
    else:
        world.send(view, browser)
        world.send(server)
    timeline = _timeline(world, "u5")
    assert timeline["person"] == {"user_id": "u5", "visitor_ids": ["vH"]}
    assert [(e["name"], e["origin"]) for e in timeline["events"]] == [
        ("pageview", "browser"),
        ("payment", "server"),
    ]
    assert world.breakdown("first_touch:utm_source", "revenue", "orders") == {"tw": [9.0, 1]}
    assert world.totals("visitors") == [1]


def test_a_browser_copy_after_the_servers_still_links_its_visitor(world: SmallWorld) -> None:
    """Sent after the server's copy, the browser's is not stored, and still links its visitor."""
    world.send(world.pageview("vL", 60, "/?utm_source=fb"))
    world.send(world.payment(61, "9", "o6", user_id="u6"))
    world.send(world.payment(62, "10", "o6", origin="browser", visitor_id="vL", user_id="u6"))
    timeline = _timeline(world, "u6")
    assert timeline["person"] == {"user_id": "u6", "visitor_ids": ["vL"]}
    assert [e["origin"] for e in timeline["events"]] == ["browser", "server"]
    assert world.breakdown("first_touch:utm_source", "revenue", "orders") == {"fb": [9.0, 1]}
