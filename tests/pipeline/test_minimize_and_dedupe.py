from __future__ import annotations

import msgspec

from clycyo.model import Drop, DropReason, Event
from clycyo.pipeline import process
from clycyo.pipeline.dedupe import dedupe, undo
from clycyo.pipeline.minimize import minimize
from tests.pipeline.factories import make_context, make_hit


def test_minimize_drops_ip_and_user_agent_by_construction() -> None:
    event = minimize(make_hit(ip="203.0.113.9", event_id="e1", props={"a": 1, "b": True}))
    assert "ip" not in Event.__struct_fields__
    assert "user_agent" not in Event.__struct_fields__
    encoded = msgspec.msgpack.encode(event)
    assert b"203.0.113.9" not in encoded
    assert bytes([203, 0, 113, 9]) not in encoded
    assert event.props == {"a": "1", "b": "true"}


def test_minimize_gives_every_event_an_id() -> None:
    one, two = minimize(make_hit()), minimize(make_hit())
    assert one.event_id and two.event_id and one.event_id != two.event_id


def test_same_event_id_twice_is_a_duplicate() -> None:
    ctx = make_context()
    assert isinstance(dedupe(minimize(make_hit(event_id="e1")), ctx), Event)
    again = dedupe(minimize(make_hit(event_id="e1")), ctx)
    assert again == Drop(DropReason.DUPLICATE_EVENT)
    # Another site may use the same id.
    assert isinstance(dedupe(minimize(make_hit(event_id="e1", site_id=2)), ctx), Event)


def money(origin: str, event_id: str) -> Event:
    return minimize(
        make_hit(
            type="event",
            name="payment",
            order_id="o1",
            revenue_amount="10",
            revenue_currency="EUR",
            origin=origin,
            trusted=origin == "server",
            event_id=event_id,
        )
    )


def test_order_rules_server_supersedes_browser() -> None:
    ctx = make_context()
    assert isinstance(dedupe(money("browser", "b1"), ctx), Event)
    assert dedupe(money("browser", "b2"), ctx) == Drop(DropReason.DUPLICATE_ORDER)
    assert isinstance(dedupe(money("server", "s1"), ctx), Event)
    assert dedupe(money("server", "s2"), ctx) == Drop(DropReason.DUPLICATE_ORDER)
    assert dedupe(money("browser", "b3"), ctx) == Drop(DropReason.SUPERSEDED_ORDER)


def test_an_event_dropped_for_its_order_is_not_remembered_as_accepted() -> None:
    """Sent again, it is judged by its order again, not taken for an accepted duplicate."""
    ctx = make_context()
    assert isinstance(dedupe(money("server", "s1"), ctx), Event)
    for _ in range(2):
        assert dedupe(money("browser", "b1"), ctx) == Drop(DropReason.SUPERSEDED_ORDER)
        assert dedupe(money("server", "s2"), ctx) == Drop(DropReason.DUPLICATE_ORDER)
    assert dedupe(money("server", "s1"), ctx) == Drop(DropReason.DUPLICATE_EVENT)


def test_undo_forgets_an_event_whose_write_failed() -> None:
    ctx = make_context()
    event = dedupe(money("server", "s1"), ctx)
    assert isinstance(event, Event)
    undo(event, ctx)
    assert isinstance(dedupe(money("server", "s1"), ctx), Event)


def test_process_runs_every_step_in_order() -> None:
    ctx = make_context()
    result = process(make_hit(event_id="p1", url="https://example.com/x?utm_source=a"), ctx)
    assert isinstance(result, Event)
    assert result.visitor_kind == "hash"
    assert process(make_hit(event_id="p1"), ctx) == Drop(DropReason.DUPLICATE_EVENT)
    assert process(make_hit(type="event", name=""), ctx) == Drop(
        DropReason.INVALID, "name: required for an event"
    )


def copy(origin: str, event_id: str, amount: str | None) -> Event:
    event = money(origin, event_id)
    return msgspec.structs.replace(
        event,
        revenue_amount=amount,
        revenue_currency=None if amount is None else event.revenue_currency,
    )


def test_a_copy_with_money_outranks_a_copy_without() -> None:
    """An order id sent first without revenue does not take the payment's place."""
    ctx = make_context()
    assert isinstance(dedupe(copy("server", "s0", None), ctx), Event)
    assert dedupe(copy("server", "s0b", None), ctx) == Drop(DropReason.DUPLICATE_ORDER)
    assert dedupe(copy("browser", "b0", None), ctx) == Drop(DropReason.SUPERSEDED_ORDER)
    assert isinstance(dedupe(copy("browser", "b1", "20"), ctx), Event)  # money: it replaces
    assert dedupe(copy("server", "s0c", None), ctx) == Drop(DropReason.SUPERSEDED_ORDER)
    assert isinstance(dedupe(copy("server", "s1", "20"), ctx), Event)  # the server's money
    assert dedupe(copy("browser", "b2", "20"), ctx) == Drop(DropReason.SUPERSEDED_ORDER)
    assert dedupe(copy("server", "s2", "20"), ctx) == Drop(DropReason.DUPLICATE_ORDER)


def test_among_copies_alike_in_money_and_origin_one_that_names_a_person_outranks() -> None:
    """Stripe may deliver an invoice's payment, naming nobody, before the Checkout Session's
    copy that names the buyer: the buyer's copy takes the payment's place."""
    ctx = make_context()
    assert isinstance(dedupe(copy("server", "s0", "15"), ctx), Event)
    named = msgspec.structs.replace(copy("server", "s1", "15"), user_id="u_y")
    assert isinstance(dedupe(named, ctx), Event)
    assert dedupe(copy("server", "s2", "15"), ctx) == Drop(DropReason.SUPERSEDED_ORDER)
    again = msgspec.structs.replace(copy("server", "s3", "15"), visitor_id="v")
    assert dedupe(again, ctx) == Drop(DropReason.DUPLICATE_ORDER)
    # Origin and money weigh more: a browser copy naming a person does not replace it.
    browser = msgspec.structs.replace(copy("browser", "b1", "15"), user_id="u_y")
    assert dedupe(browser, ctx) == Drop(DropReason.SUPERSEDED_ORDER)
    ctx = make_context()
    assert isinstance(dedupe(copy("server", "s0", "15"), ctx), Event)
    named = msgspec.structs.replace(copy("server", "s1", None), user_id="u_y")
    assert dedupe(named, ctx) == Drop(DropReason.SUPERSEDED_ORDER)


def test_a_copy_not_kept_that_carries_props_is_handed_on_for_them() -> None:
    """It is a duplicate to the client, but the writer gives the copy kept the props it lacks
    (an `invoice.paid` after the Checkout Session's copy of the same payment): only a copy with
    props is worth handing on."""
    ctx = make_context()
    assert isinstance(dedupe(copy("server", "s1", "15"), ctx), Event)
    same = msgspec.structs.replace(copy("server", "s2", "15"), props={"billing_reason": "x"})
    assert dedupe(same, ctx) == Drop(DropReason.DUPLICATE_ORDER, handed_on=same)
    lower = msgspec.structs.replace(copy("browser", "b1", "15"), props={"coupon": "B"})
    assert dedupe(lower, ctx) == Drop(DropReason.SUPERSEDED_ORDER, handed_on=lower)
    assert dedupe(copy("browser", "b2", "15"), ctx) == Drop(DropReason.SUPERSEDED_ORDER)
    # Not remembered as accepted: sent again, it is handed on again.
    assert dedupe(same, ctx) == Drop(DropReason.DUPLICATE_ORDER, handed_on=same)
