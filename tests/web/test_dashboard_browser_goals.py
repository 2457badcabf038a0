"""A page goal in Chromium against a real server: made on the Settings page, listed in the goals
panel with the query API's numbers for the body the panel reports, and chosen by a click, which
turns the totals into the goal's."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

import pytest
from playwright.sync_api import Browser

from tests.web.browsing import DESKTOP, Watched
from tests.web.test_dashboard_browser_views import fetch_json, same_number
from tests.web.world import DOMAIN, World, build_world

pytestmark = pytest.mark.browser
OVERVIEW = f"/sites/{DOMAIN}"
GOAL = "Visit /blog/**"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    built = build_world(tmp_path_factory.mktemp("dashboard-goals"), visitors_per_day=15, days=3)
    yield built
    built.server.stop()


def test_a_page_goal_made_in_settings_is_counted_and_chosen(world: World, browser: Browser) -> None:
    owner = Watched(browser.new_context(viewport=DESKTOP))
    owner.login(world.url, world.email, world.password)
    page = owner.page
    page.goto(f"{world.url}{OVERVIEW}/settings")
    page.fill("input[name=pattern]", "/blog/**")
    with page.expect_navigation():
        page.locator("[data-add-goal]").click()
    assert page.locator("code", has_text=GOAL).count() == 1

    page.goto(f"{world.url}{OVERVIEW}?period=7d")
    owner.wait_for_panels()
    data = fetch_json(owner, f"{OVERVIEW}/panels/goals.json?period=7d")
    answer = world.query(data["page_goal_query"])["results"][0]["metrics"]
    assert answer[0] > 0  # the demo's visitors read the blog
    row = page.locator("#panel-goals table.ranked tbody tr").first
    assert row.locator("td.label a").inner_text().strip() == GOAL
    cells = row.locator("td.num")
    for column, value in enumerate(answer):
        assert same_number(cells.nth(column).get_attribute("data-value") or "", value), column

    with page.expect_navigation():
        row.locator("td.label a").click()
    owner.wait_for_panels()
    assert ("f", f"is,event:goal,{GOAL}") in parse_qsl(urlsplit(page.url).query)
    assert page.locator(".chip .chip-value").inner_text() == GOAL
    totals = fetch_json(owner, f"{OVERVIEW}.json?{urlsplit(page.url).query}")
    expected = world.query(totals["queries"]["totals"])["results"][0]["metrics"]
    shown = page.locator("[data-metric=conversions] .metric-value").get_attribute("data-value")
    assert same_number(shown or "", expected[0])
    assert expected[0] == answer[0]  # unique conversions: the goal's visitors
    label = page.locator("[data-metric=conversions]").text_content() or ""
    assert "Unique conversions" in label
    owner.assert_clean()
    owner.context.close()
