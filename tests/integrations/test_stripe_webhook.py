"""The Stripe webhook end to end: events signed by Stripe's own library, over HTTP, to a real
`clycyo serve`, read back through the events API."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import stripe

from tests.integrations import stripe_payloads as sp
from tests.integrations.conftest import StripeSite

VISITOR = "0123456789abcdef0123456789abcdef"  # the shape of the tracker's visitor ids


def test_one_off_checkout_payment_is_one_payment_however_often_delivered(
    stripe_site: StripeSite,
) -> None:
    intent = sp.new_id("pi")
    session = sp.checkout_session(
        customer=sp.new_id("cus"),
        reference=VISITOR,
        metadata={"clycyo_visitor_id": VISITOR},
        payment_intent=intent,
    )
    delivery = sp.event("checkout.session.completed", session)
    status, answer = stripe_site.deliver(delivery)
    assert status == 200 and answer["accepted"] == 2, answer
    status, answer = stripe_site.deliver(delivery)  # Stripe retries
    assert (status, answer["accepted"], answer["duplicates"]) == (200, 0, 2)
    # The same payment again under another event id (a second delivery path).
    stripe_site.deliver(sp.event("checkout.session.completed", session))

    (payment,) = stripe_site.events("payment")
    assert (payment["revenue_amount"], payment["revenue_currency"]) == ("49", "EUR")
    assert (payment["order_id"], payment["visitor_id"], payment["origin"]) == (
        intent,
        VISITOR,
        "server",
    )
    assert payment["event_id"] == f"stripe:{delivery['id']}"
    assert payment["props"]["checkout_session"] == session["id"]
    assert len(stripe_site.events("checkout.completed")) == 1


def test_subscription_checkout_then_invoice_then_renewal_by_customer_only(
    stripe_site: StripeSite,
) -> None:
    customer, sub, first_invoice = sp.new_id("cus"), sp.new_id("sub"), sp.new_id("in")
    meta = {"clycyo_user_id": "user-42", "clycyo_visitor_id": VISITOR}
    session = sp.checkout_session(
        mode="subscription",
        amount=1500,
        currency="usd",
        customer=customer,
        reference="user-42",
        metadata=meta,
        invoice=first_invoice,
        subscription=sub,
    )
    # invoice.paid may arrive before or after the session; both name the same invoice.
    stripe_site.deliver(
        sp.event(
            "invoice.paid",
            sp.invoice(
                first_invoice,
                customer=customer,
                subscription=sub,
                metadata=meta,
                billing_reason="subscription_create",
                new_api=True,
            ),
        )
    )
    stripe_site.deliver(sp.event("checkout.session.completed", session))
    renewal = sp.new_id("in")
    status, answer = stripe_site.deliver(
        sp.event("invoice.paid", sp.invoice(renewal, customer=customer, subscription=None))
    )
    assert (status, answer["accepted"]) == (200, 1)

    payments = {p["order_id"]: p for p in stripe_site.events("payment")}
    assert set(payments) == {first_invoice, renewal}
    assert payments[first_invoice]["props"]["billing_reason"] == "subscription_create"
    # 2025 API versions name the subscription under the invoice's `parent` only.
    assert payments[first_invoice]["props"]["subscription"] == sub
    assert payments[renewal]["revenue_amount"] == "15"
    assert (payments[renewal]["user_id"], payments[renewal]["visitor_id"]) == ("user-42", VISITOR)


@pytest.mark.parametrize("new_api", [False, True], ids=["2024-api", "2025-api"])
def test_a_refund_and_a_session_of_an_invoices_payment_intent_join_its_person(
    stripe_site: StripeSite, new_api: bool
) -> None:
    """An invoice names its payment intent at `payment_intent`, or, in 2025 API versions, only
    in its list of `payments`: either way a later charge or Checkout Session that names only
    that payment intent belongs to the invoice's person."""
    invoice, intent, user = sp.new_id("in"), sp.new_id("pi"), f"user-{sp.new_id('u')}"
    paid = sp.invoice(
        invoice,
        customer=sp.new_id("cus"),
        subscription=sp.new_id("sub"),
        metadata={"clycyo_user_id": user},
        billing_reason="manual",
        new_api=new_api,
        payment_intent=intent,
    )
    api_version = "2025-03-31.basil" if new_api else "2024-06-20"

    def deliver(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        status, answer = stripe_site.deliver({**sp.event(kind, obj), "api_version": api_version})
        assert status == 200, answer
        return dict(answer)

    assert deliver("invoice.paid", paid)["accepted"] == 1
    charge, refund = sp.new_id("ch"), sp.new_id("re")
    refunded = sp.charge(
        charge, amount=1500, refunded=500, refunds=[(refund, 500)], payment_intent=intent
    )
    assert deliver("charge.refunded", refunded)["accepted"] == 1
    session = sp.checkout_session(
        amount=1500, currency="usd", invoice=invoice, payment_intent=intent
    )
    answer = deliver("checkout.session.completed", session)
    assert (answer["accepted"], answer["duplicates"]) == (1, 1), answer

    (payment,) = stripe_site.events("payment")
    (refunded_event,) = stripe_site.events("refund")
    (completed,) = stripe_site.events("checkout.completed")
    assert (payment["order_id"], payment["user_id"]) == (invoice, user)
    assert (refunded_event["order_id"], refunded_event["user_id"]) == (refund, user)
    assert refunded_event["props"]["payment_intent"] == intent
    assert completed["user_id"] == user


API_2025 = "2025-03-31.basil"


def deliver_2025(stripe_site: StripeSite, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    status, answer = stripe_site.deliver({**sp.event(kind, obj), "api_version": API_2025})
    assert status == 200, answer
    return dict(answer)


@pytest.mark.parametrize("session_first", [True, False], ids=["session-first", "invoice-first"])
def test_a_first_payments_props_do_not_depend_on_which_copy_came_first(
    stripe_site: StripeSite, session_first: bool
) -> None:
    """The Checkout Session's copy of a subscription's first payment and the `invoice.paid`
    copy are one payment, stored with the props of both (the session's winning where both
    say something), in whichever order Stripe delivers them."""
    customer, sub, invoice = sp.new_id("cus"), sp.new_id("sub"), sp.new_id("in")
    user = f"user-{sp.new_id('u')}"
    session = sp.checkout_session(
        mode="subscription",
        amount=1500,
        currency="usd",
        customer=customer,
        reference=user,
        invoice=invoice,
        subscription=sub,
    )
    paid = sp.invoice(
        invoice,
        customer=customer,
        subscription=sub,
        billing_reason="subscription_create",
        new_api=True,
        payment_intent=sp.new_id("pi"),
    )
    deliveries = [("checkout.session.completed", session), ("invoice.paid", paid)]
    answers = [
        deliver_2025(stripe_site, kind, obj)
        for kind, obj in (deliveries if session_first else deliveries[::-1])
    ]
    # The copy not kept is still a duplicate to Stripe's eyes.
    assert sum(a["duplicates"] for a in answers) == (1 if session_first else 0), answers

    (payment,) = stripe_site.events("payment")
    assert (payment["order_id"], payment["user_id"]) == (invoice, user)
    assert payment["props"] == {
        "stripe_event": "checkout.session.completed",
        "mode": "subscription",
        "checkout_session": session["id"],
        "invoice": invoice,
        "subscription": sub,
        "billing_reason": "subscription_create",
    }
    # The ledger (which reads the narrow copy of events) sees the same props.
    site = stripe_site.site
    query = {
        "site": site.site,
        "metrics": ["revenue"],
        "dimensions": ["event:props:billing_reason"],
        "date_range": "7d",
    }
    status, answer = site.post("/api/v1/query", query, secret=True)
    assert status == 200, answer
    assert [(r["dimensions"], r["metrics"]) for r in answer["results"]] == [
        (["subscription_create"], [15.0])
    ]


@pytest.mark.parametrize("named_by", ["invoice.paid", "checkout.session.completed"])
def test_a_2025_refund_names_the_invoice_its_payment_intent_paid(
    stripe_site: StripeSite, named_by: str
) -> None:
    """2025 API versions name no invoice on a charge: a refund's `invoice` is the one an
    earlier delivery named its payment intent in (an invoice's `payments`, or a Checkout
    Session that made an invoice)."""
    invoice, intent, charge = sp.new_id("in"), sp.new_id("pi"), sp.new_id("ch")
    if named_by == "invoice.paid":
        obj = sp.invoice(invoice, customer=sp.new_id("cus"), new_api=True, payment_intent=intent)
    else:
        obj = sp.checkout_session(invoice=invoice, payment_intent=intent, reference="u1")
    deliver_2025(stripe_site, named_by, obj)
    # As 2025 versions send it: no `invoice`, and no list of refunds (only the total).
    refunded = sp.charge(charge, amount=4900, refunded=900, refunds=None, payment_intent=intent)
    assert "invoice" not in refunded
    assert deliver_2025(stripe_site, "charge.refunded", refunded)["accepted"] == 1

    (refund,) = stripe_site.events("refund")
    assert (refund["order_id"], refund["revenue_amount"]) == (f"{charge}@900", "-9")
    assert (refund["props"]["payment_intent"], refund["props"]["invoice"]) == (intent, invoice)


def test_partial_refunds_are_deltas_counted_once(stripe_site: StripeSite) -> None:
    charge_id, intent = sp.new_id("ch"), sp.new_id("pi")
    first_refund, second_refund = sp.new_id("re"), sp.new_id("re")
    first = sp.event(
        "charge.refunded",
        sp.charge(
            charge_id,
            amount=5000,
            refunded=1000,
            refunds=[(first_refund, 1000)],
            payment_intent=intent,
        ),
    )
    second = sp.event(
        "charge.refunded",
        sp.charge(
            charge_id,
            amount=5000,
            refunded=1500,
            refunds=[(second_refund, 500), (first_refund, 1000)],
            payment_intent=intent,
        ),
    )
    for delivery in (first, second, second, first):
        status, _ = stripe_site.deliver(delivery)
        assert status == 200
    refunds = {r["order_id"]: r["revenue_amount"] for r in stripe_site.events("refund")}
    assert refunds == {first_refund: "-10", second_refund: "-5"}


def test_refunds_without_a_refund_list_use_the_refunded_total(stripe_site: StripeSite) -> None:
    charge_id = sp.new_id("ch")
    deliveries = [
        sp.event("charge.refunded", sp.charge(charge_id, amount=9000, refunded=total, refunds=None))
        for total in (2000, 4500)
    ]
    for delivery in (deliveries[0], deliveries[1], deliveries[1], deliveries[0]):
        assert stripe_site.deliver(delivery)[0] == 200
    refunds = sorted(r["revenue_amount"] for r in stripe_site.events("refund"))
    assert refunds == ["-20", "-25"]


def test_plan_change_and_churn(stripe_site: StripeSite) -> None:
    customer, sub = sp.new_id("cus"), sp.new_id("sub")
    basic = sp.price("price_basic", 1000, nickname="Basic")
    pro = sp.price("price_pro", 9600, interval="year", nickname="Pro")
    meta = {"clycyo_user_id": "user-7"}
    created = sp.subscription(sub, customer=customer, prices=[basic], metadata=meta)
    stripe_site.deliver(sp.event("customer.subscription.created", created))
    upgraded = sp.subscription(sub, customer=customer, prices=[pro])
    stripe_site.deliver(
        sp.event(
            "customer.subscription.updated",
            upgraded,
            previous_attributes={"items": sp.items([basic])},
        )
    )
    status, answer = stripe_site.deliver(
        sp.event(
            "customer.subscription.updated",
            upgraded,
            previous_attributes={"current_period_end": 1, "latest_invoice": "in_x"},
        )
    )
    assert status == 200 and answer["accepted"] == 0 and answer["ignored"]
    stripe_site.deliver(
        sp.event("customer.subscription.deleted", {**upgraded, "status": "canceled"})
    )

    (created_event,) = stripe_site.events("subscription.created")
    assert created_event["props"]["plan"] == "Basic" and created_event["props"]["mrr"] == "10.00"
    (updated,) = stripe_site.events("subscription.updated")
    props = updated["props"]
    assert (props["change"], props["old_plan"], props["new_plan"]) == ("downgrade", "Basic", "Pro")
    assert (props["old_amount"], props["new_amount"], props["mrr"]) == ("10.00", "96.00", "8.00")
    assert updated["user_id"] == "user-7"  # the subscription's customer, linked at creation
    (canceled,) = stripe_site.events("subscription.canceled")
    assert canceled["props"]["cancellation_reason"] == "cancellation_requested"
    assert canceled["user_id"] == "user-7"


def test_failed_payment_and_currencies(stripe_site: StripeSite) -> None:
    customer = sp.new_id("cus")
    failed = sp.invoice(sp.new_id("in"), customer=customer, amount=2599)
    stripe_site.deliver(sp.event("invoice.payment_failed", failed))
    (event,) = stripe_site.events("payment.failed")
    assert (event["props"]["amount"], event["revenue_amount"]) == ("25.99", None)
    for currency, minor in (("jpy", 500), ("kwd", 1234)):
        session = sp.checkout_session(
            amount=minor, currency=currency, payment_intent=sp.new_id("pi"), reference="u1"
        )
        stripe_site.deliver(sp.event("checkout.session.completed", session))
    amounts = {(p["revenue_currency"], p["revenue_amount"]) for p in stripe_site.events("payment")}
    assert amounts == {("JPY", "500"), ("KWD", "1.234")}


def test_signatures(stripe_site: StripeSite) -> None:
    delivery = sp.event("customer.created", {"id": sp.new_id("cus"), "object": "customer"})
    payload = json.dumps(delivery)
    now = int(time.time())
    good = stripe.WebhookSignature.generate_signature_header(
        payload, stripe_site.signing_secret, timestamp=now
    )
    # The header this suite makes is one Stripe's own verifier accepts.
    stripe.Webhook.construct_event(payload, good, stripe_site.signing_secret)

    status, answer = stripe_site.deliver(delivery, secret="whsec_not_the_sites")
    assert status == 400 and "signature" in answer["error"]
    status, answer = stripe_site.deliver(delivery, timestamp=now - 600)
    assert status == 400 and "timestamp" in answer["error"]
    status, answer = stripe_site.deliver(delivery, header="")
    assert status == 400 and "missing" in answer["error"]
    status, answer = stripe_site.deliver(delivery, header="t=abc,v1=00")
    assert status == 400
    # While a secret is rolled Stripe signs with both; one match is enough.
    rolled = good.replace("v1=", "v1=" + "0" * 64 + ",v1=")
    status, answer = stripe_site.deliver(delivery, header=rolled)
    assert (status, answer) == (200, {"ignored": "customer.created", "event": delivery["id"]})
    assert stripe_site.events() == []


def test_unknown_site_and_site_without_secret(stripe_site: StripeSite) -> None:
    server = stripe_site.site.server
    status, _ = server.request("POST", "/api/webhooks/stripe/nope.localhost", b"{}", {})
    assert status == 404
    plain = server.add_site()
    status, answer = server.request("POST", f"/api/webhooks/stripe/{plain.site}", b"{}", {})
    assert status == 400 and "signing secret" in answer["error"]


def test_an_erased_persons_stripe_customer_no_longer_leads_back_to_them(
    stripe_site: StripeSite,
) -> None:
    customer, user = sp.new_id("cus"), f"user-{sp.new_id('u')}"
    session = sp.checkout_session(customer=customer, reference=user, payment_intent=sp.new_id("pi"))
    assert stripe_site.deliver(sp.event("checkout.session.completed", session))[0] == 200
    site = stripe_site.site
    status, erased = site.server.request(
        "DELETE",
        f"/api/v1/persons/{user}?site={site.site}",
        headers={"Authorization": f"Bearer {site.secret_key}"},
    )
    assert (status, erased["deleted"], erased["stripe_links"]) == (200, 2, 2)  # customer, intent

    # A later payment of the same customer counts, but names nobody: the link went too.
    renewal = sp.new_id("in")
    stripe_site.deliver(sp.event("invoice.paid", sp.invoice(renewal, customer=customer)))
    (payment,) = stripe_site.events("payment")
    assert payment["order_id"] == renewal
    assert (payment["user_id"], payment["visitor_id"]) == (None, None)
    status, _ = site.server.get(
        f"/api/v1/persons/{user}/timeline?site={site.site}", bearer=site.secret_key
    )
    assert status == 404
