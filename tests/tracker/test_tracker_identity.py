"""Who the visitor is: cookie, identify, queued calls, and the modes that store or send nothing."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request

from tests.tracker.browsing import (
    USER_AGENT,
    Event,
    StoredEvents,
    leave,
    matching,
    open_tracked,
    wait_sent,
)
from tests.tracker.fixture_site import TestSite

pytestmark = pytest.mark.browser

YEAR_S = 365 * 24 * 3600


def test_visitor_cookie_is_first_party_readable_and_equals_visitor_id(
    page: Page, context: BrowserContext, test_site: TestSite, stored: StoredEvents
) -> None:
    open_tracked(page, test_site.url("/index.html"))
    visitor = page.evaluate("clycyo.visitorId()")

    cookies = {c["name"]: c for c in context.cookies(test_site.origin)}
    cookie = cookies["clycyo_vid"]
    assert cookie["value"] == visitor
    assert cookie["httpOnly"] is False  # the site's backend reads it to join its own events
    assert cookie["sameSite"] == "Lax"
    assert cookie["path"] == "/"
    assert cookie["domain"] in (test_site.host, "." + test_site.host)
    assert abs(cookie["expires"] - (time.time() + YEAR_S)) < 24 * 3600
    assert page.evaluate("document.cookie").count("clycyo_vid=" + visitor) == 1
    assert "clycyo_sid" in cookies

    (pageview,) = stored.wait(lambda evs: matching(evs, visitor_id=visitor, type="pageview"))
    assert pageview["session_id"] == cookies["clycyo_sid"]["value"]

    # A later page keeps the same visitor.
    open_tracked(page, test_site.url("/about.html"))
    assert page.evaluate("clycyo.visitorId()") == visitor


def test_identify_names_the_visitor_and_later_events_carry_the_user(
    page: Page, test_site: TestSite, stored: StoredEvents
) -> None:
    open_tracked(page, test_site.url("/index.html"))
    visitor = page.evaluate("clycyo.visitorId()")
    page.click("#login")
    page.click("#purchase")

    (identify,) = stored.wait(lambda evs: matching(evs, visitor_id=visitor, type="identify"))
    assert identify["user_id"] == "user-42"
    (purchase,) = stored.wait(lambda evs: matching(evs, visitor_id=visitor, name="purchase"))
    assert purchase["user_id"] == "user-42"


def test_calls_made_before_the_script_loaded_are_replayed_in_order(
    page: Page, test_site: TestSite, stored: StoredEvents, collect_requests: list[Request]
) -> None:
    open_tracked(page, test_site.url("/queued.html"))
    visitor = page.evaluate("clycyo.visitorId()")
    # Replayed within one millisecond: the order shows in the batch, after the landing pageview.
    sent = wait_sent(page, collect_requests, {"early_first", "early_second"})
    replayed = [e.get("name") or e["type"] for e in sent if e.get("name") != "web_vital"]
    assert replayed == ["pageview", "early_first", "identify", "early_second"]
    assert "user_id" not in sent[1]
    assert sent[3]["user_id"] == "user-early"

    def stored_replay(events: list[Event]) -> dict[str, Event] | None:
        mine = {e["name"] or e["type"]: e for e in matching(events, visitor_id=visitor)}
        return mine if {"early_first", "identify", "early_second"} <= set(mine) else None

    events = stored.wait(stored_replay)
    assert events["early_first"]["props"]["position"] == "1"
    assert events["identify"]["user_id"] == "user-early"
    assert events["early_second"]["user_id"] == "user-early"


def test_cookieless_mode_stores_nothing_in_the_browser_and_sends_no_ids(
    page: Page,
    context: BrowserContext,
    test_site: TestSite,
    stored: StoredEvents,
    run_id: str,
    collect_requests: list[Request],
) -> None:
    page.goto(test_site.url("/cookieless.html", run=run_id))
    page.wait_for_function("() => window.clycyo && window.clycyo.visitorId")
    page.click("#purchase")
    page.click("#checkout")
    page.keyboard.press("End")
    sent = wait_sent(page, collect_requests, {"pageview", "purchase", "js_error"})

    assert page.evaluate("clycyo.visitorId()") is None
    assert page.evaluate("document.cookie") == ""
    assert page.evaluate("[localStorage.length, sessionStorage.length]") == [0, 0]
    leave(page)
    assert context.cookies() == []

    assert all("visitor_id" not in e and "session_id" not in e for e in sent)

    def mine(events: list[Event]) -> list[Event]:
        return [e for e in events if run_id in (e.get("url") or "")]

    found = stored.wait(lambda evs: {e["name"] for e in mine(evs)} >= {"pageview", "purchase"})
    assert found


def test_opt_out_flag_sends_nothing_at_all(
    chromium: Browser,
    context: BrowserContext,
    test_site: TestSite,
    stored: StoredEvents,
    run_id: str,
    collect_requests: list[Request],
) -> None:
    context.add_init_script("localStorage.setItem('clycyo_ignore', 'true')")
    page = context.new_page()
    page.goto(test_site.url("/index.html", run=run_id))
    page.wait_for_function("() => window.clycyo && window.clycyo.visitorId")
    page.click("#purchase")
    page.click("#login")
    page.click("#checkout")
    page.keyboard.press("End")
    page.wait_for_timeout(1500)  # past the batching delay, while the page can still be watched
    assert page.evaluate("clycyo.visitorId()") is None
    assert page.evaluate("document.cookie") == ""
    assert page.evaluate("Object.keys(localStorage)") == ["clycyo_ignore"]
    leave(page)

    assert collect_requests == []
    assert context.cookies() == []
    assert_nothing_stored_before_a_later_visit(chromium, test_site, stored, run_id)


def test_global_privacy_control_is_honoured_when_the_site_asks(
    chromium: Browser,
    context: BrowserContext,
    test_site: TestSite,
    stored: StoredEvents,
    run_id: str,
    collect_requests: list[Request],
) -> None:
    context.add_init_script(
        "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})"
    )
    page = context.new_page()
    page.goto(test_site.url("/dnt.html", run=run_id))
    page.wait_for_function("() => window.clycyo && window.clycyo.visitorId")
    page.click("#purchase")
    page.wait_for_timeout(1500)
    leave(page)
    assert collect_requests == []
    assert context.cookies() == []
    assert_nothing_stored_before_a_later_visit(chromium, test_site, stored, run_id)

    # Pages without data-respect-dnt track the same browser.
    page = context.new_page()
    open_tracked(page, test_site.url("/index.html", run=run_id))
    visitor = page.evaluate("clycyo.visitorId()")
    assert visitor
    stored.wait(lambda evs: matching(evs, visitor_id=visitor, type="pageview"))


def assert_nothing_stored_before_a_later_visit(
    chromium: Browser, test_site: TestSite, stored: StoredEvents, run_id: str
) -> None:
    """Whatever the refusing page might have sent left before a later visitor's pageview did."""
    later = chromium.new_context(user_agent=USER_AGENT)
    try:
        page = later.new_page()
        open_tracked(page, test_site.url("/about.html", run=run_id))
        visitor = page.evaluate("clycyo.visitorId()")
        stored.wait(lambda evs: matching(evs, visitor_id=visitor, type="pageview"))
    finally:
        later.close()
    refused = [e for e in stored.all() if run_id in (e["url"] or "") and e["visitor_id"] != visitor]
    assert refused == []
