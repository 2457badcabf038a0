"""Stripe webhook events shaped as Stripe sends them (only the fields Clycyo reads, and a few
it must ignore), for the webhook tests."""

from __future__ import annotations

import itertools
import time
from typing import Any

_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}_test{next(_ids):06d}"


def event(kind: str, obj: dict[str, Any], **data: Any) -> dict[str, Any]:
    return {
        "id": new_id("evt"),
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "type": kind,
        "data": {"object": obj, **data},
    }


def checkout_session(
    *,
    mode: str = "payment",
    amount: int = 4900,
    currency: str = "eur",
    customer: str | None = None,
    reference: str | None = None,
    metadata: dict[str, str] | None = None,
    invoice: str | None = None,
    subscription: str | None = None,
    payment_intent: str | None = None,
    payment_status: str = "paid",
) -> dict[str, Any]:
    return {
        "id": new_id("cs"),
        "object": "checkout.session",
        "mode": mode,
        "payment_status": payment_status,
        "status": "complete",
        "amount_total": amount,
        "currency": currency,
        "customer": customer,
        "client_reference_id": reference,
        "metadata": metadata or {},
        "payment_intent": payment_intent,
        "invoice": invoice,
        "subscription": subscription,
        "customer_details": {"email": "buyer@example.com"},
    }


def invoice(
    invoice_id: str,
    *,
    customer: str,
    amount: int = 1500,
    currency: str = "usd",
    subscription: str | None = None,
    metadata: dict[str, str] | None = None,
    billing_reason: str = "subscription_cycle",
    new_api: bool = False,
    payment_intent: str | None = None,
) -> dict[str, Any]:
    """An invoice; `new_api` shapes it as 2025 API versions do (the subscription under
    `parent`, the payment intent only in the list of `payments`)."""
    details = {"metadata": metadata or {}}
    body: dict[str, Any] = {
        "id": invoice_id,
        "object": "invoice",
        "customer": customer,
        "amount_paid": amount,
        "amount_due": amount,
        "currency": currency,
        "billing_reason": billing_reason,
        "attempt_count": 1,
        "metadata": {},
        "lines": {"object": "list", "data": [], "has_more": False},
    }
    if new_api:
        body["parent"] = {
            "type": "subscription_details",
            "subscription_details": {**details, "subscription": subscription},
        }
        body["payments"] = invoice_payments(invoice_id, amount, currency, payment_intent)
    else:
        body["subscription"] = subscription
        body["subscription_details"] = details
        body["payment_intent"] = payment_intent
    return body


def invoice_payments(
    invoice_id: str, amount: int, currency: str, payment_intent: str | None
) -> dict[str, Any]:
    """An invoice's `payments` (2025 API versions): a failed attempt, then the one that paid."""
    now = int(time.time())

    def one(intent: str, status: str, default: bool) -> dict[str, Any]:
        paid = status == "paid"
        return {
            "id": new_id("inpay"),
            "object": "invoice_payment",
            "amount_paid": amount if paid else None,
            "amount_requested": amount,
            "created": now,
            "currency": currency,
            "invoice": invoice_id,
            "is_default": default,
            "livemode": False,
            "payment": {"type": "payment_intent", "payment_intent": intent},
            "status": status,
            "status_transitions": {
                "canceled_at": None if paid else now,
                "paid_at": now if paid else None,
            },
        }

    data = (
        []
        if payment_intent is None
        else [
            one(new_id("pi"), "canceled", False),
            one(payment_intent, "paid", True),
        ]
    )
    return {
        "object": "list",
        "data": data,
        "has_more": False,
        "total_count": len(data),
        "url": f"/v1/invoice_payments?invoice={invoice_id}",
    }


def charge(
    charge_id: str,
    *,
    amount: int,
    refunded: int,
    refunds: list[tuple[str, int]] | None,
    currency: str = "eur",
    customer: str | None = None,
    payment_intent: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_refunded": refunded,
        "refunded": refunded == amount,
        "currency": currency,
        "customer": customer,
        "payment_intent": payment_intent,
        "metadata": {},
    }
    if refunds is not None:
        body["refunds"] = {
            "object": "list",
            "has_more": False,
            "data": [
                {"id": rid, "object": "refund", "amount": amt, "status": "succeeded"}
                for rid, amt in refunds
            ],
        }
    return body


def price(
    price_id: str, amount: int, *, interval: str = "month", nickname: str = ""
) -> dict[str, Any]:
    return {
        "id": price_id,
        "object": "price",
        "nickname": nickname or None,
        "lookup_key": None,
        "unit_amount": amount,
        "currency": "usd",
        "recurring": {"interval": interval, "interval_count": 1},
        "product": "prod_x",
    }


def subscription(
    sub_id: str,
    *,
    customer: str,
    prices: list[dict[str, Any]],
    status: str = "active",
    metadata: dict[str, str] | None = None,
    cancel_at_period_end: bool = False,
) -> dict[str, Any]:
    return {
        "id": sub_id,
        "object": "subscription",
        "customer": customer,
        "status": status,
        "currency": "usd",
        "metadata": metadata or {},
        "cancel_at_period_end": cancel_at_period_end,
        "cancellation_details": {"reason": "cancellation_requested", "feedback": "too_expensive"},
        "items": {
            "object": "list",
            "data": [{"id": new_id("si"), "price": p, "quantity": 1} for p in prices],
        },
    }


def items(prices: list[dict[str, Any]]) -> dict[str, Any]:
    return {"object": "list", "data": [{"price": p, "quantity": 1} for p in prices]}
