"""Segment's and RudderStack's own Python clients, unchanged, against a real `clycyo serve`."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
from typing import Any

import pytest
from rudderstack.analytics.client import Client as RudderClient
from segment.analytics import request as segment_request
from segment.analytics.client import Client as SegmentClient

from tests.serverproc import Site

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def segment(site: Site, **options: Any) -> SegmentClient:
    return SegmentClient(
        write_key=site.secret_key, host=site.url, sync_mode=True, max_retries=0, **options
    )


def by_id(site: Site) -> dict[str, dict[str, Any]]:
    return {e["event_id"]: e for e in site.events()}


def test_track_identify_page_alias_from_segment_client(server: Site) -> None:
    client = segment(server)
    client.track(
        user_id="u1",
        event="Signed Up",
        properties={"plan": "pro", "seats": 3, "trial": True, "tags": ["a", "b"], "gone": None},
        context={"ip": "203.0.113.9", "userAgent": FIREFOX},
        message_id="seg-track",
    )
    client.identify(
        user_id="u1", anonymous_id="anon-1", traits={"email": "a@b.c"}, message_id="seg-id"
    )
    client.page(
        anonymous_id="anon-1",
        name="Pricing",
        properties={"url": f"https://{server.site}/pricing", "title": "Pricing"},
        context={"campaign": {"source": "newsletter", "medium": "email", "name": "spring"}},
        message_id="seg-page",
    )
    client.alias(previous_id="anon-2", user_id="u1", message_id="seg-alias")
    events = by_id(server)

    track = events["seg-track"]
    assert (track["type"], track["name"], track["user_id"]) == ("event", "Signed Up", "u1")
    assert track["origin"] == "server"
    assert track["props"] == {"plan": "pro", "seats": "3", "trial": "true", "tags": '["a","b"]'}
    assert track["browser"] == "Firefox"  # from the forwarded context.userAgent
    identify = events["seg-id"]
    assert (identify["type"], identify["visitor_id"], identify["user_id"]) == (
        "identify",
        "anon-1",
        "u1",
    )
    assert identify["traits"] == {"email": "a@b.c"}
    page = events["seg-page"]
    assert page["type"] == "pageview" and page["page"] == "/pricing"
    assert (page["utm_source"], page["utm_medium"], page["utm_campaign"]) == (
        "newsletter",
        "email",
        "spring",
    )
    assert page["props"]["name"] == "Pricing"
    alias = events["seg-alias"]
    assert (alias["type"], alias["visitor_id"], alias["user_id"]) == ("identify", "anon-2", "u1")


def test_order_completed_is_a_money_event_counted_once(server: Site) -> None:
    client = segment(server, gzip=True)
    order = {"order_id": "ord-7", "total": 49.9, "currency": "eur"}
    client.track(user_id="u1", event="Order Completed", properties=order, message_id="o-1")
    # Same order sent again under another message id (a second code path reporting it).
    client.track(user_id="u1", event="Order Completed", properties=order, message_id="o-2")
    orders = server.events(name="Order%20Completed")
    assert len(orders) == 1
    assert (orders[0]["revenue_amount"], orders[0]["revenue_currency"]) == ("49.9", "EUR")
    assert orders[0]["order_id"] == "ord-7"
    # Before payment an order's revenue is no money; a refund's total is negative.
    client.track(user_id="u1", event="Checkout Started", properties={**order, "revenue": 49.9})
    client.track(user_id="u1", event="Order Refunded", properties={**order, "total": 9.9})
    (started,) = server.events(name="Checkout%20Started")
    assert started["revenue_amount"] is None and started["order_id"] is None
    (refund,) = server.events(name="Order%20Refunded")
    assert (refund["revenue_amount"], refund["order_id"]) == ("-9.9", "ord-7")


def test_a_resent_batch_counts_once(server: Site) -> None:
    messages = [
        {
            "type": "track",
            "event": "Report Exported",
            "userId": "u9",
            "messageId": f"resend-{i}",
            "timestamp": "2026-01-05T10:00:00.000Z",
        }
        for i in range(3)
    ]
    first = segment_request.post(server.secret_key, host=server.url, batch=messages)
    second = segment_request.post(server.secret_key, host=server.url, gzip=True, batch=messages)
    assert first.status_code == second.status_code == 200
    assert first.json()["accepted"] == 3
    assert second.json()["duplicates"] == 3
    assert len(server.events(name="Report%20Exported")) == 3


def test_rudderstack_client_gzip_batches(server: Site) -> None:
    client = RudderClient(write_key=server.secret_key, host=server.url, sync_mode=True, gzip=True)
    client.track(user_id="r1", event="Project Created", properties={"kind": "demo"})
    client.identify(user_id="r1", anonymous_id="ranon", traits={"name": "R"})
    events = server.events()
    assert {e["name"] for e in events} == {"Project Created", "identify"}
    assert all(e["origin"] == "server" for e in events)


def test_browser_library_events_are_browser_origin(server: Site) -> None:
    body = {
        "writeKey": server.secret_key,
        "batch": [
            {
                "type": "page",
                "anonymousId": "web-1",
                "messageId": "ajs-1",
                "context": {
                    "library": {"name": "analytics.js", "version": "5"},
                    "page": {"url": f"https://{server.site}/", "referrer": "https://news.example/"},
                    "screen": {"width": 1280, "height": 800},
                    "locale": "de-DE",
                    "userAgent": FIREFOX,
                },
                "properties": {},
            }
        ],
    }
    status, answer = server.post("/v1/batch", body)
    assert status == 200 and answer["accepted"] == 1
    (event,) = server.events()
    assert (event["origin"], event["referrer_host"], event["screen"]) == (
        "browser",
        "news.example",
        "1280x800",
    )


def test_single_message_paths_and_basic_auth(server: Site) -> None:
    token = base64.b64encode(f"{server.secret_key}:".encode()).decode()
    body = gzip.compress(json.dumps({"userId": "u5", "event": "Pinged", "messageId": "p"}).encode())
    status, answer = server.server.request(
        "POST",
        "/v1/track",
        body,
        {"Authorization": f"Basic {token}", "Content-Encoding": "gzip"},
    )
    assert (status, answer["accepted"]) == (200, 1)
    assert server.events()[0]["name"] == "Pinged"


def test_times_with_a_space_between_date_and_time_are_read(server: Site) -> None:
    # RFC 3339 (5.6) lets a space stand for the "T"; sentAt then places the event in time.
    message = {
        "type": "track",
        "event": "Spaced",
        "userId": "u6",
        "timestamp": "2026-11-20 07:59:00Z",
        "sentAt": "2026-11-20 08:00:00Z",
    }
    status, answer = server.post("/v1/batch", {"writeKey": server.secret_key, "batch": [message]})
    assert (status, answer["accepted"], answer["rejected"]) == (200, 1, [])
    [event] = server.events()
    received_s = dt.datetime.fromisoformat(event["received_at"]).timestamp()
    assert abs(received_s - dt.datetime.fromisoformat(event["time"]).timestamp() - 60) < 0.01


def test_errors(server: Site) -> None:
    status, answer = server.post("/v1/batch", {"writeKey": "sk_wrong", "batch": []})
    assert status == 401 and answer["error"] and answer["code"] == "unauthorized"
    status, answer = server.post("/v1/batch", b"{not json", headers={"Authorization": "x"})
    assert status == 400 and "body" in answer["error"]
    status, answer = server.post("/v1/batch", {"writeKey": server.secret_key, "batch": {}})
    assert status == 400
    too_many = [{"type": "track", "event": "x", "userId": "u"}] * 501
    status, _ = server.post("/v1/batch", {"writeKey": server.secret_key, "batch": too_many})
    assert status == 413
    # A bad message is reported (and quarantined); the others in the batch are kept.
    batch = [{"type": "track", "userId": "u"}, {"type": "track", "event": "Ok", "userId": "u"}]
    status, answer = server.post("/v1/batch", {"writeKey": server.secret_key, "batch": batch})
    assert status == 200 and answer["accepted"] == 1
    assert answer["rejected"] == [{"index": 0, "error": "name: required for an event"}]


def test_segment_client_reads_the_error_of_a_bad_key(server: Site) -> None:
    with pytest.raises(segment_request.APIError) as caught:
        segment_request.post("sk_nope", host=server.url, batch=[])
    assert caught.value.status == 401
    assert caught.value.code == "unauthorized"


def basic_auth(site: Site) -> dict[str, str]:
    token = base64.b64encode(f"{site.secret_key}:".encode()).decode()
    return {"Authorization": f"Basic {token}", "Content-Type": "application/json"}


def track(site: Site, message: dict[str, Any]) -> tuple[int, Any]:
    return site.server.request("POST", "/v1/track", json.dumps(message).encode(), basic_auth(site))


@pytest.mark.parametrize("total", ["1e999999999", "-1e999999999", 1e308, "1e-999999999", "NaN"])
def test_an_impossible_refund_total_is_rejected_by_name(server: Site, total: Any) -> None:
    properties = {"total": total, "currency": "EUR", "order_id": "r1"}
    status, answer = track(
        server, {"event": "Order Refunded", "userId": "u", "properties": properties}
    )
    assert status == 200, answer
    assert answer["accepted"] == 0
    assert answer["rejected"][0]["error"].startswith("revenue.amount: "), answer


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ({"userId": {"a": 1}}, "userId: expected a string or a number, got object"),
        ({"userId": "u", "anonymousId": True}, "anonymousId: expected a string or a number"),
        ({"userId": "u", "messageId": [1]}, "messageId: expected a string or a number"),
        ({"userId": "u", "event": {"n": 1}}, "event: expected a string or a number, got object"),
        ({"userId": "u", "properties": "plan=pro"}, "properties: expected an object, got string"),
        ({"userId": "u", "context": [1]}, "context: expected an object, got array"),
        ({"userId": "u", "context": {"page": "x"}}, "context.page: expected an object"),
        ({"userId": "u", "context": {"page": {"url": False}}}, "context.page.url: expected"),
        ({"userId": "u", "context": {"ip": ["1.2.3.4"]}}, "context.ip: expected a string"),
        ({"userId": "u", "context": {"campaign": {"source": {}}}}, "context.campaign.source:"),
        ({"userId": "u", "properties": {"revenue": {"v": 1}}}, "properties.revenue: expected"),
        ({"userId": "u", "timestamp": {"t": 1}}, "timestamp: expected RFC 3339 text"),
    ],
)
def test_a_field_of_the_wrong_type_rejects_the_message_by_name(
    server: Site, message: dict[str, Any], error: str
) -> None:
    status, answer = track(server, {"event": "e", **message})
    assert status == 200, answer
    assert answer["accepted"] == 0
    assert answer["rejected"][0]["error"].startswith(error), answer
    assert server.events() == []


def test_a_batch_keeps_its_good_messages_beside_a_mistyped_one(server: Site) -> None:
    batch = [
        {"type": "track", "event": "Ok", "userId": "u"},
        {"type": "identify", "userId": "u", "traits": "vip"},
    ]
    status, answer = server.post("/v1/batch", {"writeKey": server.secret_key, "batch": batch})
    assert status == 200 and answer["accepted"] == 1
    assert answer["rejected"] == [{"index": 1, "error": "traits: expected an object, got string"}]


def test_half_an_emoji_in_a_message_is_read_as_a_replacement_character(server: Site) -> None:
    # JSON.stringify writes a lone surrogate escape for half an emoji; JSON's grammar allows it.
    batch = [
        {
            "type": "track",
            "event": "Cut",
            "userId": "u",
            "messageId": "half-1",
            "properties": {"title": "tea \ud83d"},
        },
        {"type": "track", "event": "Whole", "userId": "u", "messageId": "half-2"},
    ]
    status, answer = server.post("/v1/batch", {"writeKey": server.secret_key, "batch": batch})
    assert (status, answer["accepted"]) == (200, 2), answer
    assert by_id(server)["half-1"]["props"]["title"] == "tea \ufffd"
