"""The Stripe Checkout hand-off end to end: the SDK's `checkout_reference` in the session, then
Stripe's webhooks, signed by Stripe's own library, to a real `clycyo serve`.

The backend reads the visitor from the signup request's `clycyo_vid` cookie, names it with
`identify`, and passes `checkout_reference(...)` into the Checkout Session. Stripe copies those
parameters into what it later sends: the session's `client_reference_id` and `metadata`, and
`subscription_data` / `payment_intent_data` metadata onto the subscription or payment intent.
The synthetic events here are built from the SDK's output the same way, so a change of key names
on either side breaks the test. A later event that names only the Stripe customer (a renewal) or
only the payment intent (a refund) must still land on the same person.
"""

from __future__ import annotations

import uuid
from typing import Any

from clycyo_sdk import checkout_reference
from tests.integrations import stripe_payloads as sp
from tests.integrations.conftest import StripeSite
from tests.sdk.conftest import CHROME, ClientFactory


def signup_request(visitor: str) -> dict[str, Any]:
    """The WSGI environ of the browser's signup request, with the tracker's cookie."""
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/signup",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_COOKIE": f"theme=dark; clycyo_vid={visitor}",
        "HTTP_USER_AGENT": CHROME,
    }


def delivered(stripe_site: StripeSite, event: dict[str, Any]) -> dict[str, Any]:
    status, answer = stripe_site.deliver(event)
    assert status == 200, answer
    return dict(answer)


def test_subscription_checkout_and_renewal_by_customer_land_on_the_person(
    stripe_site: StripeSite, sync_client: ClientFactory
) -> None:
    visitor, user_id = uuid.uuid4().hex, f"user-{uuid.uuid4().hex[:8]}"
    request = signup_request(visitor)
    clycyo = sync_client(site=stripe_site.site)
    assert clycyo.identify_request(request, user_id, traits={"plan": "pro"})

    reference = checkout_reference(request, user_id=user_id, mode="subscription")
    assert set(reference) == {"client_reference_id", "metadata", "subscription_data"}

    customer, subscription, first_invoice = sp.new_id("cus"), sp.new_id("sub"), sp.new_id("in")
    session = sp.checkout_session(
        mode="subscription",
        amount=1500,
        currency="usd",
        customer=customer,
        reference=reference["client_reference_id"],
        metadata=reference["metadata"],
        invoice=first_invoice,
        subscription=subscription,
    )
    delivered(stripe_site, sp.event("checkout.session.completed", session))
    # Stripe reports the first invoice too, with the subscription's metadata (subscription_data).
    first = sp.invoice(
        first_invoice,
        customer=customer,
        subscription=subscription,
        metadata=reference["subscription_data"]["metadata"],
        billing_reason="subscription_create",
    )
    delivered(stripe_site, sp.event("invoice.paid", first))
    # A month later: the renewal's invoice names only the customer.
    renewal = sp.new_id("in")
    answer = delivered(
        stripe_site, sp.event("invoice.paid", sp.invoice(renewal, customer=customer))
    )
    assert answer["accepted"] == 1

    payments = {event["order_id"]: event for event in stripe_site.events("payment")}
    assert set(payments) == {first_invoice, renewal}  # the first payment once, from two reports
    for payment in payments.values():
        assert (payment["user_id"], payment["visitor_id"]) == (user_id, visitor)
        assert (payment["revenue_amount"], payment["revenue_currency"]) == ("15", "USD")
        assert payment["origin"] == "server"
    (identify,) = [e for e in stripe_site.site.events() if e["type"] == "identify"]
    assert (identify["user_id"], identify["visitor_id"]) == (user_id, visitor)


def test_anonymous_payment_and_its_refund_land_on_the_visitor(
    stripe_site: StripeSite,
) -> None:
    visitor = uuid.uuid4().hex
    # A guest checkout: no user yet, so the visitor id is the reference.
    reference = checkout_reference(signup_request(visitor), mode="payment")
    assert reference["client_reference_id"] == visitor
    assert set(reference) == {"client_reference_id", "metadata", "payment_intent_data"}

    intent, charge = sp.new_id("pi"), sp.new_id("ch")
    session = sp.checkout_session(
        mode="payment",
        amount=4900,
        currency="eur",
        reference=reference["client_reference_id"],
        metadata=reference["metadata"],
        payment_intent=intent,
    )
    delivered(stripe_site, sp.event("checkout.session.completed", session))
    # The refund names the charge and its payment intent, nothing of the visitor.
    refund = sp.new_id("re")
    refunded = sp.charge(
        charge, amount=4900, refunded=1900, refunds=[(refund, 1900)], payment_intent=intent
    )
    delivered(stripe_site, sp.event("charge.refunded", refunded))

    (payment,) = stripe_site.events("payment")
    (refunded_event,) = stripe_site.events("refund")
    assert (payment["order_id"], payment["revenue_amount"]) == (intent, "49")
    assert (refunded_event["order_id"], refunded_event["revenue_amount"]) == (refund, "-19")
    for event in (payment, refunded_event):
        assert (event["visitor_id"], event["user_id"]) == (visitor, None)
