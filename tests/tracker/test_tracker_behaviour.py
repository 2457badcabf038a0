"""Behaviour as stored: engagement, rage clicks, errors, custom events, links, web vitals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Page

from tests.tracker.browsing import Event, StoredEvents, leave, matching, open_tracked
from tests.tracker.fixture_site import TestSite

pytestmark = pytest.mark.browser

RATINGS = {"good", "needs-improvement", "poor"}


def test_scrolling_to_the_bottom_reports_full_depth_and_engaged_time(
    page: Page, test_site: TestSite, stored: StoredEvents
) -> None:
    open_tracked(page, test_site.url("/index.html"))
    visitor = page.evaluate("clycyo.visitorId()")
    page.wait_for_timeout(300)
    page.keyboard.press("End")
    page.wait_for_function("() => innerHeight + scrollY >= document.documentElement.scrollHeight")
    page.wait_for_timeout(700)
    leave(page)

    engagement = stored.wait(lambda evs: matching(evs, visitor_id=visitor, name="engagement"))
    assert len(engagement) == 1  # pagehide right after visibilitychange adds no duplicate
    props = engagement[0]["props"]
    assert int(props["scroll_depth"]) == 100
    assert 900 <= int(props["engaged_ms"]) < 60_000
    assert engagement[0]["url"] == test_site.url("/index.html")


def test_leaving_without_scrolling_reports_the_visible_part(
    page: Page, test_site: TestSite, stored: StoredEvents
) -> None:
    open_tracked(page, test_site.url("/index.html"))
    visitor = page.evaluate("clycyo.visitorId()")
    leave(page)
    (engagement,) = stored.wait(lambda evs: matching(evs, visitor_id=visitor, name="engagement"))
    # 720 px of a page over 4000 px tall.
    assert 0 < int(engagement["props"]["scroll_depth"]) < 25


def test_a_frame_with_no_height_reports_its_engagement_as_fully_seen(
    page: Page, test_site: TestSite, stored: StoredEvents
) -> None:
    # Scroll depth there is 0 px seen of 0 px: the frame holds nothing to scroll.
    page.goto(test_site.url("/frame.html"))
    frame = page.locator("#widget").element_handle().content_frame()
    assert frame
    frame.wait_for_function("() => window.clycyo && window.clycyo.visitorId")
    assert frame.evaluate("innerHeight + document.documentElement.scrollHeight") == 0
    visitor = frame.evaluate("clycyo.visitorId()")
    frame.evaluate("focus()")
    page.wait_for_timeout(300)
    leave(page)

    (engagement,) = stored.wait(lambda evs: matching(evs, visitor_id=visitor, name="engagement"))
    assert int(engagement["props"]["scroll_depth"]) == 100
    assert engagement["url"] == test_site.url("/empty.html")


def test_four_fast_clicks_on_one_button_are_one_rage_click(
    page: Page, test_site: TestSite, stored: StoredEvents
) -> None:
    open_tracked(page, test_site.url("/index.html"))
    visitor = page.evaluate("clycyo.visitorId()")
    box = page.locator("#buy .label").bounding_box()
    assert box
    for offset in (0, 3, -2, 4):  # a person's hand is never perfectly still
        page.mouse.click(box["x"] + box["width"] / 2 + offset, box["y"] + box["height"] / 2)
        page.wait_for_timeout(120)

    (rage,) = stored.wait(lambda evs: matching(evs, visitor_id=visitor, name="rage_click"))
    assert rage["props"]["selector"] == "button#buy.primary"
    assert int(rage["props"]["clicks"]) == 4

    # Two slow clicks later are no rage.
    page.click("#buy")
    page.wait_for_timeout(1100)
    page.click("#buy")
    leave(page)
    stored.wait(lambda evs: matching(evs, visitor_id=visitor, name="engagement"))
    assert len(matching(stored.all(), visitor_id=visitor, name="rage_click")) == 1


def test_a_rage_click_on_an_element_with_a_long_id_is_stored_with_the_selector_cut(
    page: Page, test_site: TestSite, stored: StoredEvents
) -> None:
    # The button's id is 3,000 characters long: its label is over a prop's limit (2,000).
    open_tracked(page, test_site.url("/long.html"))
    visitor = page.evaluate("clycyo.visitorId()")
    element_id = page.evaluate("document.querySelector('button.retry').id")
    assert len(element_id) == 3000
    box = page.locator("button.retry .label").bounding_box()
    assert box
    for _ in range(4):
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_timeout(120)

    (rage,) = stored.wait(lambda evs: matching(evs, visitor_id=visitor, name="rage_click"))
    assert rage["props"]["selector"] == f"button#{element_id}.retry"[:2000]
    assert int(rage["props"]["clicks"]) == 4


def test_a_thrown_error_is_reported_once_per_page(
    page: Page, test_site: TestSite, stored: StoredEvents
) -> None:
    open_tracked(page, test_site.url("/index.html"))
    visitor = page.evaluate("clycyo.visitorId()")
    page.click("#checkout")
    page.click("#checkout")
    page.click("#reject")
    page.wait_for_timeout(300)
    leave(page)

    def both(events: list[Event]) -> list[Event] | None:
        errors = matching(events, visitor_id=visitor, name="js_error")
        return errors if len(errors) >= 2 else None

    errors = stored.wait(both)
    page_errors = [e for e in errors if "Checkout exploded" in e["props"]["message"]]
    assert len(page_errors) == 1
    props = page_errors[0]["props"]
    assert props["source"] == test_site.url("/index.html")
    assert int(props["line"]) > 0
    assert int(props["column"]) > 0
    assert "Checkout exploded" in props["stack"]
    assert len(props["stack"]) <= 1000
    rejections = [e for e in errors if "Payment promise rejected" in e["props"]["message"]]
    assert len(rejections) == 1


def test_a_rejection_with_a_reason_that_is_no_text_is_reported(
    page: Page, test_site: TestSite, stored: StoredEvents
) -> None:
    open_tracked(page, test_site.url("/about.html"))
    visitor = page.evaluate("clycyo.visitorId()")
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(error.message))
    page.evaluate("() => { Promise.reject(Symbol('card declined')) }")
    page.evaluate("() => { Promise.reject({ toString() { throw new Error('no text') } }) }")
    page.wait_for_timeout(300)
    leave(page)

    def both(events: list[Event]) -> list[Event] | None:
        errors = matching(events, visitor_id=visitor, name="js_error")
        return errors if len(errors) >= 2 else None

    messages = sorted(e["props"]["message"] for e in stored.wait(both))
    assert messages == ["Symbol(card declined)", "Unhandled rejection"]
    # The page sees its own rejections, and no error of the tracker's.
    assert not [m for m in page_errors if "convert" in m or "no text" in m]


def test_a_custom_event_keeps_its_props_revenue_and_order_id(
    page: Page, test_site: TestSite, stored: StoredEvents
) -> None:
    open_tracked(page, test_site.url("/index.html"))
    visitor = page.evaluate("clycyo.visitorId()")
    page.click("#purchase")

    (purchase,) = stored.wait(lambda evs: matching(evs, visitor_id=visitor, name="purchase"))
    assert purchase["type"] == "event"
    assert purchase["props"]["plan"] == "pro"
    assert purchase["props"]["seats"] == "3"
    assert purchase["props"]["trial"].lower() == "false"
    assert Decimal(purchase["revenue_amount"]) == Decimal("49.00")
    assert purchase["revenue_currency"] == "EUR"
    assert purchase["order_id"] == "ord-1001"
    assert purchase["url"] == test_site.url("/index.html")
    assert purchase["session_id"]


def test_outbound_click_is_reported_as_the_page_is_left(
    page: Page, test_site: TestSite, stored: StoredEvents
) -> None:
    open_tracked(page, test_site.url("/index.html"))
    visitor = page.evaluate("clycyo.visitorId()")
    page.click("#partner")
    page.wait_for_url(test_site.other_origin + "/outside.html")

    (outbound,) = stored.wait(lambda evs: matching(evs, visitor_id=visitor, name="outbound_click"))
    assert outbound["props"]["url"] == test_site.other_origin + "/outside.html"
    assert outbound["url"] == test_site.url("/index.html")


def test_file_download_is_reported(page: Page, test_site: TestSite, stored: StoredEvents) -> None:
    open_tracked(page, test_site.url("/index.html"))
    visitor = page.evaluate("clycyo.visitorId()")
    with page.expect_download():
        page.click("#price-list")

    (download,) = stored.wait(lambda evs: matching(evs, visitor_id=visitor, name="file_download"))
    assert download["props"]["url"] == test_site.url("/files/price-list.pdf")
    assert not matching(stored.all(), visitor_id=visitor, name="outbound_click")


def test_links_to_long_urls_are_stored_with_the_url_cut_to_the_props_limit(
    page: Page, test_site: TestSite, stored: StoredEvents
) -> None:
    # Both links are about 3,000 characters long: under a page URL's limit, over a prop's (2,000).
    open_tracked(page, test_site.url("/long.html"))
    visitor = page.evaluate("clycyo.visitorId()")
    with page.expect_download():
        page.click("#report")
    page.click("#partner")
    page.wait_for_url(lambda url: url.startswith(test_site.other_origin + "/outside.html?ref="))

    def both(events: list[Event]) -> tuple[Event, Event] | None:
        downloads = matching(events, visitor_id=visitor, name="file_download")
        outbound = matching(events, visitor_id=visitor, name="outbound_click")
        return (downloads[0], outbound[0]) if downloads and outbound else None

    download, outbound = stored.wait(both)
    # The query goes but for its campaign; without one, the `?` goes too.
    assert download["props"]["url"] == test_site.url("/files/report.pdf", utm_source="shop")
    assert outbound["props"]["url"] == test_site.other_origin + "/outside.html"


def test_an_error_from_a_long_source_url_is_stored_with_the_source_cut(
    page: Page, test_site: TestSite, stored: StoredEvents
) -> None:
    # An inline script's errors come from the page's own address: about 3,000 characters long.
    page_url = test_site.url("/long.html", utm_source="newsletter", state="s" * 3000)
    open_tracked(page, page_url)
    visitor = page.evaluate("clycyo.visitorId()")
    page.click("#fail")

    (error,) = stored.wait(lambda evs: matching(evs, visitor_id=visitor, name="js_error"))
    assert "Report failed" in error["props"]["message"]
    assert error["props"]["source"] == test_site.url("/long.html", utm_source="newsletter")
    assert error["url"] == page_url  # within the limit on a page's URL: whole


def test_web_vitals_are_measured_and_rated(
    page: Page, test_site: TestSite, stored: StoredEvents
) -> None:
    open_tracked(page, test_site.url("/vitals.html"))
    visitor = page.evaluate("clycyo.visitorId()")
    page.wait_for_timeout(800)  # the late banner shifts the layout
    page.click("#slow")  # a 300 ms event handler: a slow interaction
    page.wait_for_timeout(300)
    leave(page)

    def all_five(events: list[Event]) -> dict[str, Event] | None:
        vitals = {
            e["props"]["metric"]: e for e in matching(events, visitor_id=visitor, name="web_vital")
        }
        return vitals if set(vitals) == {"LCP", "INP", "CLS", "FCP", "TTFB"} else None

    vitals = stored.wait(all_five)
    for metric, event in vitals.items():
        assert event["props"]["rating"] in RATINGS, metric
        assert float(event["props"]["value"]) >= 0, metric
        assert event["url"] == test_site.url("/vitals.html")
    assert float(vitals["CLS"]["props"]["value"]) > 0
    assert int(vitals["INP"]["props"]["value"]) >= 250
    assert vitals["INP"]["props"]["rating"] in {"needs-improvement", "poor"}
    assert 0 < int(vitals["FCP"]["props"]["value"]) <= int(vitals["LCP"]["props"]["value"])
    # Reported once per page load, on the first hide.
    assert len(matching(stored.all(), visitor_id=visitor, name="web_vital")) == 5
