"""How the tracker's end-to-end tests drive a page and read back what the server stored."""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, Request, ViewportSize

CHROMIUM = "/usr/bin/chromium"
# Headless Chromium announces itself as "HeadlessChrome", which the bot filter rightly drops;
# these tests stand for a person on a desktop browser. The flag, not only the context option:
# beacons sent while a page unloads leave with the browser-wide user agent.
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36"
)
CHROMIUM_ARGS = [
    f"--user-agent={USER_AGENT}",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREEN: ViewportSize = {"width": 1920, "height": 1080}
VIEWPORT: ViewportSize = {"width": 1280, "height": 720}
STORE_TIMEOUT_S = 20.0
Event = dict[str, Any]
# What a failure message shows of each stored event.
BRIEF_FIELDS = ("time", "type", "name", "visitor_id", "url", "props")


class StoredEvents:
    """Reads what the server stored for the site, waiting for the tracker's batches to land."""

    def __init__(self, server: Any) -> None:
        self._url = f"{server.url}/api/v1/events?" + urllib.parse.urlencode({"site": server.site})
        self._auth = f"Bearer {server.secret_key}"

    def all(self) -> list[Event]:
        request = urllib.request.Request(self._url, headers={"Authorization": self._auth})
        with urllib.request.urlopen(request, timeout=10) as response:
            events: list[Event] = json.load(response)["events"]
        return events

    def wait(self, find: Callable[[list[Event]], Any], timeout_s: float = STORE_TIMEOUT_S) -> Any:
        """Polls until `find(events)` is truthy and returns it; fails showing what was stored."""
        deadline = time.monotonic() + timeout_s
        while True:
            events = self.all()
            found = find(events)
            if found:
                return found
            if time.monotonic() > deadline:
                brief = [{k: e.get(k) for k in BRIEF_FIELDS} for e in events[:40]]
                dump = "\n".join(json.dumps(e, default=str) for e in brief)
                raise AssertionError(f"not stored within {timeout_s} s; last events:\n{dump}")
            time.sleep(0.2)


def by_time(events: list[Event]) -> list[Event]:
    """Events in the order they happened (`time` is RFC 3339 text)."""
    return sorted(events, key=lambda e: dt.datetime.fromisoformat(e["time"]))


def matching(events: list[Event], **fields: Any) -> list[Event]:
    """The events whose fields equal all of `fields`, in stored order."""
    return [e for e in events if all(e.get(k) == v for k, v in fields.items())]


def stored_once(stored: StoredEvents, event_ids: list[str]) -> None:
    """Waits until each event id is stored, then checks that none is stored twice."""

    def all_there(events: list[Event]) -> bool:
        return all(matching(events, event_id=event_id) for event_id in event_ids)

    stored.wait(all_there)
    events = stored.all()
    assert all(len(matching(events, event_id=event_id)) == 1 for event_id in event_ids)


def sent_events(requests: list[Request]) -> list[Event]:
    """The events of the collect requests the browser made, in the order it sent them."""
    return [e for r in requests for e in json.loads(r.post_data or "{}")["batch"]]


def wait_sent(page: Page, requests: list[Request], names: set[str]) -> list[Event]:
    """Waits until the browser has sent events of all `names` while the page stays open.

    Waiting through the page (not `time.sleep`) lets Playwright record the requests meanwhile.
    """
    deadline = time.monotonic() + STORE_TIMEOUT_S
    while True:
        sent = sent_events(requests)
        if names <= {e.get("name") for e in sent}:
            return sent
        if time.monotonic() > deadline:
            raise AssertionError(f"never sent: {names}; sent: {[e.get('name') for e in sent]}")
        page.wait_for_timeout(100)


def open_tracked(page: Page, url: str, **goto: Any) -> None:
    """Loads a page and waits until the tracker has replaced the page's command stub."""
    page.goto(url, **goto)
    page.wait_for_function("() => window.clycyo && window.clycyo.visitorId")


def leave(page: Page) -> None:
    """Closes the tab the way a person does, running pagehide (where the tracker flushes)."""
    page.close(run_before_unload=True)
