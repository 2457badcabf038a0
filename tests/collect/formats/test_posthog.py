"""PostHog's own Python client, unchanged, and posthog-js bodies, against a real server."""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from typing import Any
from urllib.parse import quote

import posthog
import pytest

from clycyo.collect import limits
from tests.serverproc import Site

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)


def client(site: Site, **options: Any) -> posthog.Posthog:
    return posthog.Posthog(site.secret_key, host=site.url, sync_mode=True, **options)


def test_capture_identify_alias_from_posthog_client(server: Site) -> None:
    ph = client(server, gzip=True)
    signup = str(uuid.uuid4())
    ph.capture("signed up", distinct_id="user-1", properties={"plan": "pro", "n": 2}, uuid=signup)
    ph.capture("$identify", distinct_id="user-1", properties={"$anon_distinct_id": "anon-1"})
    ph.alias(previous_id="anon-2", distinct_id="user-1")
    ph.set(distinct_id="user-1", properties={"email": "a@b.c"})
    events = server.events()
    by_name = {e["name"]: e for e in events}

    event = by_name["signed up"]
    assert (event["event_id"], event["user_id"], event["origin"]) == (signup, "user-1", "server")
    assert event["props"] == {"plan": "pro", "n": "2"}  # PostHog's own $-properties are left out
    identifies = {(e["visitor_id"], e["user_id"]) for e in events if e["type"] == "identify"}
    assert identifies == {(None, "user-1"), ("anon-1", "user-1"), ("anon-2", "user-1")}
    traits = [e["traits"] for e in events if e["traits"]]
    assert traits == [{"email": "a@b.c"}]


def test_the_same_uuid_twice_is_one_event(server: Site) -> None:
    ph = client(server)
    same = str(uuid.uuid4())
    ph.capture("exported", distinct_id="u", uuid=same)
    ph.capture("exported", distinct_id="u", uuid=same)
    body = {"api_key": server.secret_key, "batch": [{"event": "exported", "uuid": same}]}
    status, answer = server.post("/batch/", body)
    assert (status, answer["duplicates"]) == (200, 1)
    assert len(server.events()) == 1


def test_revenue_properties_make_a_money_event(server: Site) -> None:
    ph = client(server)
    props = {"revenue": 12.5, "currency": "gbp", "order_id": "ph-1"}
    ph.capture("purchase", distinct_id="u", properties=props)
    ph.capture("purchase", distinct_id="u", properties=props)  # another uuid, same order
    (event,) = server.events()
    assert (event["revenue_amount"], event["revenue_currency"], event["order_id"]) == (
        "12.5",
        "GBP",
        "ph-1",
    )


def posthog_js_events(site: Site) -> list[dict[str, Any]]:
    common = {
        "token": site.secret_key,
        "$lib": "web",
        "$device_id": "dev-1",
        "distinct_id": "dev-1",
        "$is_identified": False,
        "$session_id": "s-1",
        "$current_url": f"https://{site.site}/docs?utm_source=hn",
        "$referrer": "$direct",
        "$raw_user_agent": CHROME,
    }
    return [
        {
            "event": "$pageview",
            "uuid": str(uuid.uuid4()),
            "properties": {**common, "title": "Docs"},
        },
        {"event": "clicked", "uuid": str(uuid.uuid4()), "properties": {**common, "button": "buy"}},
    ]


def test_posthog_js_bodies_gzip_js_and_base64_form(server: Site) -> None:
    events = posthog_js_events(server)
    body = gzip.compress(json.dumps(events[:1]).encode())
    status, answer = server.server.request(
        "POST", "/e/?compression=gzip-js&ver=1.200", body, {"Content-Type": "text/plain"}
    )
    assert (status, answer["accepted"]) == (200, 1)
    form = "data=" + base64.b64encode(json.dumps(events[1]).encode()).decode()
    status, answer = server.server.request(
        "POST",
        "/i/v0/e/",
        form.encode(),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (status, answer["accepted"]) == (200, 1)
    stored = {e["type"]: e for e in server.events()}
    pageview = stored["pageview"]
    assert (pageview["origin"], pageview["visitor_id"], pageview["user_id"]) == (
        "browser",
        "dev-1",
        None,
    )
    assert (pageview["utm_source"], pageview["title"], pageview["browser"]) == (
        "hn",
        "Docs",
        "Chrome",
    )
    assert stored["event"]["props"] == {"button": "buy"}


def form(data: bytes | str) -> bytes:
    return b"data=" + quote(data, safe="").encode()


def test_a_form_field_of_escaped_json_is_read_as_utf8(server: Site) -> None:
    # `data=` + encodeURIComponent(JSON): a non-ASCII character arrives as escaped UTF-8 bytes.
    event = {"event": "paid €", "distinct_id": "ü-1", "properties": {"title": "Café 🙂"}}
    body = form(json.dumps([{**event, "api_key": server.secret_key}], ensure_ascii=False))
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    status, answer = server.server.request("POST", "/batch/", body, headers)
    assert (status, answer["accepted"]) == (200, 1), answer
    [stored] = server.events()
    assert (stored["name"], stored["user_id"], stored["title"]) == ("paid €", "ü-1", "Café 🙂")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"\xff\xfe", "data: not JSON"),  # bytes that are neither UTF-8 nor base64
        (b'[{"event":"\xff"}]', "data: not JSON"),  # JSON whose text is not UTF-8
        (b"not json", "data: neither JSON nor base64 JSON"),
    ],
)
def test_a_form_field_that_is_not_json_is_a_400_naming_it(
    server: Site, data: bytes, error: str
) -> None:
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": f"Bearer {server.secret_key}",
    }
    status, answer = server.server.request("POST", "/batch/", form(data), headers)
    assert status == 400, answer
    assert answer["error"].startswith(error)


def test_errors(server: Site) -> None:
    status, answer = server.post("/capture/", {"api_key": "sk_nope", "event": "x"})
    assert status == 401 and answer["detail"]
    status, answer = server.post("/capture/", {"event": "x", "distinct_id": "u"})
    assert status == 401
    status, _ = server.post("/batch/", b"\x00\x01 not json")
    assert status == 400
    status, answer = server.post(
        "/capture/", {"api_key": server.secret_key, "distinct_id": "u", "properties": {}}
    )
    assert status == 200 and answer["rejected"][0]["error"] == "name: required for an event"


def capture(site: Site, event: dict[str, Any]) -> tuple[int, Any]:
    return site.post("/capture/", {"api_key": site.secret_key, "distinct_id": "u", **event})


@pytest.mark.parametrize(
    ("event", "error"),
    [
        ({"event": "e", "properties": "str"}, "properties: expected an object, got string"),
        ({"event": {"n": 1}}, "event: expected a string or a number, got object"),
        ({"event": "e", "distinct_id": ["u"]}, "distinct_id: expected a string or a number"),
        ({"event": "e", "uuid": False}, "uuid: expected a string or a number, got boolean"),
        ({"event": "e", "properties": {"$current_url": {}}}, "properties.$current_url: "),
        ({"event": "e", "properties": {"$session_id": [1]}}, "properties.$session_id: "),
        ({"event": "e", "properties": {"$set": "x"}}, "properties.$set: expected an object"),
        ({"event": "e", "properties": {"revenue": [9]}}, "properties.revenue: expected a number"),
        ({"event": "e", "properties": {"$time": "now"}}, "properties.$time: expected epoch"),
        ({"event": "e", "offset": "5"}, "offset: expected whole milliseconds, got string"),
        ({"event": "$identify", "$set": 1}, "$set: expected an object, got number"),
    ],
)
def test_a_field_of_the_wrong_type_rejects_the_event_by_name(
    server: Site, event: dict[str, Any], error: str
) -> None:
    status, answer = capture(server, event)
    assert status == 200, answer
    assert answer["accepted"] == 0
    assert answer["rejected"][0]["error"].startswith(error), answer
    assert server.events() == []


def test_an_inflated_gzip_js_body_too_large_is_a_413(server: Site) -> None:
    big = {"api_key": server.secret_key, "event": "e", "distinct_id": "u"}
    big["properties"] = {"padding": "x" * (3 * 1024 * 1024)}
    status, answer = server.server.request(
        "POST", "/e/?compression=gzip-js", gzip.compress(json.dumps(big).encode()), {}
    )
    assert status == 413, answer
    assert answer["code"] == "too_large"
    assert answer["detail"] == f"inflated body larger than {limits.MAX_INFLATED_BYTES} bytes"


def test_keys_missing_mistyped_or_of_two_sites_are_named(server: Site) -> None:
    other = server.server.add_site()
    batch = [
        {"event": "e", "distinct_id": "u", "api_key": server.secret_key},
        {"event": "e", "distinct_id": "u", "api_key": other.secret_key},
    ]
    status, answer = server.post("/batch/", {"batch": batch})
    assert status == 400
    assert answer["detail"] == "api_key: different keys in one body; send each site's events apart"
    status, answer = server.post("/batch/", {"api_key": {"k": 1}, "batch": batch[:1]})
    assert status == 401
    assert answer["detail"] == "api_key: expected the secret key as a string, got object"
    status, answer = server.post("/batch/", {"batch": [{"event": "e", "distinct_id": "u"}]})
    assert status == 401 and answer["detail"] == "api_key: missing (send the site's secret key)"
    status, answer = server.post("/batch/", {"api_key": server.secret_key, "batch": "e"})
    assert status == 400 and answer["detail"] == "batch: expected a list of events, got string"
    assert server.events() == []


def test_half_an_emoji_in_an_event_is_read_as_a_replacement_character(server: Site) -> None:
    event = {"event": "cut", "distinct_id": "u", "properties": {"title": "\udc00 tea"}}
    status, answer = server.post("/batch/", {"api_key": server.secret_key, "batch": [event]})
    assert (status, answer["accepted"]) == (200, 1), answer
    assert server.events(name="cut")[0]["props"]["title"] == "\ufffd tea"
