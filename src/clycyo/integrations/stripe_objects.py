"""The parts of Stripe's webhook events that Clycyo reads, as lenient typed shapes.

Only the fields used are declared; everything else Stripe sends is ignored, so new API versions
do not break decoding. Fields that moved between API versions are declared in both places (an
invoice's subscription metadata sits in `subscription_details` before 2025 and under `parent`
after; its payment intent at `payment_intent` before, in its list of `payments` after). Fields
that Stripe may expand into objects are typed `Any` and read through `ref`. This module holds
shapes only; `stripe_events.py` gives them meaning.
"""

from __future__ import annotations

from typing import Any

import msgspec

Metadata = dict[str, str]


def ref(value: Any) -> str | None:
    """The id of a reference that is either an id or an expanded object."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


class Recurring(msgspec.Struct):
    interval: str | None = None
    interval_count: int = 1


class Price(msgspec.Struct):
    id: str | None = None
    nickname: str | None = None
    lookup_key: str | None = None
    unit_amount: int | None = None
    currency: str | None = None
    recurring: Recurring | None = None


class Plan(msgspec.Struct):
    """The pre-2018 shape of a price, still sent beside it."""

    id: str | None = None
    nickname: str | None = None
    amount: int | None = None
    currency: str | None = None
    interval: str | None = None
    interval_count: int = 1


class SubscriptionItem(msgspec.Struct):
    price: Price | None = None
    plan: Plan | None = None
    quantity: int | None = None


class ItemList(msgspec.Struct):
    data: list[SubscriptionItem] = []


class CancellationDetails(msgspec.Struct):
    reason: str | None = None
    feedback: str | None = None


class Subscription(msgspec.Struct):
    id: str
    customer: Any = None
    status: str | None = None
    currency: str | None = None
    metadata: Metadata | None = None
    items: ItemList = msgspec.field(default_factory=ItemList)
    cancel_at_period_end: bool = False
    cancellation_details: CancellationDetails | None = None


class SubscriptionDetails(msgspec.Struct):
    metadata: Metadata | None = None
    subscription: Any = None  # 2025 API versions, under the invoice's `parent`


class InvoiceParent(msgspec.Struct):
    subscription_details: SubscriptionDetails | None = None


class PaymentMade(msgspec.Struct):
    """What an invoice payment was made with (its `payment`)."""

    payment_intent: Any = None


class InvoicePayment(msgspec.Struct):
    status: str | None = None  # open, paid or canceled
    is_default: bool = False
    payment: PaymentMade | None = None


class InvoicePaymentList(msgspec.Struct):
    data: list[InvoicePayment] = []


class Invoice(msgspec.Struct):
    id: str
    customer: Any = None
    subscription: Any = None  # before 2025 API versions
    payment_intent: Any = None  # before 2025 API versions
    amount_paid: int = 0
    amount_due: int = 0
    currency: str = "usd"
    billing_reason: str | None = None
    attempt_count: int | None = None
    metadata: Metadata | None = None
    subscription_details: SubscriptionDetails | None = None
    parent: InvoiceParent | None = None
    payments: InvoicePaymentList | None = None  # 2025 API versions: the payment intents


class Refund(msgspec.Struct):
    id: str
    amount: int = 0
    currency: str | None = None
    status: str | None = None
    reason: str | None = None


class RefundList(msgspec.Struct):
    data: list[Refund] = []
    has_more: bool = False


class Charge(msgspec.Struct):
    id: str
    amount: int = 0
    amount_refunded: int = 0
    currency: str = "usd"
    customer: Any = None
    payment_intent: Any = None
    invoice: Any = None  # before 2025 API versions
    metadata: Metadata | None = None
    refunds: RefundList | None = None  # only expanded by default before 2022-11-15


class CheckoutSession(msgspec.Struct):
    id: str
    mode: str | None = None
    payment_status: str | None = None
    amount_total: int | None = None
    currency: str | None = None
    customer: Any = None
    client_reference_id: str | None = None
    metadata: Metadata | None = None
    payment_intent: Any = None
    invoice: Any = None
    subscription: Any = None


class EventData(msgspec.Struct):
    object: msgspec.Raw
    previous_attributes: dict[str, Any] | None = None


class StripeEvent(msgspec.Struct):
    id: str
    type: str
    created: int
    data: EventData
