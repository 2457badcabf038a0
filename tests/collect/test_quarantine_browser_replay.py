"""A browser event rejected on arrival is replayed as it would have been accepted then: judged a
bot or not, and described (device, country, cookieless visitor id), by what its request showed,
though the quarantine keeps neither the request's address nor its user agent."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from tests.serverproc import ServerProcess, Site, clycyo, run_clycyo
from tests.test_privacy import forms

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
ADDRESS = "85.214.132.117"  # a German block
DESCRIBED = ("visitor_id", "country", "browser", "browser_version", "os", "os_version", "device")


def send(site: Site, event: dict[str, Any], user_agent: str) -> dict[str, Any]:
    """An event as the tracker sends it: the public key, the page's origin, a browser's
    headers (behind the operator's proxy, which passes on the visitor's address)."""
    status, answer = site.server.post(
        "/api/collect",
        {"key": site.public_key, **event},
        headers={
            "User-Agent": user_agent,
            "Origin": f"https://{site.site}",
            "X-Forwarded-For": ADDRESS,
        },
    )
    assert status == 200, answer
    return dict(answer)


def checkout(currency: str, plan: str) -> dict[str, Any]:
    return {
        "name": "checkout",
        "url": "https://shop.example/cart",
        "props": {"plan": plan},
        "revenue": {"amount": "19.90", "currency": currency},
    }


def quarantined(server: ServerProcess, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while True:
        entries = json.loads(clycyo("quarantine", "list", "--json", data=server.data_dir))
        if len(entries) >= count or time.monotonic() > deadline:
            return sorted(entries, key=lambda e: e["id"])
        time.sleep(0.1)


def correct(server: ServerProcess, entry_id: int) -> None:
    """The operator corrects the currency the site's page sent, in the stored payload."""
    db = sqlite3.connect(server.data_dir / "quarantine.sqlite")
    with contextlib.closing(db), db:
        db.execute(
            "UPDATE quarantine SET payload = replace(payload, '\"EURO\"', '\"EUR\"') WHERE id = ?",
            [entry_id],
        )


def replay(server: ServerProcess, entry_id: int) -> tuple[int, dict[str, Any]]:
    result = run_clycyo("quarantine", "replay", str(entry_id), data=server.data_dir)
    return result.returncode, json.loads(result.stdout)


def test_a_rejected_browser_event_replays_as_accepted_on_arrival(
    own_server: ServerProcess,
) -> None:
    own_server.extra_args = ("--trusted-proxies", "1")
    own_server.start()
    site = own_server.add_site("shop.example")
    # The page sent a currency that is no ISO code: rejected, from a browser and from a bot.
    for user_agent in (CHROME, GOOGLEBOT, CHROME):
        answer = send(site, checkout("EURO", "pro"), user_agent)
        assert answer["rejected"][0]["error"].startswith("revenue.currency:"), answer
    # The same event, right, accepted directly from the same browser.
    assert send(site, checkout("EUR", "direct"), CHROME)["accepted"] == 1
    browser, bot, earlier = quarantined(own_server, 3)
    assert [e["trusted"] for e in (browser, bot, earlier)] == [False] * 3
    shown = json.loads(clycyo("quarantine", "show", str(browser["id"]), data=own_server.data_dir))
    assert shown["observed"]["country"] == "DE", shown
    assert shown["observed"]["visitor_id"].startswith("h_"), shown
    assert bot["observed"] == {"bot": "user agent matches 'google'"}, bot

    # An entry kept by an earlier version, without what its request showed.
    db = sqlite3.connect(own_server.data_dir / "quarantine.sqlite")
    with contextlib.closing(db), db:
        db.execute("UPDATE quarantine SET observed = NULL WHERE id = ?", [earlier["id"]])
    for entry in (browser, bot, earlier):
        correct(own_server, entry["id"])

    status, answer = replay(own_server, browser["id"])
    assert (status, answer["accepted"], answer["ignored"]) == (0, 1, 0), answer
    stored = {e["props"]["plan"]: e for e in site.events()}
    assert set(stored) == {"direct", "pro"}
    direct, replayed = stored["direct"], stored["pro"]
    assert direct["visitor_id"].startswith("h_")
    assert (direct["country"], direct["browser"], direct["device"]) == ("DE", "Chrome", "desktop")
    assert {k: replayed[k] for k in DESCRIBED} == {k: direct[k] for k in DESCRIBED}
    assert replayed["origin"] == "browser"
    # The entry names its visitor by the hash: their export shows it, with what it holds.
    status, document = own_server.get(
        f"/api/v1/persons/{direct['visitor_id']}/export?site={site.site}", bearer=site.secret_key
    )
    assert status == 200, document
    assert [q["observed"]["country"] for q in document["quarantined"]] == ["DE"], document

    # A bot on arrival is a bot on replay, and the answer says why.
    status, answer = replay(own_server, bot["id"])
    assert (status, answer["accepted"], answer["ignored"]) == (1, 0, 1), answer
    assert answer["dropped"].startswith("bot filter, on arrival: user agent matches"), answer
    # An entry of an earlier version is dropped too, no longer silently.
    status, answer = replay(own_server, earlier["id"])
    assert (status, answer["accepted"], answer["ignored"]) == (1, 0, 1), answer
    assert "earlier version" in answer["dropped"], answer
    assert {e["props"]["plan"] for e in site.events()} == {"direct", "pro"}

    # Neither the address nor a user agent reached the quarantine.
    own_server.stop()
    files = [p for p in own_server.data_dir.glob("quarantine.sqlite*") if p.is_file()]
    assert files
    needles = [*forms(ADDRESS), CHROME.encode(), GOOGLEBOT.encode(), b"Googlebot", b"Win64"]
    for path in files:
        data = Path(path).read_bytes()
        for needle in needles:
            assert needle not in data, f"{needle!r} found in {path}"
