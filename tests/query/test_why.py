"""The "why" report's counts on a world with known truth: who paid, who met which friction."""

from __future__ import annotations

from clycyo.query.props import prop_keys
from clycyo.query.why import Attempt, FrictionCount, WhyCounts, count_why
from tests.small_world import SmallWorld

CHECKOUT = Attempt("pageview", "/checkout")


def poor(world: SmallWorld, visitor: str, minute: float, metric: str) -> dict[str, object]:
    props = {"metric": metric, "value": 900, "rating": "poor"}
    return world.browser(visitor, minute, "web_vital", "/checkout", props=props)


def build(world: SmallWorld) -> None:
    world.send(
        # a: an error at checkout, never pays.
        world.pageview("a", 10, "/pricing"),
        world.pageview("a", 11, "/checkout"),
        world.browser("a", 12, "js_error", "/checkout", props={"message": "TypeError: x"}),
        # b: identifies, the server's payment (by user id only) follows: paid, no friction.
        world.pageview("b", 20, "/checkout"),
        world.identify("b", "user-b", 21),
        world.payment(22, "50.00", "order-b", user_id="user-b"),
        # c: a rage click before paying, a JS error after paying (not before the payment).
        world.pageview("c", 30, "/checkout"),
        world.browser("c", 31, "rage_click", "/checkout", props={"selector": "#pay"}),
        world.identify("c", "user-c", 32),
        world.payment(33, "20.00", "order-c", user_id="user-c"),
        world.browser("c", 34, "js_error", "/checkout", props={"message": "late"}),
        # d: a poor INP, then pays two days later: outside the window, so a failed attempt.
        world.pageview("d", 40, "/checkout"),
        poor(world, "d", 41, "INP"),
        world.identify("d", "user-d", 42),
        # e: never reaches checkout: no attempt, whatever it meets.
        world.pageview("e", 50, "/pricing"),
        world.browser("e", 51, "js_error", "/pricing", props={"message": "TypeError: x"}),
    )
    world.send(world.payment(41 + 2 * 24 * 60 + 5, "9.00", "order-d", user_id="user-d"))


def counted(
    world: SmallWorld, **extra: object
) -> tuple[int, int, dict[tuple[str, str | None, str | None], FrictionCount]]:
    found = count_why(
        world.runtime.store,
        world.site,
        date_range=[world.day, world.day],
        filters=extra.pop("filters", []),  # type: ignore[arg-type]
        attempt=CHECKOUT,
        payment_event="payment",
    )
    return found.attempts, found.paid, {(f.kind, f.page, f.message): f for f in found.frictions}


def world_orders(world: SmallWorld) -> tuple[int, float]:
    found = count_why(
        world.runtime.store,
        world.site,
        date_range=[world.day, world.day],
        filters=[],
        attempt=CHECKOUT,
        payment_event="payment",
    )
    return found.orders, found.average_order


def test_attempts_outcomes_and_friction(world: SmallWorld) -> None:
    build(world)
    attempts, paid, frictions = counted(world)
    assert (attempts, paid) == (4, 2)  # a, b, c, d; b and c paid in time
    error = frictions[("js_error", None, None)]
    assert (error.failed, error.paid) == (1, 0)  # c's error came after its payment
    rage = frictions[("rage_click", "/checkout", None)]
    assert (rage.failed, rage.paid) == (0, 1)
    inp = frictions[("poor_inp", None, None)]
    assert (inp.failed, inp.paid) == (1, 0)
    message = frictions[("js_error", None, "TypeError: x")]
    assert (message.failed, message.paid) == (1, 0)
    assert ("js_error", "/pricing", None) not in frictions  # e made no attempt
    assert world_orders(world) == (2, 35.0)  # b's and c's; d's payment came too late
    assert not any(f.kind == "poor_lcp" for f in frictions.values())


def test_view_filters_narrow_the_attempts(world: SmallWorld) -> None:
    build(world)
    attempts, paid, _ = counted(world, filters=[["is", "visit:entry_page", ["/pricing"]]])
    assert (attempts, paid) == (1, 0)  # only a entered on /pricing and reached checkout


def test_property_keys_of_an_event(world: SmallWorld) -> None:
    world.send(
        world.server(5, "signup", props={"plan": "team", "seats": 3}),
        world.server(6, "signup", props={"plan": "solo"}),
        world.server(7, "other", props={"colour": "red"}),
    )
    keys = prop_keys(
        world.runtime.store, world.site, name="signup", date_range=[world.day, world.day]
    )
    assert keys == ["plan", "seats"]


def test_the_average_paid_order_is_of_the_attempts_the_filters_keep(world: SmallWorld) -> None:
    world.send(
        # p entered on /pricing, reached checkout and paid 100.
        world.pageview("p", 10, "/pricing"),
        world.pageview("p", 11, "/checkout"),
        world.identify("p", "user-p", 12),
        world.payment(13, "100.00", "order-p", user_id="user-p"),
        # q entered on /checkout and paid 10.
        world.pageview("q", 20, "/checkout"),
        world.identify("q", "user-q", 21),
        world.payment(22, "10.00", "order-q", user_id="user-q"),
        # r paid 1000 without any attempt; s paid in another currency.
        world.payment(30, "1000.00", "order-r", user_id="user-r"),
        world.pageview("s", 40, "/pricing"),
        world.pageview("s", 41, "/checkout"),
        world.identify("s", "user-s", 42),
        world.payment(43, "70.00", "order-s", currency="EUR", user_id="user-s"),
    )

    def why(filters: list[list[object]]) -> WhyCounts:
        return count_why(
            world.runtime.store,
            world.site,
            date_range=[world.day, world.day],
            filters=filters,
            attempt=CHECKOUT,
            payment_event="payment",
        )

    every = why([])
    assert (every.attempts, every.paid, every.orders) == (3, 3, 2)  # s's euros are not averaged
    assert every.average_order == 55.0
    pricing = why([["is", "visit:entry_page", ["/pricing"]]])
    assert (pricing.attempts, pricing.paid, pricing.orders) == (2, 2, 1)
    assert pricing.average_order == 100.0
    assert why([["is", "visit:entry_page", ["/nowhere"]]]).average_order == 0.0
