"""Stripe events as Clycyo server events: payments, refunds, failed payments, subscriptions.

The names and props emitted are part of the revenue ledger's vocabulary (`docs/stripe.md`):
- `payment`: a positive money event; `order_id` is the invoice id when the payment belongs to an
  invoice (every subscription payment), else the payment intent id. A one-off Checkout payment and
  the `invoice.paid` of the same invoice therefore share a name and an order id and are one.
- `refund`: a negative money event per refund; `order_id` is the refund id, or, where Stripe no
  longer lists the refunds, `{charge}@{total refunded}` for the part not yet counted. Its
  `invoice` is the charge's, or, where the charge no longer names it (2025 API versions), the
  invoice a delivery named its payment intent in.
- `payment.failed`, `checkout.completed`, `subscription.created|updated|canceled`: no money.
Event ids derive from the Stripe event (or the refund), so a redelivery is a duplicate.

The person comes from the object's metadata (`clycyo_user_id`, `clycyo_visitor_id`), a Checkout
Session's `client_reference_id`, or a link remembered from an earlier delivery (`StripeLinks`),
which also remembers the invoice of each payment intent. This module reads and writes those
links, and nothing else: no HTTP, no ingest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from clycyo.integrations.stripe_emit import (
    CHECKOUT_COMPLETED,
    PAYMENT,
    PAYMENT_FAILED,
    REFUND,
    person_from,
    server_event,
)
from clycyo.integrations.stripe_links import Person, StripeLinks
from clycyo.integrations.stripe_money import amount_text
from clycyo.integrations.stripe_objects import Charge, CheckoutSession, Invoice, StripeEvent, ref
from clycyo.integrations.stripe_subscriptions import subscription_events

Props = dict[str, str | int | bool | None]
_COUNTED_REFUND_STATUSES = frozenset({"succeeded", "pending"})


@dataclass
class Translation:
    events: list[dict[str, Any]] = field(default_factory=list)
    ignored: str | None = None  # why a handled event type produced nothing this time


def _payment_intents(invoice: Invoice) -> list[str]:
    """The payment intents of an invoice's `payments` (2025 API versions, which name none at
    `payment_intent`), the paid ones first, then the default one."""
    payments = sorted(
        invoice.payments.data if invoice.payments else [],
        key=lambda p: (p.status != "paid", not p.is_default),
    )
    intents = [ref(p.payment.payment_intent) for p in payments if p.payment is not None]
    return list(dict.fromkeys(i for i in intents if i))


class StripeTranslator:
    def __init__(self, links: StripeLinks) -> None:
        self.links = links
        self.handlers: dict[str, Callable[[StripeEvent, int], Translation]] = {
            "checkout.session.completed": self._checkout,
            "checkout.session.async_payment_succeeded": self._checkout,
            "invoice.paid": self._invoice_paid,
            "invoice.payment_succeeded": self._invoice_paid,
            "invoice.payment_failed": self._invoice_failed,
            "charge.refunded": self._charge_refunded,
            "customer.subscription.created": self._subscription,
            "customer.subscription.updated": self._subscription,
            "customer.subscription.deleted": self._subscription,
        }

    def translate(self, event: StripeEvent, site_id: int) -> Translation | None:
        """The events for one Stripe event; None for a type Clycyo does not handle.

        Raises `msgspec.ValidationError` when the object does not have the expected shape.
        """
        handler = self.handlers.get(event.type)
        return None if handler is None else handler(event, site_id)

    def _person(self, site_id: int, known: Person, stripe_ids: list[str | None]) -> Person:
        """Who: the delivery's own metadata (remembered for the ids), completed by the person an
        earlier delivery linked to one of the ids."""
        if known:
            self.links.remember(site_id, stripe_ids, known)
        if known.user_id and known.visitor_id:
            return known
        linked = self.links.person(site_id, stripe_ids)
        return Person(known.user_id or linked.user_id, known.visitor_id or linked.visitor_id)

    def _checkout(self, event: StripeEvent, site_id: int) -> Translation:
        session = msgspec.json.decode(event.data.object, type=CheckoutSession)
        invoice, intent = ref(session.invoice), ref(session.payment_intent)
        subscription, customer = ref(session.subscription), ref(session.customer)
        known = person_from(session.metadata, session.client_reference_id)
        person = self._person(site_id, known, [customer, subscription, intent])
        if invoice:
            self.links.remember_invoice(site_id, invoice, [intent])
        props: Props = {
            "mode": session.mode,
            "checkout_session": session.id,
            "invoice": invoice,
            "payment_intent": intent,
            "subscription": subscription,
        }
        result = Translation()
        if event.type == "checkout.session.completed":
            status = {"payment_status": session.payment_status}
            result.events.append(
                server_event(
                    event, CHECKOUT_COMPLETED, person, props | status, key=f"{session.id}:completed"
                )
            )
        # A subscription's payment is its invoice's: without the invoice id, `invoice.paid`
        # will report it, and counting it here as well would count it twice.
        order_id = invoice or (intent if session.mode == "payment" else None)
        amount = session.amount_total or 0
        if session.payment_status == "paid" and amount > 0 and order_id and session.currency:
            money = (amount, session.currency.upper())
            result.events.append(
                server_event(event, PAYMENT, person, props, money=money, order_id=order_id)
            )
        return result

    def _invoice(self, event: StripeEvent, site_id: int) -> tuple[Invoice, Person, Props]:
        invoice = msgspec.json.decode(event.data.object, type=Invoice)
        details = invoice.subscription_details
        if invoice.parent is not None and invoice.parent.subscription_details is not None:
            details = invoice.parent.subscription_details
        metadata = {**(invoice.metadata or {}), **((details and details.metadata) or {})}
        subscription = ref(invoice.subscription) or ref(details and details.subscription)
        customer = ref(invoice.customer)
        intents = [ref(invoice.payment_intent), *_payment_intents(invoice)]
        person = self._person(site_id, person_from(metadata), [customer, subscription, *intents])
        self.links.remember_invoice(site_id, invoice.id, intents)
        props: Props = {
            "invoice": invoice.id,
            "subscription": subscription,
            "billing_reason": invoice.billing_reason,
        }
        return invoice, person, props

    def _invoice_paid(self, event: StripeEvent, site_id: int) -> Translation:
        invoice, person, props = self._invoice(event, site_id)
        if invoice.amount_paid <= 0:
            return Translation(ignored="nothing was paid (a free or fully credited invoice)")
        money = (invoice.amount_paid, invoice.currency.upper())
        return Translation(
            [server_event(event, PAYMENT, person, props, money=money, order_id=invoice.id)]
        )

    def _invoice_failed(self, event: StripeEvent, site_id: int) -> Translation:
        invoice, person, props = self._invoice(event, site_id)
        currency = invoice.currency.upper()
        props |= {
            "amount": amount_text(invoice.amount_due, currency),
            "currency": currency,
            "attempt_count": invoice.attempt_count,
        }
        return Translation([server_event(event, PAYMENT_FAILED, person, props)])

    def _charge_refunded(self, event: StripeEvent, site_id: int) -> Translation:
        charge = msgspec.json.decode(event.data.object, type=Charge)
        intent, customer = ref(charge.payment_intent), ref(charge.customer)
        person = self._person(site_id, person_from(charge.metadata), [customer, intent])
        currency = charge.currency.upper()
        props: Props = {
            "charge": charge.id,
            "payment_intent": intent,
            # 2025 API versions name no invoice on a charge: it is known from its payment intent.
            "invoice": ref(charge.invoice) or self.links.invoice_of(site_id, intent),
        }
        listed = charge.refunds
        counted = [
            r for r in (listed.data if listed else []) if r.status in _COUNTED_REFUND_STATUSES
        ]
        complete = listed is not None and not listed.has_more
        if complete and sum(r.amount for r in counted) == charge.amount_refunded:
            self.links.record_refunds(site_id, charge.id, [(r.id, r.amount) for r in counted])
            refunds = [(r.id, r.amount, r.reason) for r in counted]
        else:
            delta = self.links.refund_delta(site_id, charge.id, charge.amount_refunded)
            refunds = [] if delta is None else [(delta[0], delta[1], None)]
        events = [
            server_event(
                event,
                REFUND,
                person,
                props | {"refund_reason": reason},
                key=f"refund:{key}",  # one refund, whichever delivery reports it
                money=(-amount, currency),
                order_id=key,
            )
            for key, amount, reason in refunds
            if amount > 0
        ]
        return Translation(events, None if events else "the refunds were counted already")

    def _subscription(self, event: StripeEvent, site_id: int) -> Translation:
        def person_for(known: Person, stripe_ids: list[str | None]) -> Person:
            return self._person(site_id, known, stripe_ids)

        events, ignored = subscription_events(event, person_for)
        return Translation(events, ignored)
