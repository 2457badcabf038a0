"""A site's shields over real HTTP: a rule added with the CLI while the server runs keeps the
browser events it matches out (answered as ignored, counted by reason, not stored), and leaves
the events beside them and the backend's events from the same address alone."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from tests.collect.test_collect_api import browser_headers, pageview, uid
from tests.serverproc import Site, clycyo


def _dropped_excluded(site: Site) -> int:
    text = site.server.request("GET", "/metrics")[1].decode()
    found = re.search(r'clycyo_events_dropped_total\{reason="excluded"\} (\d+)', text)
    assert found, text
    return int(found.group(1))


def _send_until_excluded(site: Site, body: dict[str, Any], limit_s: float = 3.0) -> dict[str, Any]:
    """Post `body` (new event ids each time) until the server applies the rule just added: it
    reads the configuration store's changes within a second, without a restart."""
    deadline = time.monotonic() + limit_s
    while True:
        events = [{**event, "event_id": uid()} for event in body["batch"]]
        status, answer = site.post(
            "/api/collect", {**body, "batch": events}, headers=browser_headers(site)
        )
        assert status == 200, answer
        if answer["ignored"] or time.monotonic() > deadline:
            return dict(answer)
        time.sleep(0.1)


def test_a_rule_added_while_the_server_runs_keeps_matching_browser_events_out(
    server: Site,
) -> None:
    body = {"key": server.public_key, "batch": [pageview(server, "/admin/users")]}
    _status, answer = server.post("/api/collect", body, headers=browser_headers(server))
    assert answer["accepted"] == 1, answer  # before the rule
    before = _dropped_excluded(server)
    clycyo("shield", "add", "--site", server.site, "--page", "/admin/**", data=server.data_dir)
    both = {"key": server.public_key, "batch": [pageview(server, "/admin/x"), pageview(server)]}
    answer = _send_until_excluded(server, both)
    assert answer == {"accepted": 1, "duplicates": 0, "ignored": 1, "rejected": []}
    # In force now: the excluded page is not stored, the valid event beside it is.
    tag = uid()
    body = {
        "key": server.public_key,
        "batch": [pageview(server, f"/admin/{tag}"), pageview(server, f"/kept-{tag}")],
    }
    answer = server.post("/api/collect", body, headers=browser_headers(server))[1]
    assert answer == {"accepted": 1, "duplicates": 0, "ignored": 1, "rejected": []}
    assert _dropped_excluded(server) >= before + 2
    pages = [e["url"] for e in server.events(type="pageview")]
    assert f"https://{server.site}/admin/{tag}" not in pages
    assert f"https://{server.site}/kept-{tag}" in pages
    assert pages.count(f"https://{server.site}/admin/users") == 1


def test_the_offices_address_keeps_its_browsers_out_but_not_its_backends_money(
    server: Site,
) -> None:
    # The test's requests come from 127.0.0.1: the office.
    clycyo("shield", "add", "--site", server.site, "--ip", "127.0.0.0/8", data=server.data_dir)
    answer = _send_until_excluded(
        server, {"key": server.public_key, "batch": [pageview(server, "/pricing")]}
    )
    assert answer == {"accepted": 0, "duplicates": 0, "ignored": 1, "rejected": []}
    paid = {
        "name": "invoice.paid",
        "order_id": uid(),
        "revenue": {"amount": "49.00", "currency": "EUR"},
        "url": f"https://{server.site}/pricing",
        "context": {"ip": "127.0.0.1"},
    }
    status, answer = server.post("/api/collect", paid, secret=True)
    assert status == 200 and answer["accepted"] == 1, answer
    [stored] = [e for e in server.events() if e["name"] == "invoice.paid"]
    assert (stored["order_id"], stored["origin"]) == (paid["order_id"], "server")
    # Removed, the rule stops at once for new events.
    [rule] = [r for r in _rules(server) if r["kind"] == "ip"]
    clycyo("shield", "remove", str(rule["id"]), "--site", server.site, data=server.data_dir)
    deadline = time.monotonic() + 3.0
    while True:
        body = {"key": server.public_key, **pageview(server, "/pricing", event_id=uid())}
        answer = server.post("/api/collect", body, headers=browser_headers(server))[1]
        if answer["accepted"] == 1 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert answer["accepted"] == 1, answer


def test_hostname_rules_count_only_the_hosts_they_name(server: Site) -> None:
    clycyo("shield", "add", "--site", server.site, "--hostname", server.site, data=server.data_dir)
    staging = {"type": "pageview", "url": f"https://staging.{server.site}/"}
    answer = _send_until_excluded(
        server, {"key": server.public_key, "batch": [staging, pageview(server, "/live")]}
    )
    assert answer == {"accepted": 1, "duplicates": 0, "ignored": 1, "rejected": []}
    tag = uid()
    staging = {"type": "pageview", "url": f"https://staging.{server.site}/{tag}"}
    body = {"key": server.public_key, "batch": [staging, pageview(server, f"/{tag}")]}
    answer = server.post("/api/collect", body, headers=browser_headers(server))[1]
    assert answer == {"accepted": 1, "duplicates": 0, "ignored": 1, "rejected": []}
    urls = [e["url"] for e in server.events()]
    assert f"https://{server.site}/{tag}" in urls
    assert f"https://staging.{server.site}/{tag}" not in urls


def _rules(site: Site) -> list[dict[str, Any]]:
    return list(
        json.loads(clycyo("shield", "list", "--site", site.site, "--json", data=site.data_dir))
    )
