"""The revenue ledger: one row of money per order, refunds, currencies, attribution."""

from __future__ import annotations

import time
from decimal import Decimal

from clycyo.query import api
from tests.small_world import SmallWorld

MONEY = ("revenue", "orders", "refunds", "conversions")


def test_a_payment_delivered_again_counts_once(world: SmallWorld) -> None:
    payment = world.payment(60, "49.90", "inv_1", user_id="u1", event_id="stripe:evt_1")
    world.send(payment)
    world.send(payment)  # the same delivery retried
    world.send(world.payment(61, "49.90", "inv_1", user_id="u1"))  # reported by another event
    assert world.totals(*MONEY) == [49.9, 1, 0, 1]


def test_the_servers_copy_of_an_order_supersedes_the_browsers(world: SmallWorld) -> None:
    world.send(
        world.pageview("v1", 59, "/checkout"),
        world.browser(
            "v1", 60, "purchase", revenue={"amount": "50.00", "currency": "USD"}, order_id="o1"
        ),
    )
    assert world.totals(*MONEY) == [50.0, 1, 0, 1]
    # The server's verified amount (a coupon the browser did not know of) wins, whichever name.
    world.send(world.payment(61, "45.00", "o1", name="purchase", visitor_id="v1"))
    world.send(world.payment(62, "45.00", "o1", name="payment", visitor_id="v1"))
    assert world.totals(*MONEY) == [45.0, 1, 0, 1]
    assert world.totals("events", filters=[["is", "event:name", ["purchase", "payment"]]]) == [2]


def test_refunds_full_and_partial_reduce_net_revenue(world: SmallWorld) -> None:
    world.send(
        world.payment(60, "100.00", "inv_1", user_id="u1"),
        world.payment(61, "30.00", "inv_2", user_id="u2"),
        world.payment(120, "-25.00", "re_1", name="refund", user_id="u1"),
        world.payment(180, "-25.00", "re_2", name="refund", user_id="u1"),
        world.payment(190, "-30.00", "re_3", name="refund", user_id="u2"),
    )
    assert world.totals(*MONEY) == [50.0, 2, 3, 2]
    assert world.totals("average_order_value") == [65.0]
    by_name = world.breakdown("event:name", "revenue", "refunds")
    assert by_name == {"payment": [130.0, 0], "refund": [-80.0, 3]}


def test_other_currencies_are_never_added_to_revenue(world: SmallWorld) -> None:
    world.send(
        world.payment(60, "10.00", "o1", user_id="u1"),
        world.payment(61, "20.00", "o2", currency="EUR", user_id="u2"),
        world.payment(62, "-5.00", "re_1", currency="EUR", name="refund", user_id="u2"),
        world.payment(63, "1000", "o3", currency="JPY", user_id="u3"),
    )
    answer = world.query(metrics=["revenue", "orders"])
    assert answer["results"][0]["metrics"] == [10.0, 3]
    assert answer["meta"]["currency"] == "USD"
    assert answer["meta"]["other_currencies"] == {
        "EUR": {"revenue": 15.0, "orders": 1, "refunds": 1},
        "JPY": {"revenue": 1000.0, "orders": 1, "refunds": 0},
    }


def test_the_reporting_currency_is_the_sites(tmp_path: object) -> None:
    from pathlib import Path

    euro = SmallWorld(Path(str(tmp_path)), currency="EUR")
    try:
        euro.send(
            euro.payment(60, "10.00", "o1", currency="EUR"),
            euro.payment(61, "7.00", "o2", currency="USD"),
        )
        answer = euro.query(metrics=["revenue"])
        assert answer["results"][0]["metrics"] == [10.0]
        assert answer["meta"]["other_currencies"] == {
            "USD": {"revenue": 7.0, "orders": 1, "refunds": 0}
        }
    finally:
        euro.close()


def test_revenue_is_attributed_to_first_and_last_touch_after_clock_skew(world: SmallWorld) -> None:
    # The phone's clock runs two hours fast and it sends its queue only now: `sent_at`, on the
    # same clock, corrects the time to minute 60, before the laptop's visit (at face value: 180).
    skewed = world.pageview("phone", 180, "/", referrer="https://www.reddit.com/")
    skewed["sent_at"] = int(time.time() * 1000) + 2 * 3600 * 1000
    world.send(skewed)
    world.send(
        world.identify("phone", "dana", 60.5),
        world.pageview("laptop", 90, "/", referrer="https://www.google.com/"),
        world.pageview("laptop", 200, "/pricing"),  # direct: not a last touch
        world.identify("laptop", "dana", 201),
        world.payment(202, "99.00", "inv_9", user_id="dana"),
    )
    first = world.breakdown("first_touch:source", "revenue")
    assert first == {"Reddit": [99.0]}
    assert world.breakdown("last_touch:source", "revenue") == {"Google": [99.0]}
    assert world.breakdown("last_touch:channel", "conversions") == {"Organic Search": [1]}


def test_a_persons_net_revenue_is_the_ledgers_per_currency(world: SmallWorld) -> None:
    world.send(
        world.pageview("v1", 59, "/checkout"),
        world.identify("v1", "u1", 59.5),
        world.browser(
            "v1", 60, "purchase", revenue={"amount": "50.00", "currency": "USD"}, order_id="o1"
        ),
        world.payment(61, "50.00", "o1", user_id="u1"),  # the same order from the server
        world.payment(62, "-10.00", "o1", name="refund", user_id="u1"),
        world.payment(63, "30.00", "o2", currency="EUR", user_id="u1"),
        world.payment(64, "99.00", "o3", user_id="someone-else"),
    )
    assert world.totals("revenue", "orders") == [139.0, 3]
    assert api.person_revenue(world.runtime, world.site, "u1") == {
        "EUR": Decimal("30"),
        "USD": Decimal("40"),
    }
    assert api.person_revenue(world.runtime, world.site, "v1") == {
        "EUR": Decimal("30"),
        "USD": Decimal("40"),
    }
    assert api.person_revenue(world.runtime, world.site, "nobody") is None
