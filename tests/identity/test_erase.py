"""Erasure: a person leaves the store, the derived tables, the intake log and the quarantine,
and the writer forgets them; a shared browser's other user keeps everything."""

from __future__ import annotations

import asyncio
import json

from clycyo.collect.ingest import Invalid
from clycyo.query import api
from tests.small_world import SmallWorld


def _quarantine(world: SmallWorld, payload: dict[str, object]) -> None:
    raw = json.dumps(payload).encode()
    outcome = asyncio.run(
        world.runtime.ingest.ingest(
            world.site, True, [Invalid(raw, "url: broken")], ip=None, user_agent=None
        )
    )
    assert outcome.rejected
    assert world.runtime.writer.wait_loaded(world.runtime.intake.last_seq, 10.0)


def test_erasing_a_user_removes_them_everywhere_but_spares_the_other_user(
    world: SmallWorld,
) -> None:
    world.send(
        world.pageview("laptop", 60, "/"),
        world.identify("laptop", "alice", 61),
        world.pageview("phone", 90, "/pricing"),
        world.identify("phone", "alice", 91),
        world.payment(92, "20.00", "o1", user_id="alice"),
        world.identify("laptop", "bob", 120),  # bob uses alice's laptop later
        world.pageview("laptop", 121, "/bob"),
        world.pageview("stranger", 60, "/"),
    )
    _quarantine(world, {"type": "pageview", "user_id": "alice"})
    assert world.totals("visitors", "revenue") == [3, 20.0]
    erased = api.erase_person(world.runtime, world.site, "alice").result(30)
    assert erased is not None and erased.events == 5 and erased.quarantined == 1
    assert erased.visits == 2  # the laptop's and the phone's, however many rows each took
    assert world.totals("visitors", "visits", "revenue", "events") == [2, 2, 0, 3]
    assert api.timeline(world.runtime, world.site, "alice") is None
    bob = api.timeline(world.runtime, world.site, "bob")
    assert bob is not None and [e.get("page") for e in bob["events"]] == ["/account", "/bob"]
    left = [e for _, record in world.runtime.intake.read(0) for e in record.events]
    assert all(e.user_id != "alice" for e in left)
    assert {e.visitor_id for e in left} == {"laptop", "stranger"}
    assert world.runtime.quarantine.count(world.site.id) == 0
    # The writer forgot the phone: it comes back as a stranger would.
    world.send(world.pageview("phone", 95, "/again"))
    assert world.totals("visitors", "visits") == [3, 3]


def test_erasing_a_lone_visitor(world: SmallWorld) -> None:
    world.send(world.pageview("v1", 60, "/"), world.server(61, "ping", visitor_id="v1"))
    world.send(world.pageview("v1", 62, "/more"))  # a later load restates the visit
    world.send(world.pageview("v2", 60, "/"))
    erased = api.erase_person(world.runtime, world.site, "v1").result(30)
    assert erased is not None and (erased.events, erased.visits) == (3, 1)
    assert world.totals("visitors", "events") == [1, 1]
    assert api.erase_person(world.runtime, world.site, "nobody").result(30) is None
