"""Delivery: the beacon's wire shape, flushing on close, retries, and no other host contacted."""

from __future__ import annotations

import json
import time
import urllib.parse
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Request, Route

from tests.tracker.browsing import (
    StoredEvents,
    leave,
    matching,
    open_tracked,
    stored_once,
    wait_sent,
)
from tests.tracker.fixture_site import TestSite

pytestmark = pytest.mark.browser


def test_closing_the_page_flushes_events_not_yet_sent(
    page: Page, test_site: TestSite, stored: StoredEvents
) -> None:
    open_tracked(page, test_site.url("/index.html"))
    visitor = page.evaluate("clycyo.visitorId()")
    # Batches leave a second after the first event; closing at once leaves only pagehide to send.
    page.evaluate("clycyo('track', 'last_words', {n: 1})")
    leave(page)

    (event,) = stored.wait(lambda evs: matching(evs, visitor_id=visitor, name="last_words"))
    assert event["props"]["n"] == "1"


def test_batches_are_text_plain_beacons_with_key_sent_at_and_event_ids(
    page: Page,
    server: Any,
    test_site: TestSite,
    collect_requests: list[Request],
) -> None:
    open_tracked(page, test_site.url("/index.html"))
    page.click("#purchase")
    wait_sent(page, collect_requests, {"pageview", "purchase"})  # by the timer, page still open

    visitor = page.evaluate("clycyo.visitorId()")
    events = []
    for request in collect_requests:
        assert request.method == "POST"
        assert request.headers["content-type"].startswith("text/plain")
        body = json.loads(request.post_data or "")
        assert set(body) == {"key", "sent_at", "batch"}
        assert body["key"] == server.public_key
        assert abs(body["sent_at"] - time.time() * 1000) < 60_000
        for event in body["batch"]:
            assert event["timestamp"] <= body["sent_at"]
            assert event["context"] == {"screen": "1920x1080", "locale": "de-DE"}
            assert event["visitor_id"] == visitor
            assert event["session_id"]
        events += body["batch"]
    # The server's default type, `event`, goes unsent.
    assert {e.get("type", "event") for e in events} == {"pageview", "event"}
    assert len({e["event_id"] for e in events}) == len(events)
    (purchase,) = (e for e in events if e.get("name") == "purchase")
    assert purchase["revenue"] == {"amount": "49.00", "currency": "EUR"}


def test_events_a_refused_beacon_left_behind_are_sent_by_the_next_page(
    context: BrowserContext, test_site: TestSite, stored: StoredEvents
) -> None:
    # On the first page the browser refuses every beacon, as when its in-flight quota is full.
    context.add_init_script(
        "if (location.pathname == '/index.html') Object.defineProperty("
        "Navigator.prototype, 'sendBeacon', {value: () => false})"
    )
    page = context.new_page()
    open_tracked(page, test_site.url("/index.html"))
    visitor = page.evaluate("clycyo.visitorId()")
    page.click("#purchase")
    page.wait_for_function("() => (localStorage.clycyo_q || '').includes('purchase')")
    waiting = json.loads(page.evaluate("localStorage.clycyo_q"))
    assert {e["name"] for e in waiting} >= {"pageview", "purchase"}

    page.click("#about")
    page.wait_for_url("**/about.html")
    stored_once(stored, [e["event_id"] for e in waiting])
    page.wait_for_function("() => !localStorage.clycyo_q")
    leave(page)

    events = stored.wait(
        lambda evs: len(found := matching(evs, visitor_id=visitor, type="pageview")) == 2 and found
    )
    assert {urllib.parse.urlsplit(e["url"]).path for e in events} == {"/index.html", "/about.html"}
    (purchase,) = matching(stored.all(), visitor_id=visitor, name="purchase")
    assert purchase["order_id"] == "ord-1001"


def test_without_sendbeacon_fetch_posts_and_a_network_failure_is_retried(
    context: BrowserContext, server: Any, test_site: TestSite, stored: StoredEvents
) -> None:
    context.add_init_script(
        "Object.defineProperty(Navigator.prototype, 'sendBeacon', {value: undefined})"
    )
    failed: list[str] = []

    def fail_first(route: Route) -> None:
        if failed:
            route.continue_()
        else:
            failed.append(route.request.post_data or "")
            route.abort("internetdisconnected")

    context.route(f"{server.url}/api/collect", fail_first)
    page = context.new_page()
    open_tracked(page, test_site.url("/index.html"))
    visitor = page.evaluate("clycyo.visitorId()")
    page.click("#purchase")
    page.wait_for_function("() => (localStorage.clycyo_q || '').includes('purchase')")
    lost = json.loads(failed[0])["batch"]
    # Sync Playwright runs route handlers only inside its own calls; the retry must not wait on one.
    context.unroute(f"{server.url}/api/collect")

    # Retried from the same page, after a back-off of a few seconds.
    stored_once(stored, [e["event_id"] for e in lost])
    leave(page)
    stored.wait(lambda evs: matching(evs, visitor_id=visitor, name="engagement"))
    stored_once(stored, [e["event_id"] for e in lost])


def test_no_request_goes_to_any_host_but_the_site_and_the_collector(
    context: BrowserContext, server: Any, test_site: TestSite, stored: StoredEvents
) -> None:
    origins: set[str] = set()
    context.on(
        "request",
        lambda r: origins.add("{0.scheme}://{0.netloc}".format(urllib.parse.urlsplit(r.url))),
    )
    page = context.new_page()
    open_tracked(page, test_site.url("/index.html"))
    page.click("#purchase")
    page.click("#buy")
    page.keyboard.press("End")
    leave(page)
    time.sleep(0.5)
    assert origins == {test_site.origin, server.url}
