"""Plausible's events API as its script calls it (text/plain JSON, no key), on a real server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.serverproc import Site

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def send(site: Site, body: dict[str, Any], **headers: str) -> tuple[int, Any]:
    return site.server.request(
        "POST",
        "/api/event",
        json.dumps(body).encode(),
        {"Content-Type": "text/plain", "User-Agent": FIREFOX, **headers},
    )


def test_short_and_long_field_names(server: Site) -> None:
    page = f"https://www.{server.site}/blog?utm_source=twitter"
    status, answer = send(
        server, {"n": "pageview", "u": page, "d": server.site, "r": "https://t.co/x"}
    )
    assert (status, answer["accepted"]) == (200, 1)
    status, _ = send(
        server,
        {
            "name": "Signup",
            "url": f"https://{server.site}/join",
            "domain": f"other.example,{server.site}",
            "props": {"plan": "team"},
            "revenue": {"amount": "19.90", "currency": "usd"},
        },
    )
    assert status == 200
    events = {e["type"]: e for e in server.events()}
    pageview = events["pageview"]
    assert (pageview["origin"], pageview["page"], pageview["utm_source"]) == (
        "browser",
        "/blog",
        "twitter",
    )
    assert pageview["visitor_id"].startswith("h_")  # no cookie: the daily-salted hash
    signup = events["event"]
    assert (signup["name"], signup["props"], signup["revenue_amount"]) == (
        "Signup",
        {"plan": "team"},
        "19.9",
    )
    # One visitor: the same address and browser on the same day.
    assert signup["visitor_id"] == pageview["visitor_id"]


def test_props_as_json_text_and_engagement(server: Site) -> None:
    url = f"https://{server.site}/"
    send(server, {"n": "Download", "u": url, "d": server.site, "p": '{"file":"a.pdf"}'})
    send(server, {"n": "engagement", "u": url, "d": server.site, "sd": 80, "e": 12000})
    events = {e["name"]: e for e in server.events()}
    assert events["Download"]["props"] == {"file": "a.pdf"}
    assert events["engagement"]["props"] == {"scroll_depth": "80", "engaged_ms": "12000"}


def test_pages_and_origins_of_other_sites_are_refused(server: Site) -> None:
    status, answer = send(
        server, {"n": "pageview", "u": "https://elsewhere.example/", "d": server.site}
    )
    assert status == 200 and answer["rejected"][0]["error"] == f"url: not a page of {server.site}"
    status, answer = send(
        server,
        {"n": "pageview", "u": f"https://{server.site}/", "d": server.site},
        Origin="https://elsewhere.example",
    )
    assert status == 403 and "origin" in answer["error"]
    status, _ = send(server, {"n": "pageview", "u": "https://x.example/", "d": "x.example"})
    assert status == 401
    status, _ = send(server, {"n": "pageview", "u": "https://x.example/"})
    assert status == 400
    assert server.events() == []


def test_a_browser_preflight_is_answered_for_a_known_site(server: Site) -> None:
    status, _ = server.server.request(
        "OPTIONS", "/api/event", None, {"Origin": f"https://{server.site}"}
    )
    assert status == 204


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"n": "pageview", "u": ["x"]}, "u: expected a string or a number, got array"),
        ({"n": {"x": 1}}, "n: expected a string or a number, got object"),
        ({"name": "e", "r": True}, "r: expected a string or a number, got boolean"),
        ({"n": "e", "p": [1, 2]}, "p: expected an object, got array"),
        ({"n": "e", "props": "{not json"}, "props: neither an object nor JSON text of one"),
        ({"n": "e", "p": "[1]"}, "p: JSON text of array, not of an object"),
        ({"n": "e", "$": 12}, "$: expected an object, got number"),
        ({"n": "engagement", "sd": "80"}, "sd: expected a number, got string"),
    ],
)
def test_a_field_of_the_wrong_type_rejects_the_event_by_name(
    server: Site, fields: dict[str, Any], error: str
) -> None:
    body = {"u": f"https://{server.site}/", "d": server.site, **fields}
    status, answer = send(server, body)
    assert status == 200, answer
    assert answer["accepted"] == 0
    assert answer["rejected"][0]["error"] == error
    assert server.events() == []


def test_a_domain_that_is_not_text_is_a_400(server: Site) -> None:
    status, answer = send(server, {"n": "pageview", "u": f"https://{server.site}/", "d": [1]})
    assert status == 400 and answer["error"] == "d: expected a string or a number, got array"


def test_half_an_emoji_in_a_prop_is_read_as_a_replacement_character(server: Site) -> None:
    body = {"n": "Cut", "u": f"https://{server.site}/", "d": server.site, "p": {"t": "tea \ud83d"}}
    status, answer = send(server, body)
    assert (status, answer["accepted"]) == (200, 1), answer
    assert server.events(name="Cut")[0]["props"]["t"] == "tea \ufffd"
