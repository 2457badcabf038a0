"""The list of persons on both engines: who is listed, in which order, page after page, and
with the same last seen, first channel, visits and net revenue their own page shows."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import pytest

from clycyo.identity import listing as listing_module
from clycyo.identity.listing import Cursor, Listing, list_persons
from clycyo.identity.timeline import history
from clycyo.query.errors import QueryError
from clycyo.revenue.person import net_by_currency
from tests.small_world import IPHONE, SmallWorld


def _people(world: SmallWorld) -> None:
    world.send(
        # ann: found through Google, a second device, one order (a browser copy and the
        # server's, delivered twice) and a refund.
        world.pageview("a", 10, "/", referrer="https://www.google.com/"),
        world.identify("a", "ann", 11),
        world.payment(12, "30.00", "o1", origin="browser", visitor_id="a"),
        world.payment(13, "30.00", "o1", user_id="ann"),
        world.payment(13.5, "30.00", "o1", user_id="ann"),
        world.payment(50, "-5.00", "r1", name="refund", user_id="ann"),
        world.pageview("phone", 200, "/pricing", user_agent=IPHONE),
        world.identify("phone", "ann", 201),
        # bob: a newsletter reader who never paid.
        world.pageview("b", 100, "/?utm_source=news&utm_medium=email"),
        world.identify("b", "bob", 101),
        # carl: known to the payment provider only.
        world.payment(150, "99.00", "o3", user_id="carl"),
        # dora paid in another currency than the site's.
        world.pageview("d", 19, "/"),
        world.identify("d", "dora", 20),
        world.payment(21, "10.00", "o4", currency="EUR", user_id="dora"),
        # eve and fay were last seen at the same moment.
        world.pageview("e", 400, "/"),
        world.identify("e", "eve", 401),
        world.pageview("f", 400, "/"),
        world.identify("f", "fay", 401),
        # Two visitors who never said who they are.
        world.pageview("anon-1", 300, "/blog"),
        world.pageview("anon-2", 30, "/"),
    )


def _page(world: SmallWorld, **listing: Any) -> list[dict[str, Any]]:
    return list_persons(
        world.runtime.store, world.site.id, world.site.currency, Listing(**listing)
    ).persons


def _every_page(world: SmallWorld, limit: int, **listing: Any) -> list[str]:
    """The ids of every page of `limit` rows, following the cursors."""
    ids: list[str] = []
    after = None
    while True:
        page = list_persons(
            world.runtime.store,
            world.site.id,
            world.site.currency,
            Listing(limit=limit, after=after, **listing),
        )
        assert len(page.persons) <= limit
        ids += [p["id"] for p in page.persons]
        if page.next_cursor is None:
            return ids
        after = Cursor.decode(page.next_cursor, listing.get("sort", "last_seen"))


def test_persons_most_recently_seen_first(world: SmallWorld) -> None:
    _people(world)
    identified = [p["id"] for p in _page(world)]
    assert identified[:2] in (["eve", "fay"], ["fay", "eve"])
    assert identified[2:] == ["ann", "carl", "bob", "dora"]
    everyone = _page(world, identified_only=False)
    assert [p["id"] for p in everyone if not p["identified"]] == ["anon-1", "anon-2"]
    assert [p["id"] for p in everyone].index("anon-1") == 2
    anonymous = next(p for p in everyone if p["id"] == "anon-1")
    assert anonymous["user_id"] is None and anonymous["visits"] == 1
    assert anonymous["first_touch_channel"] == "Direct"


def test_each_row_agrees_with_the_persons_own_page(world: SmallWorld) -> None:
    _people(world)
    store, site = world.runtime.store, world.site
    rows = {p["id"]: p for p in _page(world, identified_only=False)}
    assert len(rows) == 8
    for person_id, row in rows.items():
        summary = history(store, site.id, person_id)
        assert summary is not None
        assert row["last_seen"] == summary["last_seen"], person_id
        assert row["visits"] == summary["visits"], person_id
        first = summary["first_visit"]
        assert row["first_touch_channel"] == (first["channel"] if first else None), person_id
        money = net_by_currency(store, site.id, person_id) or {}
        assert row["revenue"] == money.get("USD", 0), person_id
        assert row["currency"] == "USD"
    ann = rows["ann"]
    assert (ann["revenue"], ann["visits"], ann["first_touch_channel"]) == (
        Decimal("25"),
        2,
        "Organic Search",
    )
    assert rows["bob"]["first_touch_channel"] == "Email"
    assert (rows["carl"]["revenue"], rows["carl"]["visits"]) == (Decimal("99"), 0)
    assert rows["carl"]["first_touch_channel"] is None
    assert rows["dora"]["revenue"] == 0
    # The `revenue` metric counts the same money.
    assert world.totals("revenue") == [124.0]


def test_pages_follow_each_other_without_gaps_or_repeats(world: SmallWorld) -> None:
    _people(world)
    for listing in (
        {"identified_only": False},
        {"identified_only": True},
        {"sort": "revenue", "identified_only": False},
        {"sort": "revenue", "customers_only": True},
    ):
        whole = [p["id"] for p in _page(world, limit=200, **listing)]
        assert len(set(whole)) == len(whole)
        for limit in (1, 2, 3):
            assert _every_page(world, limit, **listing) == whole, (listing, limit)


@pytest.mark.parametrize("rows", [1, 2, 3, 5])
def test_a_page_found_among_the_latest_rows_is_the_same(
    world: SmallWorld, rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A page by last seen first groups only the persons of the latest rows: with a few rows
    # only, most pages come out short and are asked again over everyone; the others must be
    # the same as if everyone had been grouped.
    _people(world)
    for listing in ({"identified_only": False}, {"identified_only": True}):
        whole = [p["id"] for p in _page(world, limit=200, **listing)]
        monkeypatch.setattr(listing_module, "RECENT_ROWS", rows)
        for limit in (1, 2):
            assert _every_page(world, limit, **listing) == whole, (listing, limit)
        monkeypatch.undo()


def test_customers_by_revenue(world: SmallWorld) -> None:
    _people(world)
    customers = _page(world, sort="revenue", customers_only=True)
    assert [(p["id"], p["revenue"]) for p in customers] == [
        ("carl", Decimal("99")),
        ("ann", Decimal("25")),
        ("dora", Decimal("0")),
    ]
    # Customers first, then everyone else by last seen.
    by_revenue = [p["id"] for p in _page(world, sort="revenue")]
    assert by_revenue[:2] == ["carl", "ann"]
    assert by_revenue[2:4] in (["eve", "fay"], ["fay", "eve"])
    assert by_revenue[4:] == ["bob", "dora"]


def test_search_by_a_prefix_of_a_user_id_or_a_device(world: SmallWorld) -> None:
    _people(world)
    assert [p["id"] for p in _page(world, prefix="an", identified_only=False)] == [
        "anon-1",
        "ann",
        "anon-2",
    ]
    # A device of ann's finds ann; so does the user id of a person with no device.
    assert [p["id"] for p in _page(world, prefix="pho")] == ["ann"]
    assert [p["id"] for p in _page(world, prefix="car")] == ["carl"]
    assert _page(world, prefix="zz", identified_only=False) == []


def test_a_cursor_of_another_order_or_made_up_is_refused(world: SmallWorld) -> None:
    _people(world)
    page = list_persons(world.runtime.store, world.site.id, "USD", Listing(limit=1))
    assert page.next_cursor is not None
    with pytest.raises(QueryError, match="cursor"):
        Cursor.decode(page.next_cursor, "revenue")
    made_up = [
        ["last_seen", 1e400, 1, "0"],
        ["last_seen", 10**30, 1, "0"],
        ["last_seen", 1, -1, "0"],
        ["last_seen", 1, 1, "1e1000"],
        ["last_seen", 1, 1, "NaN"],
        ["last_seen", "x", 1, "0"],
    ]
    texts = ["", "abc", "!!", "WyJ4Il0"] + [
        base64.urlsafe_b64encode(json.dumps(raw).encode()).decode() for raw in made_up
    ]
    for text in texts:
        with pytest.raises(QueryError, match="cursor: not a cursor this list gave"):
            Cursor.decode(text, "last_seen")
    for bad in ({"limit": 0}, {"limit": 201}, {"sort": "name"}):
        with pytest.raises(QueryError):
            Listing(**bad)


def test_persons_seen_at_the_same_moment_as_the_latest_rows_end_are_not_skipped(
    world: SmallWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The latest rows may end among rows of the same moment: a person of that moment left out
    of them must still come in their place, not be skipped by the next page's cursor."""
    world.send(*(world.pageview(f"tied-{n}", 60, "/") for n in range(8)))
    whole = [p["id"] for p in _page(world, limit=200, identified_only=False)]
    assert len(whole) == 8
    for rows in range(2, 8):
        monkeypatch.setattr(listing_module, "RECENT_ROWS", rows)
        for limit in (1, 2, 3):
            assert _every_page(world, limit, identified_only=False) == whole, (rows, limit)
