"""Translating Stripe events without HTTP: who the person is, which names and order ids."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from clycyo.integrations.stripe_emit import person_from
from clycyo.integrations.stripe_events import StripeTranslator
from clycyo.integrations.stripe_links import Person, StripeLinks
from clycyo.integrations.stripe_objects import StripeEvent
from tests.integrations import stripe_payloads as sp


def decoded(event: dict[str, Any]) -> StripeEvent:
    return msgspec.json.decode(json.dumps(event), type=StripeEvent)


@pytest.fixture
def translator(tmp_path: Path) -> StripeTranslator:
    return StripeTranslator(StripeLinks.in_folder(tmp_path))


def test_person_from_reference_and_metadata() -> None:
    visitor = "ab" * 16
    assert person_from({}, visitor) == Person(None, visitor)
    assert person_from({}, "user-9") == Person("user-9", None)
    assert person_from({"clycyo_visitor_id": visitor}, "user-9") == Person("user-9", visitor)
    assert person_from({"clycyo_user_id": "u", "clycyo_visitor_id": visitor}, "u") == Person(
        "u", visitor
    )
    assert not person_from(None)


def test_subscription_checkout_without_invoice_leaves_the_money_to_the_invoice(
    translator: StripeTranslator,
) -> None:
    session = sp.checkout_session(mode="subscription", subscription="sub_1", reference="u1")
    result = translator.translate(decoded(sp.event("checkout.session.completed", session)), 1)
    assert result is not None
    assert [e["name"] for e in result.events] == ["checkout.completed"]


def test_unpaid_checkout_and_free_invoice_carry_no_money(translator: StripeTranslator) -> None:
    session = sp.checkout_session(payment_intent="pi_1", payment_status="unpaid")
    result = translator.translate(decoded(sp.event("checkout.session.completed", session)), 1)
    assert result is not None and [e["name"] for e in result.events] == ["checkout.completed"]
    free = sp.invoice("in_0", customer="cus_1", amount=0)
    result = translator.translate(decoded(sp.event("invoice.paid", free)), 1)
    assert result is not None and result.events == [] and result.ignored


def test_refund_follows_the_payment_intent_of_a_guest_checkout(
    translator: StripeTranslator,
) -> None:
    session = sp.checkout_session(payment_intent="pi_9", reference="user-5")
    translator.translate(decoded(sp.event("checkout.session.completed", session)), 1)
    refund = sp.charge("ch_9", amount=4900, refunded=900, refunds=None, payment_intent="pi_9")
    result = translator.translate(decoded(sp.event("charge.refunded", refund)), 1)
    assert result is not None
    (event,) = result.events
    assert (event["user_id"], event["revenue"], event["order_id"]) == (
        "user-5",
        {"amount": "-9.00", "currency": "EUR"},
        "ch_9@900",
    )


def test_unhandled_types(translator: StripeTranslator) -> None:
    assert translator.translate(decoded(sp.event("customer.created", {"id": "cus_1"})), 1) is None
