"""How a Stripe fact becomes a Clycyo server event: the names, the ids, the person, the money.

The names are the revenue ledger's vocabulary (documented in `docs/stripe.md`); every Stripe
handler builds its events here, so ids and props follow one rule. An event id derives from the
Stripe event id, or from the Stripe object when several Stripe events report the same fact (a
refund, a completed Checkout Session), so a redelivery is a duplicate. This module builds dicts
in the wire shape; it stores and looks up nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from clycyo.integrations.stripe_links import Person
from clycyo.integrations.stripe_money import amount_text
from clycyo.integrations.stripe_objects import Metadata, StripeEvent

PAYMENT = "payment"
REFUND = "refund"
PAYMENT_FAILED = "payment.failed"
CHECKOUT_COMPLETED = "checkout.completed"
SUBSCRIPTION_CREATED = "subscription.created"
SUBSCRIPTION_UPDATED = "subscription.updated"
SUBSCRIPTION_CANCELED = "subscription.canceled"
# The tracker's visitor ids are 128 random bits in hex; anything else in client_reference_id is
# taken for the product's user id (the SDK's helper puts the user id there when it knows it).
_VISITOR_ID = re.compile(r"[0-9a-f]{32}")


def person_from(metadata: Metadata | None, client_reference_id: str | None = None) -> Person:
    metadata = metadata or {}
    user_id = metadata.get("clycyo_user_id") or None
    visitor_id = metadata.get("clycyo_visitor_id") or None
    if client_reference_id and client_reference_id not in (user_id, visitor_id):
        if _VISITOR_ID.fullmatch(client_reference_id):
            visitor_id = visitor_id or client_reference_id
        else:
            user_id = user_id or client_reference_id
    return Person(user_id, visitor_id)


def server_event(
    stripe_event: StripeEvent,
    name: str,
    person: Person,
    props: Mapping[str, str | int | bool | None],
    *,
    key: str | None = None,
    money: tuple[int, str] | None = None,
    order_id: str | None = None,
) -> dict[str, Any]:
    """One Clycyo event in wire shape. Its id is the Stripe event's, or made of `key` for a
    fact that several Stripe events may report."""
    event_id = f"stripe:{key or stripe_event.id}"
    event: dict[str, Any] = {
        "type": "event",
        "name": name,
        "event_id": event_id,
        "user_id": person.user_id,
        "visitor_id": person.visitor_id,
        "timestamp": stripe_event.created * 1000,
        "origin": "server",
        "props": {"stripe_event": stripe_event.type}
        | {k: v for k, v in props.items() if v is not None},
    }
    if money is not None:
        minor_units, currency = money
        event["revenue"] = {"amount": amount_text(minor_units, currency), "currency": currency}
        event["order_id"] = order_id
    return event
