"""`POST /api/collect` over real HTTP, case by case as CONTRACT §2 describes it."""

from __future__ import annotations

import gzip
import json
import time
import uuid
from typing import Any

import pytest

from clycyo.collect import limits
from tests.serverproc import Site, clycyo

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def browser_headers(site: Site, **extra: str) -> dict[str, str]:
    return {"Origin": f"https://{site.site}", "User-Agent": CHROME, **extra}


def pageview(site: Site, path: str = "/", **fields: Any) -> dict[str, Any]:
    return {"type": "pageview", "url": f"https://{site.site}{path}", **fields}


def uid() -> str:
    return uuid.uuid4().hex


def test_single_event_with_public_key(server: Site) -> None:
    body = {"key": server.public_key, **pageview(server, "/hello", event_id=uid())}
    status, answer = server.post("/api/collect", body, headers=browser_headers(server))
    assert status == 200
    assert answer == {"accepted": 1, "duplicates": 0, "ignored": 0, "rejected": []}
    [stored] = server.events()
    assert stored["url"] == f"https://{server.site}/hello"
    assert stored["origin"] == "browser"
    assert stored["type"] == "pageview"


def test_batch_as_text_plain_like_send_beacon(server: Site) -> None:
    body = {
        "key": server.public_key,
        "sent_at": int(time.time() * 1000),
        "batch": [
            pageview(server, "/a"),
            {"name": "signup_click", "url": f"https://{server.site}/a"},
        ],
    }
    status, answer = server.post(
        "/api/collect",
        json.dumps(body).encode(),
        headers=browser_headers(server, **{"Content-Type": "text/plain;charset=UTF-8"}),
    )
    assert status == 200, answer
    assert answer["accepted"] == 2
    assert sorted(e["name"] for e in server.events()) == ["pageview", "signup_click"]


def test_gzip_body(server: Site) -> None:
    body = gzip.compress(json.dumps({"batch": [{"name": "job_done"}] * 3}).encode())
    status, answer = server.post(
        "/api/collect", body, secret=True, headers={"Content-Encoding": "gzip"}
    )
    assert status == 200, answer
    assert answer["accepted"] == 3


def test_broken_gzip_is_a_400(server: Site) -> None:
    status, answer = server.post(
        "/api/collect", b"\x1f\x8bnot gzip", secret=True, headers={"Content-Encoding": "gzip"}
    )
    assert status == 400
    assert "gzip" in answer["error"]


def test_unreadable_body_is_a_400_with_a_reason(server: Site) -> None:
    status, answer = server.post("/api/collect", b"{not json", secret=True)
    assert status == 400
    assert answer["error"] == "body: JSON is malformed: object keys must be strings (byte 1)"


def test_bad_keys_are_401(server: Site) -> None:
    status, _ = server.post("/api/collect", {"key": "pk_nope", **pageview(server)})
    assert status == 401
    status, _ = server.server.post("/api/collect", {"name": "x"}, bearer="sk_wrong")
    assert status == 401
    status, _ = server.post("/api/collect", pageview(server))  # no key at all
    assert status == 401


def test_public_key_only_from_the_sites_origins(server: Site) -> None:
    body = {"key": server.public_key, **pageview(server)}
    for origin in (
        f"http://{server.site}:8080",
        f"https://www.{server.site}",
        f"https://app.{server.site}",
    ):
        status, _ = server.post(
            "/api/collect", body, headers={"Origin": origin, "User-Agent": CHROME}
        )
        assert status == 200, origin
    status, answer = server.post(
        "/api/collect", body, headers={"Origin": "https://evil.example", "User-Agent": CHROME}
    )
    assert status == 403
    assert "origin" in answer["error"]


def test_public_key_cannot_report_another_sites_pages(server: Site) -> None:
    body = {"key": server.public_key, "type": "pageview", "url": "https://other.example/x"}
    status, answer = server.post("/api/collect", body, headers={"User-Agent": CHROME})
    assert status == 200
    assert answer["rejected"] == [{"index": 0, "error": f"url: not a page of {server.site}"}]


def test_cors_preflight_for_json(server: Site) -> None:
    origin = f"https://{server.site}"
    status, _ = server.server.request(
        "OPTIONS",
        "/api/collect",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert status == 204
    import urllib.request

    request = urllib.request.Request(
        server.url + "/api/collect", method="OPTIONS", headers={"Origin": origin}
    )
    with urllib.request.urlopen(request) as response:
        assert response.headers["Access-Control-Allow-Origin"] == origin
        assert "POST" in response.headers["Access-Control-Allow-Methods"]
        assert "Content-Type" in response.headers["Access-Control-Allow-Headers"]
    request = urllib.request.Request(
        server.url + "/api/collect", method="OPTIONS", headers={"Origin": "https://evil.example"}
    )
    with urllib.request.urlopen(request) as response:
        assert response.headers["Access-Control-Allow-Origin"] is None


def test_post_answers_carry_cors_for_the_site(server: Site) -> None:
    import urllib.request

    body = json.dumps({"key": server.public_key, **pageview(server)}).encode()
    request = urllib.request.Request(
        server.url + "/api/collect", data=body, method="POST", headers=browser_headers(server)
    )
    with urllib.request.urlopen(request) as response:
        assert response.headers["Access-Control-Allow-Origin"] == f"https://{server.site}"


def test_per_event_errors_name_the_field_and_keep_the_valid_ones(server: Site) -> None:
    batch = [
        {"name": "ok_1"},
        {"name": 42},
        {"type": "pageview"},
        {"name": "x" * (limits.MAX_NAME_CHARS + 1)},
        {"name": "money", "revenue": {"amount": "ten", "currency": "EUR"}},
        {"name": "ok_2", "props": {"nested": {"no": 1}}},
        {"name": "ok_3", "props": {"plan": "team", "seats": 3, "trial": False}},
        {"name": "money", "revenue": {"amount": "10", "currency": "EUT"}},
    ]
    status, answer = server.post("/api/collect", {"batch": batch}, secret=True)
    assert status == 200
    assert answer["accepted"] == 2
    errors = {r["index"]: r["error"] for r in answer["rejected"]}
    assert errors[1].startswith("name: expected")
    assert errors[2] == "url: required for a pageview"
    assert errors[3].startswith("name: expected") and "length" in errors[3]
    assert errors[4] == "revenue.amount: not a decimal number"
    assert errors[5] == "props.nested: expected bool | int | float | str, got object"
    assert errors[7] == "revenue.currency: not an ISO 4217 currency code"
    assert set(errors) == {1, 2, 3, 4, 5, 7}
    stored = {e["name"]: e for e in server.events()}
    assert set(stored) == {"ok_1", "ok_3"}
    assert stored["ok_3"]["props"] == {"plan": "team", "seats": "3", "trial": "false"}


def test_props_and_traits_errors_name_the_key(server: Site) -> None:
    many = {f"k{i}": i for i in range(limits.MAX_PROPS + 1)}
    batch = [
        {"name": "long", "props": {"plan": "x" * (limits.MAX_PROP_VALUE_CHARS + 1)}},
        {"name": "typed", "props": {"plan": "team", "seats": [1, 2]}},
        {"name": "key", "props": {"k" * (limits.MAX_PROP_KEY_CHARS + 1): 1}},
        {"name": "many", "props": many},
        {"name": "traits", "type": "identify", "user_id": "u1", "visitor_id": "v1", "traits": many},
        {"name": "ok", "props": {"plan": "team"}},
    ]
    status, answer = server.post("/api/collect", {"batch": batch}, secret=True)
    assert status == 200
    assert answer["accepted"] == 1
    errors = {r["index"]: r["error"] for r in answer["rejected"]}
    limit = limits.MAX_PROPS
    assert errors == {
        0: f"props.plan: expected str of length <= {limits.MAX_PROP_VALUE_CHARS}",
        1: "props.seats: expected bool | int | float | str, got array",
        2: f'props["{"k" * 40}…"]: key expected str of length <= {limits.MAX_PROP_KEY_CHARS}',
        3: f"props.k{limit}: more than {limit} keys in props",
        4: f"traits.k{limit}: more than {limit} keys in traits",
    }


def test_rejected_events_are_quarantined_with_their_reason(server: Site) -> None:
    marker = uid()
    event = {"name": 7, "event_id": marker, "context": {"ip": "198.51.100.77"}}
    status, _ = server.post("/api/collect", {"batch": [event]}, secret=True)
    assert status == 200
    deadline = time.time() + 10
    while time.time() < deadline:
        listing = json.loads(
            clycyo("quarantine", "list", "--json", "--limit", "500", data=server.data_dir)
        )
        mine = [e for e in listing if e["site"] == server.site]
        if mine:
            break
        time.sleep(0.1)
    [entry] = mine
    assert entry["error"].startswith("name: expected")
    assert entry["payload"]["event_id"] == marker
    assert "ip" not in entry["payload"]["context"]


def test_too_large_body_and_batch_are_413(server: Site) -> None:
    status, answer = server.post(
        "/api/collect", b"{" + b" " * (limits.MAX_BODY_BYTES + 1) + b"}", secret=True
    )
    assert status == 413
    assert "body" in answer["error"]
    batch = [{"name": "x"}] * (limits.MAX_BATCH_EVENTS + 1)
    status, answer = server.post("/api/collect", {"batch": batch}, secret=True)
    assert status == 413
    assert answer["error"] == f"batch: more than {limits.MAX_BATCH_EVENTS} events; split it"


def test_gzip_bomb_is_refused(server: Site) -> None:
    bomb = gzip.compress(b"[" + b" " * (limits.MAX_INFLATED_BYTES + 10) + b"]")
    status, _ = server.post("/api/collect", bomb, secret=True, headers={"Content-Encoding": "gzip"})
    assert status == 413


def test_same_event_id_twice_counts_once(server: Site) -> None:
    event = {"name": "signup", "event_id": uid(), "user_id": "u1"}
    assert server.post("/api/collect", event, secret=True)[1]["accepted"] == 1
    again = server.post("/api/collect", {"batch": [event, event]}, secret=True)[1]
    assert again["accepted"] == 0
    assert again["duplicates"] == 2
    assert len(server.events(name="signup")) == 1


def test_order_id_server_copy_supersedes_the_browsers(server: Site) -> None:
    order = {
        "name": "purchase",
        "order_id": "o-1",
        "revenue": {"amount": "49.00", "currency": "EUR"},
    }
    browser = {"key": server.public_key, **order, "url": f"https://{server.site}/thanks"}
    assert server.post("/api/collect", browser, headers=browser_headers(server))[1]["accepted"] == 1
    server_copy = {**order, "revenue": {"amount": "49.50", "currency": "EUR"}, "user_id": "u7"}
    assert server.post("/api/collect", server_copy, secret=True)[1]["accepted"] == 1
    late_browser = {**browser, "event_id": uid()}
    answer = server.post("/api/collect", late_browser, headers=browser_headers(server))[1]
    assert answer["duplicates"] == 1
    assert server.post("/api/collect", server_copy, secret=True)[1]["duplicates"] == 1
    [stored] = server.events(name="purchase")
    assert stored["origin"] == "server"
    assert stored["revenue_amount"] == "49.5"
    assert stored["revenue_currency"] == "EUR"


def test_clock_skew_is_corrected_with_sent_at(server: Site) -> None:
    now_ms = int(time.time() * 1000)
    skew_ms = 3 * 3600 * 1000  # the client's clock is three hours fast
    body = {
        "key": server.public_key,
        "sent_at": now_ms + skew_ms,
        "batch": [pageview(server, "/skew", timestamp=now_ms + skew_ms - 60_000)],
    }
    assert server.post("/api/collect", body, headers=browser_headers(server))[0] == 200
    [stored] = server.events()
    stored_ms = _epoch_ms(stored["time"])
    assert abs(stored_ms - (now_ms - 60_000)) < 5_000


def test_future_time_becomes_received_time_and_rfc3339_is_accepted(server: Site) -> None:
    body = {"name": "later", "timestamp": "2999-01-01T00:00:00Z"}
    assert server.post("/api/collect", body, secret=True)[1]["accepted"] == 1
    [stored] = server.events()
    assert stored["time"] == stored["received_at"]


def test_rfc3339_times_may_have_a_space_between_date_and_time(server: Site) -> None:
    # RFC 3339 (5.6) lets a space stand for the "T", in timestamp and sent_at alike.
    import datetime as dt

    day = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)

    def spaced(clock: str) -> str:
        return f"{day:%Y-%m-%d} {clock}"

    made = {"name": "made", "timestamp": spaced("08:00:00.250Z")}
    assert server.post("/api/collect", made, secret=True)[1]["accepted"] == 1
    own = {"name": "own", "timestamp": spaced("07:59:00Z"), "sent_at": spaced("09:00:00+01:00")}
    # A date alone is still no time.
    dated = {"name": "dated", "timestamp": f"{day:%Y-%m-%d}"}
    body = {
        "sent_at": spaced("08:00:00Z"),
        "batch": [own, {"name": "batch", "timestamp": spaced("07:58:00Z")}, dated],
    }
    answer = server.post("/api/collect", body, secret=True)[1]
    assert (answer["accepted"], answer["rejected"]) == (
        2,
        [{"index": 2, "error": "timestamp: invalid RFC3339 encoded datetime"}],
    )
    stored = {e["name"]: e for e in server.events()}
    assert _epoch_ms(stored["made"]["time"]) == _epoch_ms(f"{day:%Y-%m-%d}T08:00:00.250Z")
    # Each placed by its send time: a minute, then two, before it was received.
    for name, before_ms in (("own", 60_000), ("batch", 120_000)):
        event = stored[name]
        assert abs(_epoch_ms(event["received_at"]) - _epoch_ms(event["time"]) - before_ms) <= 1


def test_backdating_beyond_24h_needs_the_secret_key(server: Site) -> None:
    old_ms = int(time.time() * 1000) - 3 * 86_400_000
    body = {"key": server.public_key, **pageview(server, timestamp=old_ms)}
    answer = server.post("/api/collect", body, headers=browser_headers(server))[1]
    assert (
        answer["rejected"][0]["error"]
        == "timestamp: more than 24 h in the past needs the secret key"
    )
    answer = server.post("/api/collect", {"name": "import", "timestamp": old_ms}, secret=True)[1]
    assert answer["accepted"] == 1
    assert _epoch_ms(server.events(name="import")[0]["time"]) == old_ms


def test_context_is_only_honoured_with_the_secret_key(server: Site) -> None:
    context = {"ip": "2001:4860:4860::8888", "user_agent": CHROME}
    public = {"key": server.public_key, **pageview(server, "/p"), "context": context}
    server.post("/api/collect", public, headers={"User-Agent": CHROME})
    secret = {"name": "server_side", "visitor_id": "v-ctx", "context": context}
    server.post("/api/collect", secret, secret=True)
    events = {e["name"]: e for e in server.events()}
    # Loopback is the browser's real address here: no country; the forwarded one counts.
    assert events["pageview"]["country"] is None
    assert events["server_side"]["country"] == "US"
    assert events["server_side"]["browser"] == "Chrome"


def test_secret_key_events_are_not_bot_traffic_for_the_sending_library(server: Site) -> None:
    headers = {"User-Agent": "python-requests/2.32.3"}
    answer = server.post("/api/collect", {"name": "invoice.paid"}, secret=True, headers=headers)[1]
    assert answer["accepted"] == 1
    bot = {
        "name": "crawl",
        "context": {"user_agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"},
    }
    answer = server.post("/api/collect", bot, secret=True, headers=headers)[1]
    assert answer["ignored"] == 1


def test_bots_with_the_public_key_are_ignored(server: Site) -> None:
    body = {"key": server.public_key, **pageview(server)}
    answer = server.post("/api/collect", body, headers={"User-Agent": "curl/8.5.0"})[1]
    assert answer == {"accepted": 0, "duplicates": 0, "ignored": 1, "rejected": []}


def test_identify_and_origin_marking(server: Site) -> None:
    identify = {"type": "identify", "visitor_id": "v1", "user_id": "u1", "traits": {"plan": "team"}}
    answer = server.post("/api/collect", identify, secret=True)[1]
    assert answer["accepted"] == 1
    imported = {"name": "old_click", "origin": "browser", "visitor_id": "v1"}
    server.post("/api/collect", imported, secret=True)
    events = {e["name"]: e for e in server.events()}
    assert events["identify"]["origin"] == "server"
    assert events["identify"]["user_id"] == "u1"
    assert events["identify"]["traits"] == {"plan": "team"}
    assert events["old_click"]["origin"] == "browser"


def test_utm_and_click_ids_are_read_from_the_url(server: Site) -> None:
    url = f"https://{server.site}/land?utm_source=newsletter&utm_medium=email&utm_campaign=nov&gclid=abc"
    body = {
        "key": server.public_key,
        "type": "pageview",
        "url": url,
        "referrer": "https://www.google.com/",
    }
    server.post("/api/collect", body, headers=browser_headers(server))
    [stored] = server.events()
    assert stored["page"] == "/land"
    assert (stored["utm_source"], stored["utm_medium"], stored["utm_campaign"]) == (
        "newsletter",
        "email",
        "nov",
    )
    assert stored["click_id"] == "gclid"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_methods_are_405(server: Site, method: str) -> None:
    assert server.server.request(method, "/api/collect")[0] == 405


def _epoch_ms(text: str) -> int:
    import datetime as dt

    return int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def test_numeric_ids_are_stored_as_text(server: Site) -> None:
    body = {
        "name": "purchase",
        "user_id": 42,
        "order_id": 1001,
        "event_id": 7,
        "revenue": {"amount": 5, "currency": "usd"},
    }
    assert server.post("/api/collect", body, secret=True)[1]["accepted"] == 1
    [stored] = server.events()
    assert (stored["user_id"], stored["order_id"], stored["event_id"]) == ("42", "1001", "7")
    assert (stored["revenue_amount"], stored["revenue_currency"]) == ("5", "USD")


def quarantined(site: Site, count: int) -> list[dict[str, Any]]:
    """The site's quarantine entries, once `count` of them have arrived (oldest first)."""
    deadline = time.time() + 10
    while True:
        listing = json.loads(
            clycyo("quarantine", "list", "--json", "--limit", "500", data=site.data_dir)
        )
        mine = [e for e in listing if e["site"] == site.site]
        if len(mine) >= count or time.time() > deadline:
            return mine[::-1]
        time.sleep(0.1)


def test_a_single_event_with_a_field_error_is_rejected_and_quarantined(server: Site) -> None:
    marker = uid()
    body = {"key": server.public_key, "name": 5, "event_id": marker}
    status, answer = server.post("/api/collect", body, headers=browser_headers(server))
    assert status == 200, answer
    assert answer == {
        "accepted": 0,
        "duplicates": 0,
        "ignored": 0,
        "rejected": [{"index": 0, "error": "name: expected str | null, got int"}],
    }
    body = {"name": "x", "props": {"a": {"b": 1}}}
    status, answer = server.post("/api/collect", body, secret=True)
    assert status == 200, answer
    assert answer["rejected"] == [
        {"index": 0, "error": "props.a: expected bool | int | float | str, got object"}
    ]
    first, second = quarantined(server, 2)
    assert first["payload"]["event_id"] == marker
    assert first["error"] == "name: expected str | null, got int"
    assert second["payload"]["props"] == {"a": {"b": 1}}


def test_a_lone_surrogate_escape_costs_no_event(server: Site) -> None:
    # What a browser's JSON.stringify writes for text cut between the halves of an emoji.
    body = (
        b'{"key": "%s", "batch": [{"name": "ok1"}, {"name": "t", "title": "abc\\ud83d"},'
        b' {"name": "u", "title": "\\udc00abc"}, {"name": "ok2"}]}' % server.public_key.encode()
    )
    headers = browser_headers(server, **{"Content-Type": "text/plain;charset=UTF-8"})
    status, answer = server.post("/api/collect", body, headers=headers)
    assert status == 200, answer
    assert answer["accepted"] == 4
    titles = {e["name"]: e["title"] for e in server.events()}
    assert titles == {"ok1": None, "t": "abc\ufffd", "u": "\ufffdabc", "ok2": None}


def test_an_unreadable_batch_sent_at_rejects_only_the_events_that_need_it(server: Site) -> None:
    now_ms = int(time.time() * 1000)
    batch = [{"name": "no_own_sent_at"}, {"name": "own_sent_at", "sent_at": now_ms}, 5]
    body = {"batch": batch, "sent_at": "yesterday"}
    status, answer = server.post("/api/collect", body, secret=True)
    assert status == 200, answer
    assert answer["accepted"] == 1
    assert answer["rejected"] == [
        {"index": 0, "error": "sent_at: invalid RFC3339 encoded datetime (the batch's)"},
        {"index": 2, "error": "expected an object, got int"},
    ]
    assert [e["name"] for e in server.events()] == ["own_sent_at"]
    entries = quarantined(server, 2)
    assert [e["payload"] for e in entries] == [{"name": "no_own_sent_at"}, "5"]


def test_the_authorization_scheme_is_case_insensitive_and_an_empty_header_is_none(
    server: Site,
) -> None:
    headers = {"Authorization": f"bearer {server.secret_key}"}
    status, answer = server.server.post("/api/collect", {"name": "lower_case"}, headers=headers)
    assert (status, answer["accepted"]) == (200, 1)
    body = {"key": server.public_key, **pageview(server)}
    headers = browser_headers(server, Authorization="")
    status, answer = server.server.post("/api/collect", body, headers=headers)
    assert (status, answer["accepted"]) == (200, 1)
    status, _ = server.server.post(
        "/api/collect", {"name": "x"}, headers={"Authorization": "Basic c2tfbm9wZTo="}
    )
    assert status == 401
