"""The list of persons over HTTP, on a real server: `GET /api/v1/persons` and the dashboard's
People page show the same persons in the same order, page after page, each with their net
revenue, and a hostile user id as text."""

from __future__ import annotations

import html
import time
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from markupsafe import escape

from tests.serverproc import Site
from tests.web.http_login import Clients, clients, site_user

__all__ = ["clients"]  # the fixture

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0.0.0 Safari/537.36"
HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
USERS = [f"user-{n}" for n in range(7)]


def _browser(site: Site, visitor: str, at_ms: int, **fields: Any) -> dict[str, Any]:
    return {
        "origin": "browser",
        "context": {"ip": "85.214.1.2", "user_agent": CHROME},
        "visitor_id": visitor,
        "url": f"https://{site.site}/",
        "timestamp": at_ms,
        **fields,
    }


def _people(site: Site) -> None:
    """Seven users seen a minute apart (user-6 last), then a payer, an anonymous visitor and
    a user with a hostile id; the payer's one order came from the browser and twice from the
    server, and was refunded in part."""
    start = int(time.time() * 1000) - 3_600_000
    batch: list[dict[str, Any]] = []
    for n, user in enumerate(USERS):
        at = start + n * 60_000
        batch += [
            _browser(site, f"v-{n}", at, type="pageview"),
            _browser(site, f"v-{n}", at + 1000, type="identify", user_id=user),
        ]
    paid = start + 20 * 60_000
    order = {
        "name": "payment",
        "order_id": "o-1",
        "revenue": {"amount": "40.00", "currency": "USD"},
    }
    batch += [
        _browser(site, "v-payer", paid, type="pageview", referrer="https://www.google.com/"),
        _browser(site, "v-payer", paid + 1000, type="identify", user_id="payer"),
        _browser(site, "v-payer", paid + 2000, **order),
        {**order, "user_id": "payer", "timestamp": paid + 3000, "event_id": "server-o-1"},
        {**order, "user_id": "payer", "timestamp": paid + 3000, "event_id": "server-o-1-retry"},
        {
            "name": "refund",
            "order_id": "r-1",
            "revenue": {"amount": "-15.00", "currency": "USD"},
            "user_id": "payer",
            "timestamp": paid + 4000,
        },
        _browser(site, "lurker", start + 30 * 60_000, type="pageview"),
        _browser(site, "v-hostile", start + 40 * 60_000, type="pageview"),
        _browser(site, "v-hostile", start + 40 * 60_000 + 1000, type="identify", user_id=HOSTILE),
    ]
    status, body = site.post("/api/collect", {"batch": batch}, secret=True)
    # The server's retry of the order is a duplicate of its first delivery.
    assert status == 200 and body["accepted"] == len(batch) - 1 and body["duplicates"] == 1, body


def _api(site: Site, query: str = "") -> tuple[int, Any]:
    return site.server.get(f"/api/v1/persons?site={site.site}{query}", bearer=site.secret_key)


def _api_ids(site: Site, limit: int, query: str = "") -> list[str]:
    """The ids of every page of `limit` persons, following the cursors."""
    ids: list[str] = []
    cursor = ""
    while True:
        status, body = _api(
            site, f"&limit={limit}{query}" + (f"&cursor={cursor}" if cursor else "")
        )
        assert status == 200, body
        assert len(body["persons"]) <= limit
        ids += [p["id"] for p in body["persons"]]
        if body["next_cursor"] is None:
            return ids
        cursor = body["next_cursor"]


def _page_ids(client: httpx.Client, path: str) -> list[str]:
    """The ids the People page at `path` lists, following its "Older" links to the end."""
    ids: list[str] = []
    while path:
        page = client.get(path)
        assert page.status_code == 200, page.text
        for row in page.text.split("<tr data-person>")[1:]:
            link = row.split("<a href=", 1)[1].split(">", 1)[1].split("</a>", 1)[0]
            ids.append(html.unescape(link))
        found = page.text.split('data-page="next"', 1)[0].rsplit('<a href="', 1)
        path = html.unescape(found[1].split('"', 1)[0]) if 'data-page="next"' in page.text else ""
    return ids


def test_persons_most_recently_seen_first_page_after_page(server: Site) -> None:
    _people(server)
    status, body = _api(server, "&limit=200")
    assert status == 200, body
    ids = [p["id"] for p in body["persons"]]
    assert ids == [HOSTILE, "payer", *reversed(USERS)]
    assert body["next_cursor"] is None
    seen = [p["last_seen"] for p in body["persons"]]
    assert seen == sorted(seen, reverse=True)
    for limit in (1, 2, 4):
        assert _api_ids(server, limit) == ids
    everyone = _api_ids(server, 3, "&who=everyone")
    assert everyone == [HOSTILE, "lurker", "payer", *reversed(USERS)]


def test_customers_and_net_revenue(server: Site) -> None:
    _people(server)
    status, body = _api(server, "&customers=1")
    assert status == 200, body
    assert body["persons"] == [
        {
            "id": "payer",
            "user_id": "payer",
            "identified": True,
            "last_seen": body["persons"][0]["last_seen"],
            "first_touch_channel": "Organic Search",
            "visits": 1,
            "revenue": {"amount": "25", "currency": "USD"},
        }
    ]
    status, body = _api(server, "&sort=revenue&limit=2")
    assert [p["id"] for p in body["persons"]] == ["payer", HOSTILE]
    assert _api_ids(server, 2, "&sort=revenue") == ["payer", HOSTILE, *reversed(USERS)]
    # The person's own page and the query API count the same money.
    spec = {"site": server.site, "metrics": ["revenue", "orders", "refunds"], "date_range": "7d"}
    status, answer = server.post("/api/v1/query", spec, secret=True)
    assert answer["results"][0]["metrics"] == [25.0, 1, 1], answer


def test_an_anonymous_visitor_is_listed_by_their_visitor_id(server: Site) -> None:
    _people(server)
    status, body = _api(server, "&who=everyone&q=lur")
    assert status == 200
    assert body["persons"] == [
        {
            "id": "lurker",
            "user_id": None,
            "identified": False,
            "last_seen": body["persons"][0]["last_seen"],
            "first_touch_channel": "Direct",
            "visits": 1,
            "revenue": {"amount": "0", "currency": "USD"},
        }
    ]
    # A search looks among everyone; a device's id finds its user.
    assert [p["id"] for p in _api(server, "&q=lurk")[1]["persons"]] == ["lurker"]
    assert [p["id"] for p in _api(server, "&q=v-pay")[1]["persons"]] == ["payer"]
    timeline = server.server.get(
        f"/api/v1/persons/lurker/timeline?site={server.site}", bearer=server.secret_key
    )
    assert timeline[0] == 200 and timeline[1]["person"]["user_id"] is None


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("&limit=0", "limit: expected 1 to 200"),
        ("&limit=x", "limit: expected an integer"),
        ("&sort=name", "sort: expected one of last_seen, revenue"),
        ("&who=some", "who: expected one of identified, everyone"),
        ("&customers=maybe", "customers: expected 1 or 0"),
        ("&cursor=nonsense", "cursor: not a cursor this list gave"),
    ],
)
def test_wrong_parameters_are_named(server: Site, query: str, error: str) -> None:
    assert _api(server, query) == (400, {"error": error})


def test_the_list_needs_credentials_that_reach_persons(server: Site) -> None:
    status, body = server.server.get(f"/api/v1/persons?site={server.site}")
    assert status == 401, body
    other = server.server.add_site()
    status, body = server.server.get(f"/api/v1/persons?site={server.site}", bearer=other.secret_key)
    assert status == 403, body


def test_the_people_page_lists_what_the_api_lists(server: Site, clients: Clients) -> None:
    _people(server)
    client = site_user(server, f"people-{server.site}@example.com", clients)
    base = f"/sites/{server.site}/people"
    api_ids = _api_ids(server, 200)
    assert _page_ids(client, base) == api_ids
    assert _page_ids(client, f"{base}?limit=2") == api_ids
    assert _page_ids(client, f"{base}?limit=3&who=everyone") == _api_ids(
        server, 200, "&who=everyone"
    )
    assert _page_ids(client, f"{base}?customers=1") == ["payer"]
    assert _page_ids(client, f"{base}?sort=revenue&limit=4")[:2] == ["payer", HOSTILE]
    assert _page_ids(client, f"{base}?q=lurk") == ["lurker"]
    data = client.get(f"{base}.json?customers=1").json()
    assert [(p["id"], p["revenue"]) for p in data["people"]] == [("payer", 25)]
    page = client.get(f"{base}?customers=1").text
    assert "25.00 USD" in page and "Organic Search" in page
    assert client.get(f"{base}?cursor=nonsense").status_code == 400


def test_a_hostile_user_id_is_shown_as_text(server: Site, clients: Clients) -> None:
    _people(server)
    client = site_user(server, f"people-{server.site}@example.com", clients)
    for path in ("", "?who=everyone", "?q=" + quote(HOSTILE[:8]), "?sort=revenue"):
        page = client.get(f"/sites/{server.site}/people{path}").text
        assert "<script>alert" not in page and "<img src=x" not in page, path
        assert str(escape(HOSTILE)) in page, path
        assert 'href="javascript:' not in page
    page = client.get(f"/sites/{server.site}/people").text
    link = f'href="/sites/{server.site}/people/{quote(HOSTILE, safe="")}"'
    assert link in page
    person = client.get(f"/sites/{server.site}/people/{quote(HOSTILE, safe='')}")
    assert person.status_code == 200 and "<script>alert" not in person.text
