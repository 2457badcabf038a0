"""The overview's Filter control in Chromium against a real server: typing part of a source fills
the value's suggestions from `suggest.json` (a value that looks like markup stays text), and
submitting the form reloads the overview with the filter's chip, the period kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser

from tests.serverproc import ServerProcess, Site, clycyo
from tests.web.browsing import DESKTOP, Watched
from tests.web.filter_world import HOSTILE, PERIOD, fill

pytestmark = pytest.mark.browser
EMAIL = "owner@filters.test"
PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Site]]:
    data: Path = tmp_path_factory.mktemp("dashboard-filter") / "data"
    running = ServerProcess(data).start()
    try:
        site = running.add_site("filters.test")
        clycyo("user", "add", EMAIL, "--password-stdin", data=data, stdin=PASSWORD + "\n")
        fill(site)
        yield running, site
    finally:
        running.stop()


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    page = Watched(browser.new_context(viewport=DESKTOP))
    yield page
    page.context.close()


def test_typing_suggests_sources_and_submitting_adds_the_chip(
    server: tuple[ServerProcess, Site], watched: Watched
) -> None:
    running, site = server
    watched.login(running.url, EMAIL, PASSWORD)
    page = watched.page
    page.goto(f"{running.url}/sites/{site.site}?{PERIOD}")
    form = page.locator("[data-filter-form]")
    form.locator("select[name=dimension]").select_option("visit:utm_source")
    value = form.locator("input[name=value]")
    value.press_sequentially("<im")
    options = page.locator("#filter-values option")
    options.first.wait_for(state="attached")
    assert [options.nth(i).get_attribute("value") for i in range(options.count())] == [HOSTILE]
    assert page.locator("img").count() == 0
    value.fill("")
    value.press_sequentially("lett")
    page.wait_for_function(
        "() => document.querySelectorAll('#filter-values option').length === 2"
        " && document.querySelector('#filter-values option').value === 'newsletter-alpha'"
    )
    form.locator("select[name=op]").select_option("is")
    value.fill("newsletter-alpha")
    watched.screenshot("overview-filter-form", full_page=False)
    form.locator("button[type=submit]").click()
    chip = page.locator(".chips .chip")
    chip.first.wait_for()
    assert chip.count() == 1
    assert chip.inner_text().split()[:4] == ["UTM", "source", "is", "newsletter-alpha"]
    assert "period=custom" in page.url and "from=2026-11-10" in page.url
    assert (
        page.locator('.metric-card[data-metric="visitors"] .metric-value').get_attribute(
            "data-value"
        )
        == "3"
    )
    watched.assert_clean()


def test_the_property_keys_come_after_the_page(
    server: tuple[ServerProcess, Site], watched: Watched
) -> None:
    running, site = server
    watched.login(running.url, EMAIL, PASSWORD)
    page = watched.page
    page.goto(f"{running.url}/sites/{site.site}?{PERIOD}")
    group = page.locator("[data-filter-properties]")
    page.wait_for_function("() => !document.querySelector('[data-filter-properties]').hidden")
    assert group.locator("option").all_inner_texts() == ["Property layout"]
    form = page.locator("[data-filter-form]")
    form.locator("select[name=dimension]").select_option("event:props:layout")
    form.locator("input[name=value]").fill("b")
    form.locator("button[type=submit]").click()
    page.locator(".chips .chip").first.wait_for()
    assert parse_qs(urlsplit(page.url).query)["f"] == ["is,event:props:layout,b"]
    watched.assert_clean()
