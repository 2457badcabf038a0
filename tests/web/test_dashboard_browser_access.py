"""The dashboard in Chromium against a real server: logging in (with two-factor too) and out,
shared links, refusals."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser

from tests.serverproc import clycyo
from tests.web.browsing import DESKTOP, Watched
from tests.web.world import DOMAIN, World, build_world

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    built = build_world(tmp_path_factory.mktemp("dashboard-access"), visitors_per_day=10, days=7)
    yield built
    built.server.stop()


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport=DESKTOP)
    yield Watched(context)
    context.close()


def test_login_and_logout(world: World, watched: Watched) -> None:
    page = watched.page
    page.goto(f"{world.url}/sites/{DOMAIN}/funnels")
    assert "/login" in page.url  # not logged in: the login form, remembering where to go
    watched.screenshot("login")
    page.fill("input[name=email]", world.email)
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    assert page.get_by_role("alert").inner_text() == "Wrong email or password."
    watched.problems.clear()  # the 401 of the failed login is logged by the browser
    page.fill("input[name=password]", world.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{world.url}/sites/{DOMAIN}/funnels")
    assert page.locator(".who").inner_text() == world.email
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{world.url}/login")
    status = page.evaluate("async (u) => (await fetch(u)).status", f"/sites/{DOMAIN}/funnels.json")
    assert status == 401  # the session ended on the server, not only in the browser
    watched.problems.clear()  # the browser logs the 401
    watched.assert_clean()


def test_two_factor_turned_on_in_the_account_page_asks_for_a_code_at_login(
    world: World, watched: Watched
) -> None:
    email = "second-factor@example.com"
    clycyo(
        "user", "add", email, "--site", DOMAIN, "--password-stdin",
        data=world.server.data_dir, stdin=world.password + "\n",
    )  # fmt: skip
    page = watched.page
    watched.login(world.url, email, world.password)
    page.get_by_role("link", name="Account").click()
    page.wait_for_url(f"{world.url}/account")
    assert page.locator("img.qr").evaluate("(img) => img.naturalWidth") > 100  # the QR drawn
    secret = page.locator("[data-secret]").inner_text().replace(" ", "")
    page.fill("input[name=code]", pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    assert page.locator(".recovery-codes li").count() == 10
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{world.url}/login")

    page.goto(f"{world.url}/sites/{DOMAIN}/funnels")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", world.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{world.url}/login/code")
    status = page.evaluate("async (u) => (await fetch(u)).status", f"/sites/{DOMAIN}/funnels.json")
    assert status == 401  # no session yet
    watched.problems.clear()  # the browser logs the 401
    page.fill("input[name=code]", pyotp.TOTP(secret).at(time.time() + 30))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{world.url}/sites/{DOMAIN}/funnels")
    assert page.locator(".who").inner_text() == email
    watched.assert_clean()


def test_data_endpoints_refuse_anonymous_requests(world: World, watched: Watched) -> None:
    page = watched.page
    page.goto(f"{world.url}/login")
    statuses = page.evaluate(
        """async (paths) => Promise.all(paths.map(async (p) => (await fetch(p)).status))""",
        [
            f"/sites/{DOMAIN}.json",
            f"/sites/{DOMAIN}/panels/pages.json",
            f"/sites/{DOMAIN}/people.json?q=user",
            f"/sites/{DOMAIN}/realtime.json",
            f"/api/v1/events?site={DOMAIN}",
            "/sites.json",
        ],
    )
    assert statuses == [401] * 6


def test_a_shared_link_works_without_login_and_stops_when_revoked(
    world: World, browser: Browser, tmp_path: Path
) -> None:
    owner = Watched(browser.new_context(viewport=DESKTOP))
    owner.login(world.url, world.email, world.password)
    owner.page.goto(f"{world.url}/sites/{DOMAIN}/settings")
    owner.page.fill("input[name=label]", "board <b>members</b>")
    owner.page.click("[data-create-link]")
    link = owner.page.locator("input.secret").input_value()
    assert "/share/sh_" in link
    owner.screenshot("settings-new-link")

    visitor = Watched(browser.new_context(viewport=DESKTOP))
    visitor.page.goto(link + "?period=7d")
    visitor.wait_for_panels()
    assert (
        int(
            visitor.page.locator("[data-metric=visitors] .metric-value").get_attribute("data-value")
            or 0
        )
        > 0
    )
    assert visitor.page.locator("#panel-pages table.ranked tr").count() > 1
    visitor.screenshot("shared-overview")
    visitor.page.goto(link + "/funnels")
    assert visitor.page.locator(".badge").inner_text() == "shared, read-only"
    assert visitor.page.get_by_role("link", name="People").count() == 0
    assert visitor.page.get_by_role("link", name="Settings").count() == 0
    status = visitor.page.evaluate("async (u) => (await fetch(u)).status", link + "/funnels.json")
    assert status == 200
    visitor.assert_clean()

    owner.page.goto(f"{world.url}/sites/{DOMAIN}/settings")
    with owner.page.expect_navigation():
        owner.page.click("[data-revoke-link]")
    assert "revoked" in owner.page.locator("table.plain").first.inner_text()
    response = visitor.page.goto(link + "/funnels")
    assert response is not None and response.status == 404
    owner.context.close()
    visitor.context.close()
