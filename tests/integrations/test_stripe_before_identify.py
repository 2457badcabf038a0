"""A Stripe payment that arrives before the browser says who it is still joins that person.

Stripe's webhook often comes first: it names the product's user (the completed checkout's
`client_reference_id`, or the subscription's `clycyo_user_id` metadata) but no visitor, because
the tracker's `identify` is sent from the page the buyer lands on afterwards, or only at the next
sign-in. Once the browser identifies, the payment must join that person: in the person's
timeline, beside the browser's pageviews, and in revenue by the person's first-touch channel.
Everything goes over real HTTP to a real `clycyo serve`: the webhook signed by Stripe's own
library, the browser's events with the public key as the tracker sends them.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from tests.integrations import stripe_payloads as sp
from tests.integrations.conftest import StripeSite

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
LANDING = "/?utm_source=newsletter&utm_medium=email&utm_campaign=spring"
CHANNEL = "Email"  # what the landing's UTM medium makes of the visit


def pay(stripe_site: StripeSite, kind: str, user_id: str, *, created_s: int) -> str:
    """Deliver the webhook of a payment made at `created_s`, naming only the user; returns the
    payment's order id."""
    customer = sp.new_id("cus")
    if kind == "checkout.session.completed":
        order_id = sp.new_id("pi")
        obj = sp.checkout_session(
            amount=4900,
            currency="usd",
            customer=customer,
            reference=user_id,
            payment_intent=order_id,
        )
    else:
        order_id = sp.new_id("in")
        obj = sp.invoice(
            order_id,
            customer=customer,
            amount=4900,
            subscription=sp.new_id("sub"),
            metadata={"clycyo_user_id": user_id},
            billing_reason="subscription_create",
        )
    status, answer = stripe_site.deliver({**sp.event(kind, obj), "created": created_s})
    assert status == 200 and answer["accepted"] >= 1, answer
    return order_id


def browse(stripe_site: StripeSite, visitor: str, user_id: str, *, at_ms: int) -> None:
    """What the tracker sends: a landing from a newsletter and a second page, then, in a request
    of its own (after the sign-in), `identify`."""
    site = stripe_site.site
    base = f"https://{site.site}"
    pageviews: list[dict[str, Any]] = [
        {"type": "pageview", "url": base + LANDING, "timestamp": at_ms},
        {"type": "pageview", "url": base + "/pricing", "timestamp": at_ms + 20_000},
    ]
    identify = {"type": "identify", "user_id": user_id, "url": base + "/welcome"}
    for batch in (pageviews, [{**identify, "timestamp": at_ms + 40_000}]):
        body = {
            "key": site.public_key,
            "sent_at": int(time.time() * 1000),
            "batch": [{"visitor_id": visitor, "event_id": uuid.uuid4().hex, **e} for e in batch],
        }
        headers = {"Origin": base, "User-Agent": CHROME}
        status, answer = site.post("/api/collect", body, headers=headers)
        assert status == 200 and answer["accepted"] == len(batch), answer
        # Read back, so that the server has loaded the pageviews (an anonymous visit, apart from
        # the payment's person) before the identify arrives.
        assert len(site.events(name="pageview")) == 2


def timeline(stripe_site: StripeSite, person: str) -> dict[str, Any]:
    site = stripe_site.site
    status, body = site.server.get(
        f"/api/v1/persons/{person}/timeline?site={site.site}", bearer=site.secret_key
    )
    assert status == 200, body
    return dict(body)


def revenue_by(stripe_site: StripeSite, dimension: str) -> dict[str, list[Any]]:
    site = stripe_site.site
    query = {
        "site": site.site,
        "metrics": ["revenue", "orders", "visitors"],
        "date_range": "7d",
        "dimensions": [dimension],
        "filters": [["is", "event:name", ["payment"]]],
    }
    status, body = site.post("/api/v1/query", query, secret=True)
    assert status == 200, body
    return {row["dimensions"][0]: row["metrics"] for row in body["results"]}


@pytest.mark.parametrize("kind", ["invoice.paid", "checkout.session.completed"])
@pytest.mark.parametrize(
    "browsed", ["before the payment", "after the payment"], ids=["browsed-before", "browsed-after"]
)
def test_a_payment_before_the_browsers_identify_joins_the_person_and_channel(
    stripe_site: StripeSite, kind: str, browsed: str
) -> None:
    visitor, user_id = uuid.uuid4().hex, f"user-{uuid.uuid4().hex[:8]}"
    now_s = int(time.time())
    # Either the buyer browsed before paying and the tracker's batch arrives late (its events
    # keep their own times), or the buyer pays first (the webhook comes at once) and first
    # visits the site with the browser, and signs in, ten minutes later.
    if browsed == "before the payment":
        paid_at_s, browsed_at_ms = now_s, (now_s - 15 * 60) * 1000
    else:
        paid_at_s, browsed_at_ms = now_s - 10 * 60, (now_s - 60) * 1000
    order_id = pay(stripe_site, kind, user_id, created_s=paid_at_s)
    paid = stripe_site.events("payment")
    assert [(p["user_id"], p["visitor_id"]) for p in paid] == [(user_id, None)]
    # No visit of that person is known yet.
    assert revenue_by(stripe_site, "first_touch:channel") == {"(none)": [49.0, 1, 1]}

    browse(stripe_site, visitor, user_id, at_ms=browsed_at_ms)

    found = timeline(stripe_site, user_id)
    assert found["person"]["user_id"] == user_id
    assert found["person"]["visitor_ids"] == [visitor]
    browser = [("pageview", "browser"), ("pageview", "browser"), ("identify", "browser")]
    money = [("payment", "server")]
    if kind == "checkout.session.completed":
        money.insert(0, ("checkout.completed", "server"))
    expected = browser + money if browsed == "before the payment" else money + browser
    assert [(e["name"], e["origin"]) for e in found["events"]] == expected  # in time order
    # The browser's id names the same person, payment included.
    assert "payment" in [e["name"] for e in timeline(stripe_site, visitor)["events"]]

    assert revenue_by(stripe_site, "first_touch:channel") == {CHANNEL: [49.0, 1, 1]}
    assert revenue_by(stripe_site, "first_touch:utm_campaign") == {"spring": [49.0, 1, 1]}
    if browsed == "before the payment":
        assert revenue_by(stripe_site, "last_touch:channel") == {CHANNEL: [49.0, 1, 1]}
    (payment,) = stripe_site.events("payment")
    assert payment["order_id"] == order_id


def test_an_invoice_paid_before_its_checkout_session_joins_the_sessions_person(
    stripe_site: StripeSite,
) -> None:
    """Stripe does not order its deliveries: a subscription's first `invoice.paid` may come
    before the `checkout.session.completed` that names the buyer. The invoice then names nobody;
    the session's copy of the same payment, which names the person, takes its place."""
    visitor, user_id = uuid.uuid4().hex, f"user-{uuid.uuid4().hex[:8]}"
    now_s = int(time.time())
    browse(stripe_site, visitor, user_id, at_ms=(now_s - 15 * 60) * 1000)
    customer, subscription, invoice = sp.new_id("cus"), sp.new_id("sub"), sp.new_id("in")
    paid = sp.invoice(
        invoice,
        customer=customer,
        amount=1500,
        subscription=subscription,
        billing_reason="subscription_create",
    )
    status, answer = stripe_site.deliver({**sp.event("invoice.paid", paid), "created": now_s})
    assert (status, answer["accepted"]) == (200, 1), answer
    [alone] = stripe_site.events("payment")
    assert (alone["user_id"], alone["visitor_id"]) == (None, None)

    session = sp.checkout_session(
        mode="subscription",
        amount=1500,
        currency="usd",
        customer=customer,
        reference=user_id,
        invoice=invoice,
        subscription=subscription,
    )
    completed = {**sp.event("checkout.session.completed", session), "created": now_s + 1}
    status, answer = stripe_site.deliver(completed)
    assert (status, answer["accepted"], answer["duplicates"]) == (200, 2, 0), answer

    (payment,) = stripe_site.events("payment")
    assert (payment["order_id"], payment["user_id"], payment["revenue_amount"]) == (
        invoice,
        user_id,
        "15",
    )
    assert payment["event_id"] == f"stripe:{completed['id']}"
    # The session's copy keeps what only the invoice said.
    assert payment["props"]["billing_reason"] == "subscription_create"
    assert payment["props"]["stripe_event"] == "checkout.session.completed"
    found = timeline(stripe_site, user_id)
    assert sorted((e["name"], e["origin"]) for e in found["events"]) == [
        ("checkout.completed", "server"),
        ("identify", "browser"),
        ("pageview", "browser"),
        ("pageview", "browser"),
        ("payment", "server"),
    ]
    assert revenue_by(stripe_site, "first_touch:channel") == {CHANNEL: [15.0, 1, 1]}
    assert revenue_by(stripe_site, "first_touch:utm_campaign") == {"spring": [15.0, 1, 1]}

    # Delivered again, either is a duplicate now, and the payment stays the person's.
    for again in (completed, {**sp.event("invoice.paid", paid), "created": now_s}):
        status, answer = stripe_site.deliver(again)
        assert status == 200 and answer["accepted"] == 0, answer
    (payment,) = stripe_site.events("payment")
    assert payment["user_id"] == user_id
    assert revenue_by(stripe_site, "first_touch:channel") == {CHANNEL: [15.0, 1, 1]}
