"""What a site's public key (which every visitor can read from the page) cannot do.

It cannot write to another site, read anything, or set the fields only a backend may set:
the end user's forwarded address and user agent, the `server` origin, a time more than 24 h
back. A secret key, in contrast, writes only to its own site whatever the body says.
"""

from __future__ import annotations

import time

from tests.serverproc import ServerProcess

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def test_a_public_key_writes_only_its_own_pages(shared_server: ServerProcess) -> None:
    a, b = shared_server.add_site(), shared_server.add_site()
    page_of_b = f"https://{b.site}/pricing"
    status, body = shared_server.post(
        "/api/collect", {"key": a.public_key, "type": "pageview", "url": page_of_b}
    )
    assert status == 200 and body["accepted"] == 0
    assert "not a page of" in body["rejected"][0]["error"]
    status, _ = shared_server.post(
        "/api/collect",
        {"key": a.public_key, "type": "pageview", "url": f"https://{a.site}/"},
        headers={"Origin": f"https://{b.site}"},
    )
    assert status == 403
    # Keys of two sites in one batch: refused as a whole.
    mixed = {
        "key": a.public_key,
        "batch": [{"name": "x"}, {"name": "y", "key": b.public_key}],
    }
    assert shared_server.post("/api/collect", mixed)[0] == 401
    # Plausible's format names the site by domain: the page must belong to it as well.
    plausible = {"d": a.site, "n": "pageview", "u": page_of_b}
    status, body = shared_server.post("/api/event", plausible)
    assert body["accepted"] == 0
    assert b.events() == [] and a.events() == []


def test_a_public_key_cannot_set_trusted_fields(shared_server: ServerProcess) -> None:
    site = shared_server.add_site()
    url = f"https://{site.site}/"
    now_ms = int(time.time() * 1000)
    events = [
        {
            "type": "pageview",
            "url": url,
            "event_id": "forged",
            "origin": "server",
            "context": {"ip": "8.8.8.8", "user_agent": "Googlebot/2.1"},
            "revenue": {"amount": "10", "currency": "EUR"},
            "name": "pageview",
        },
        {"type": "pageview", "url": url, "timestamp": now_ms - 3 * 86_400_000},
    ]
    status, body = shared_server.post(
        "/api/collect",
        {"key": site.public_key, "batch": events},
        headers={"User-Agent": CHROME},
    )
    assert status == 200
    assert body["accepted"] == 1
    assert "24 h" in body["rejected"][0]["error"]
    (stored,) = site.events()
    assert stored["origin"] == "browser"  # not "server": the verified copy cannot be forged
    assert stored["country"] is None  # 8.8.8.8 was not used: loopback has no country
    assert stored["browser"] == "Chrome"  # the request's own agent, not the forwarded one


def test_a_public_key_reads_nothing(shared_server: ServerProcess) -> None:
    site = shared_server.add_site()
    for path in (f"/api/v1/events?site={site.site}", f"/sites/{site.site}.json"):
        status, _ = shared_server.get(path, bearer=site.public_key)
        assert status in (401, 403, 404), path


def test_a_secret_key_writes_only_its_own_site(shared_server: ServerProcess) -> None:
    a, b = shared_server.add_site(), shared_server.add_site()
    body = {"key": a.public_key, "batch": [{"name": "mine", "key": a.public_key}]}
    status, answer = b.post("/api/collect", body, secret=True)
    assert status == 200 and answer["accepted"] == 1
    assert a.events() == []
    assert [e["name"] for e in b.events()] == ["mine"]
