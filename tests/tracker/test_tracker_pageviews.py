"""Pageviews as stored: the landing page with its acquisition data, and SPA navigation."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page

from tests.serverproc import Site, clycyo
from tests.tracker.browsing import StoredEvents, by_time, leave, matching, open_tracked
from tests.tracker.fixture_site import TestSite

pytestmark = pytest.mark.browser


def test_landing_pageview_carries_utms_click_id_referrer_title_and_screen(
    page: Page, test_site: TestSite, stored: StoredEvents
) -> None:
    url = test_site.url(
        "/index.html",
        utm_source="newsletter",
        utm_medium="email",
        utm_campaign="spring",
        gclid="Cj0KCQtest",
    )
    open_tracked(page, url, referer="https://www.google.com/")
    visitor = page.evaluate("clycyo.visitorId()")

    (pageview,) = stored.wait(lambda evs: matching(evs, visitor_id=visitor, type="pageview"))
    assert pageview["url"] == url
    assert pageview["page"] == "/index.html"
    assert pageview["utm_source"] == "newsletter"
    assert pageview["utm_medium"] == "email"
    assert pageview["utm_campaign"] == "spring"
    assert pageview["click_id"]
    assert pageview["referrer"].startswith("https://www.google.com")
    assert pageview["title"] == "Test shop"
    assert pageview["screen"] == "1920x1080"
    assert pageview["session_id"]
    assert pageview["origin"] == "browser"


def test_a_second_page_of_the_site_has_the_first_as_referrer_and_the_same_session(
    page: Page, test_site: TestSite, stored: StoredEvents
) -> None:
    open_tracked(page, test_site.url("/index.html"))
    visitor = page.evaluate("clycyo.visitorId()")
    page.click("#about")
    page.wait_for_url("**/about.html")

    pageviews = stored.wait(
        lambda evs: len(found := matching(evs, visitor_id=visitor, type="pageview")) == 2 and found
    )
    first, second = by_time(pageviews)
    assert second["url"] == test_site.url("/about.html")
    assert second["referrer"] == test_site.url("/index.html")
    assert second["session_id"] == first["session_id"]


def test_spa_navigation_counts_each_new_url_once(
    page: Page, test_site: TestSite, stored: StoredEvents
) -> None:
    open_tracked(page, test_site.url("/spa.html"), referer="https://news.example.org/")
    visitor = page.evaluate("clycyo.visitorId()")
    page.click("#to-pricing")  # pushState
    page.wait_for_timeout(200)
    page.click("#to-checkout")  # pushState with a query
    page.wait_for_timeout(200)
    page.go_back()  # popstate
    page.wait_for_timeout(200)
    page.click("#to-faq")  # hash change
    page.wait_for_timeout(200)
    page.click("#refresh")  # replaceState to the same URL: not a new pageview
    page.wait_for_timeout(200)
    leave(page)

    expected = [
        "/spa.html",
        "/spa/pricing",
        "/spa/checkout?step=2",
        "/spa/pricing",
        "/spa/pricing#faq",
    ]
    pageviews = stored.wait(
        lambda evs: len(found := matching(evs, visitor_id=visitor, type="pageview")) >= 5 and found
    )
    pageviews = by_time(pageviews)
    assert [p["url"].removeprefix(test_site.origin) for p in pageviews] == expected
    assert pageviews[1]["title"] == "Pricing - SPA"
    assert pageviews[2]["title"] == "Checkout - SPA"
    # Only the landing has a referrer; in-app navigation is not a new source.
    assert pageviews[0]["referrer"] == "https://news.example.org/"
    assert all(not p["referrer"] for p in pageviews[1:])
    assert len({p["session_id"] for p in pageviews}) == 1

    # Each page left reports its own engagement, under its own URL.
    engaged = stored.wait(
        lambda evs: (
            len(found := matching(evs, visitor_id=visitor, name="engagement")) >= 5 and found
        )
    )
    engaged_urls = {e["url"].removeprefix(test_site.origin) for e in engaged}
    assert engaged_urls == set(expected)


def test_with_data_spa_false_only_loads_and_manual_pageviews_count(
    page: Page, test_site: TestSite, stored: StoredEvents
) -> None:
    open_tracked(page, test_site.url("/spa-manual.html"))
    visitor = page.evaluate("clycyo.visitorId()")
    page.click("#to-pricing")
    page.click("#to-checkout")
    page.evaluate("clycyo('pageview')")  # the app reports its own route change
    page.evaluate("clycyo('pageview')")  # the same URL again: not a second view
    leave(page)

    pageviews = stored.wait(
        lambda evs: len(found := matching(evs, visitor_id=visitor, type="pageview")) >= 2 and found
    )
    stored.wait(lambda evs: matching(evs, visitor_id=visitor, name="engagement"))
    pageviews = by_time(matching(stored.all(), visitor_id=visitor, type="pageview"))
    assert [p["url"].removeprefix(test_site.origin) for p in pageviews] == [
        "/spa-manual.html",
        "/spa/checkout?step=2",
    ]


def test_a_title_and_urls_over_the_servers_limits_are_cut_and_the_pageviews_stored(
    page: Page, test_site: TestSite, stored: StoredEvents, server: Site
) -> None:
    campaign = "utm_source=newsletter&utm_medium=email&utm_campaign=spring"
    # Over the limit by its query: the campaign stays, the rest of the query and the fragment go.
    open_tracked(page, test_site.url("/long.html") + f"?state={'s' * 5000}&{campaign}#top")
    visitor = page.evaluate("clycyo.visitorId()")
    # Over the limit by its fragment alone: only the fragment goes.
    page.evaluate("history.pushState(null, '', '/spa/report?view=full#' + 'f'.repeat(5000))")
    page.wait_for_timeout(200)
    # A path over the limit: cut at it (its campaign cannot fit).
    page.evaluate("history.pushState(null, '', '/' + 'p'.repeat(5000) + '?utm_source=x')")
    page.wait_for_timeout(200)
    # Over the limit by a query without a campaign: the query goes, and its `?` with it.
    page.evaluate("history.pushState(null, '', '/spa/search?q=' + 'q'.repeat(5000))")
    page.wait_for_timeout(200)
    leave(page)

    pageviews = stored.wait(
        lambda evs: len(found := matching(evs, visitor_id=visitor, type="pageview")) >= 4 and found
    )
    landing, report, long_path, search = by_time(pageviews)
    assert landing["url"] == f"{test_site.origin}/long.html?{campaign}"
    assert landing["title"] == "a" * 1999 + "\N{GRINNING FACE}"
    assert (landing["utm_source"], landing["utm_campaign"]) == ("newsletter", "spring")
    assert report["url"] == f"{test_site.origin}/spa/report?view=full"
    assert long_path["url"] == f"{test_site.origin}/{'p' * 5000}"[:4096]
    assert search["url"] == f"{test_site.origin}/spa/search"
    listing = json.loads(
        clycyo("quarantine", "list", "--json", "--limit", "500", data=server.data_dir)
    )
    assert [e for e in listing if e["site"] == server.site] == []

    # The visit's acquisition is read from the cut landing URL.
    query = {
        "site": server.site,
        "metrics": ["visitors"],
        "dimensions": ["first_touch:utm_campaign"],
        "date_range": "7d",
    }
    status, answer = server.post("/api/v1/query", query, secret=True)
    assert status == 200, answer
    assert [r["dimensions"] for r in answer["results"]] == [["spring"]]
