"""Copies of an order over HTTP: a copy without revenue never takes the payment's place."""

from __future__ import annotations

from typing import Any

import pytest

from tests.serverproc import Site
from tests.small_world import CHROME


def stored(site: Site, name: str) -> list[dict[str, Any]]:
    return site.events(name=name)


@pytest.mark.parametrize("together", [True, False], ids=["one-batch", "two-requests"])
def test_an_order_id_without_revenue_does_not_take_the_orders_place(
    server: Site, together: bool
) -> None:
    site = server
    first = {"name": "p5", "order_id": "ord-5"}
    paid = {"name": "p5", "order_id": "ord-5", "revenue": {"amount": "20", "currency": "USD"}}
    if together:
        status, answer = site.post("/api/collect", {"batch": [first, paid]}, secret=True)
        assert (status, answer["accepted"], answer["duplicates"]) == (200, 2, 0)
    else:
        for event in (first, paid):
            status, answer = site.post("/api/collect", event, secret=True)
            assert (status, answer["accepted"], answer["duplicates"]) == (200, 1, 0)
    [row] = stored(site, "p5")
    assert (row["order_id"], row["revenue_amount"], row["revenue_currency"]) == (
        "ord-5",
        "20",
        "USD",
    )
    # A later copy without revenue is a superseded copy, not the order.
    status, answer = site.post("/api/collect", first, secret=True)
    assert (status, answer["accepted"], answer["duplicates"]) == (200, 0, 1)
    query = {"site": site.site, "metrics": ["revenue", "orders", "events"], "date_range": "7d"}
    query["filters"] = [["is", "event:name", ["p5"]]]
    status, answer = site.post("/api/v1/query", query, secret=True)
    assert status == 200, answer
    assert answer["results"][0]["metrics"] == [20.0, 1, 1]


@pytest.mark.parametrize("server_first", [True, False], ids=["server-first", "browser-first"])
def test_the_stored_copy_has_the_props_of_both_copies_whichever_came_first(
    server: Site, server_first: bool
) -> None:
    """The server's copy of an order is kept, with the props of the browser's copy it lacks
    (its own values winning), whether the browser's came before it or after; a browser copy
    that comes after is still a duplicate to its sender."""
    site = server
    order = {"name": "p6", "order_id": "ord-6", "revenue": {"amount": "20", "currency": "USD"}}
    browser = {**order, "key": site.public_key, "props": {"coupon": "B", "plan": "pro"}}
    backend = {**order, "props": {"plan": "team", "invoice": "in_6"}}
    sends = [(backend, True), (browser, False)]
    answers = []
    for event, secret in sends if server_first else sends[::-1]:
        headers = None if secret else {"User-Agent": CHROME}
        status, answer = site.post("/api/collect", event, secret=secret, headers=headers)
        assert status == 200, answer
        answers.append((answer["accepted"], answer["duplicates"]))
    assert answers == ([(1, 0), (0, 1)] if server_first else [(1, 0), (1, 0)])
    [row] = stored(site, "p6")
    assert (row["origin"], row["props"]) == (
        "server",
        {"plan": "team", "invoice": "in_6", "coupon": "B"},
    )
