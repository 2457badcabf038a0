"""Copies of an order over HTTP: a copy without revenue never takes the payment's place."""

from __future__ import annotations

from typing import Any

import pytest

from tests.serverproc import Site


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
