"""Annotations on the overview chart, in Chromium against a real server: a thin marker at each
bucket that has some, its notes shown on hover and on keyboard focus, a note that looks like
markup shown as text (nothing runs), and the same markers on a shared link's page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from clycyo.config.access import AccessStore
from clycyo.config.annotations import AnnotationStore
from clycyo.config.store import ConfigStore
from tests.serverproc import ServerProcess, Site, clycyo
from tests.web.browsing import DESKTOP, Watched
from tests.web.conftest import CHROME

pytestmark = pytest.mark.browser
DOMAIN = "notes.test"
EMAIL = "owner@notes.test"
PASSWORD = "a long enough password"
HOSTILE = "<img src=x onerror=alert(1)>"
PERIOD = "period=custom&from=2026-11-10&to=2026-11-16"


def _utc(text: str) -> float:
    return dt.datetime.fromisoformat(f"{text}+00:00").timestamp()


@pytest.fixture(scope="module")
def noted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    data: Path = tmp_path_factory.mktemp("dashboard-annotations") / "data"
    server = ServerProcess(data).start()
    try:
        site: Site = server.add_site(DOMAIN)
        clycyo("user", "add", EMAIL, "--password-stdin", data=data, stdin=PASSWORD + "\n")
        batch: list[dict[str, Any]] = [
            {
                "type": "pageview",
                "origin": "browser",
                "visitor_id": f"v{day}",
                "url": f"https://{DOMAIN}/",
                "timestamp": int(_utc(f"2026-11-{day}T12:00:00") * 1000),
                "context": {"user_agent": CHROME},
            }
            for day in range(10, 17)
        ]
        status, answer = site.post("/api/collect", {"batch": batch}, secret=True)
        assert status == 200 and answer["accepted"] == len(batch), answer
        site.events(limit="1")  # returns once everything acknowledged is in the store
        config = ConfigStore(data / "config.sqlite")
        found = config.site_by_domain(DOMAIN)
        assert found is not None
        store = AnnotationStore(config)
        store.add(found.id, "Release 2.4", at=_utc("2026-11-12T09:30:00"), created_by="cli")
        store.add(found.id, HOSTILE, at=_utc("2026-11-12T18:00:00"), created_by="cli")
        store.add(found.id, "Campaign", at=_utc("2026-11-15T08:00:00"), created_by="cli")
        store.add(found.id, "Outside", at=_utc("2026-11-20T08:00:00"), created_by="cli")
        link, _ = AccessStore(config).add_shared_link(found.id)
        yield server, link
    finally:
        server.stop()


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    page = Watched(browser.new_context(viewport=DESKTOP))
    yield page
    page.context.close()


def test_markers_show_their_notes_as_text(
    noted: tuple[ServerProcess, str], watched: Watched
) -> None:
    server, _ = noted
    watched.login(server.url, EMAIL, PASSWORD)
    page = watched.page
    page.goto(f"{server.url}/sites/{DOMAIN}?{PERIOD}&metric=visitors")
    markers = page.locator("[data-annotation-marker]")
    markers.first.wait_for()
    assert [markers.nth(i).get_attribute("data-annotation-marker") for i in range(2)] == [
        "2026-11-12T00:00:00",
        "2026-11-15T00:00:00",
    ]
    assert markers.count() == 2  # two notes on the 12th share one marker; none outside
    # Each marker stands at its day on the chart: left of the next, inside the plot.
    area = page.locator(".chart .u-over").bounding_box()
    boxes = [markers.nth(i).bounding_box() for i in range(2)]
    assert area is not None and all(boxes)
    assert area["x"] < boxes[0]["x"] < boxes[1]["x"] < area["x"] + area["width"]  # type: ignore[index]
    tip = markers.first.locator(".annotation-tip")
    assert not tip.is_visible()
    markers.first.hover()
    assert tip.is_visible()
    notes = tip.locator(".annotation-note")
    assert notes.count() == 2
    assert notes.nth(0).inner_text() == "2026-11-12 09:30 Release 2.4"
    assert notes.nth(1).inner_text() == f"2026-11-12 18:00 {HOSTILE}"
    assert page.locator(".chart img").count() == 0  # the note's markup is text, not an image
    page.mouse.move(0, 0)
    assert not tip.is_visible()
    markers.nth(1).focus()  # the keyboard reaches a marker, and focus shows its note
    second = markers.nth(1).locator(".annotation-tip")
    assert second.is_visible() and second.inner_text() == "2026-11-15 08:00 Campaign"
    watched.screenshot("overview-annotations", full_page=False)
    watched.assert_clean()


def test_a_shared_link_shows_the_markers(
    noted: tuple[ServerProcess, str], watched: Watched
) -> None:
    server, link = noted
    page = watched.page
    page.goto(f"{server.url}/share/{link}?{PERIOD}")
    markers = page.locator("[data-annotation-marker]")
    markers.first.wait_for()
    assert markers.count() == 2
    markers.first.hover()
    assert HOSTILE in markers.first.locator(".annotation-tip").inner_text()
    watched.assert_clean()
