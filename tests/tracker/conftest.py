"""Fixtures of the tracker's end-to-end tests: a test site, Chromium, and the stored events.

The Clycyo server comes from the `server` fixture of `tests/conftest.py`: a fresh site (`site`, a
`*.localhost` domain, with `public_key` and `secret_key`) on a running server (`url`). The test
site is served on the site's domain, another origin than the server, as on a real deployment, and
every assertion reads what the server stored, through `GET /api/v1/events`.
This module must not start or configure the Clycyo server itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, sync_playwright

from tests.tracker.browsing import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SCREEN,
    USER_AGENT,
    VIEWPORT,
    StoredEvents,
)
from tests.tracker.fixture_site import TestSite


@pytest.fixture
def test_site(server: Any) -> Iterator[TestSite]:
    # The page's host is the site's domain (the server accepts a page only on its site's hosts);
    # its origin differs from the server's, as on a real deployment.
    other = "localhost" if server.site == "127.0.0.1" else "127.0.0.1"
    site = TestSite(server.site, other, f"{server.url}/js/clycyo.js", server.public_key)
    site.start()
    yield site
    site.stop()


@pytest.fixture(scope="package")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(chromium: Browser) -> Iterator[BrowserContext]:
    context = chromium.new_context(
        user_agent=USER_AGENT, viewport=VIEWPORT, screen=SCREEN, locale="de-DE"
    )
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def stored(server: Any) -> StoredEvents:
    return StoredEvents(server)


@pytest.fixture
def run_id() -> str:
    """A marker put in page URLs, to find one test's events when no visitor id exists."""
    return uuid.uuid4().hex


@pytest.fixture
def collect_requests(context: BrowserContext, server: Any) -> list[Request]:
    """Every request the pages of this test made to the collector, as the browser sent it."""
    sent: list[Request] = []
    collect_url = f"{server.url}/api/collect"
    context.on("request", lambda r: sent.append(r) if r.url.startswith(collect_url) else None)
    return sent
