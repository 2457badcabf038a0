"""The overview's hourly chart on a day the clocks change, in Chromium against a real server: a
25-hour day shows 25 hours, its repeated hour twice with each one's UTC offset; a 23-hour day
shows 23; an ordinary day names its hours without offsets. Hours are placed by the offsets the
chart's data gives, not by their labels, which carry one only for a repeated hour."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from tests.serverproc import ServerProcess, Site, clycyo
from tests.web.browsing import DESKTOP, Watched
from tests.web.conftest import CHROME

pytestmark = pytest.mark.browser
DOMAIN = "berlin.test"
EMAIL = "owner@berlin.test"
PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def berlin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Site]]:
    data: Path = tmp_path_factory.mktemp("dashboard-chart") / "data"
    server = ServerProcess(data).start()
    try:
        site = server.add_site(DOMAIN, timezone="Europe/Berlin")
        clycyo("user", "add", EMAIL, "--password-stdin", data=data, stdin=PASSWORD + "\n")
        visits = [  # (visitor, UTC time)
            ("a", "2026-10-25T00:30:00"),  # 02:30 summer time
            ("b", "2026-10-25T01:30:00"),  # 02:30 again, winter time
            ("c", "2026-10-25T01:40:00"),
            ("d", "2026-03-29T00:30:00"),  # 01:30 winter time
            ("e", "2026-03-29T01:30:00"),  # 03:30 summer time: 02:00 to 03:00 never was
        ]
        batch: list[dict[str, Any]] = [
            {
                "type": "pageview",
                "origin": "browser",
                "visitor_id": visitor,
                "url": f"https://{DOMAIN}/",
                "timestamp": int(dt.datetime.fromisoformat(f"{at}+00:00").timestamp() * 1000),
                "context": {"user_agent": CHROME},
            }
            for visitor, at in visits
        ]
        status, answer = site.post("/api/collect", {"batch": batch}, secret=True)
        assert status == 200 and answer["accepted"] == len(batch), answer
        site.events(limit="1")  # returns once everything acknowledged is in the store
        yield server, site
    finally:
        server.stop()


@pytest.fixture
def owner(berlin: tuple[ServerProcess, Site], browser: Browser) -> Iterator[Watched]:
    watched = Watched(browser.new_context(viewport=DESKTOP))
    watched.login(berlin[0].url, EMAIL, PASSWORD)
    yield watched
    watched.context.close()


def hours_shown(owner: Watched, url: str, day: str) -> tuple[dict[str, Any], list[str]]:
    """The chart's data, and every hour its legend names as the pointer crosses it."""
    page = owner.page
    page.goto(f"{url}/sites/{DOMAIN}?period=custom&from={day}&to={day}&metric=visits")
    chart: dict[str, Any] = json.loads(page.locator("#chart-data").text_content() or "{}")
    area = page.locator(".chart .u-over").bounding_box()
    assert area is not None
    legend = page.locator(".u-legend .u-series").nth(0).locator(".u-value")
    seen: list[str] = []
    for step in range(241):
        page.mouse.move(area["x"] + area["width"] * step / 240, area["y"] + area["height"] / 2)
        text = legend.inner_text()
        if text and (not seen or seen[-1] != text):
            seen.append(text)
    return chart, seen


def test_the_day_the_clocks_go_back_has_25_hours(
    berlin: tuple[ServerProcess, Site], owner: Watched
) -> None:
    chart, seen = hours_shown(owner, berlin[0].url, "2026-10-25")
    points = chart["points"]
    assert len(points) == 25
    assert points[1:5] == [
        ["2026-10-25T01:00:00", 0],
        ["2026-10-25T02:00:00+02:00", 1],
        ["2026-10-25T02:00:00+01:00", 2],
        ["2026-10-25T03:00:00", 0],
    ]
    assert chart["offsets"] == ["+02:00"] * 3 + ["+01:00"] * 22
    assert len(seen) == 25
    assert seen[1:5] == [
        "2026-10-25 01:00 +02:00",
        "2026-10-25 02:00 +02:00",
        "2026-10-25 02:00 +01:00",
        "2026-10-25 03:00 +01:00",
    ]
    owner.assert_clean()


def test_the_day_the_clocks_go_forward_has_23_hours(
    berlin: tuple[ServerProcess, Site], owner: Watched
) -> None:
    chart, seen = hours_shown(owner, berlin[0].url, "2026-03-29")
    points = chart["points"]
    assert [p[0] for p in points[1:3]] == ["2026-03-29T01:00:00", "2026-03-29T03:00:00"]
    assert chart["offsets"] == ["+01:00"] * 2 + ["+02:00"] * 21
    assert len(points) == 23 and len(seen) == 23
    assert seen[1:3] == ["2026-03-29 01:00 +01:00", "2026-03-29 03:00 +02:00"]
    owner.assert_clean()


def test_an_ordinary_day_names_its_hours_without_offsets(
    berlin: tuple[ServerProcess, Site], owner: Watched
) -> None:
    chart, seen = hours_shown(owner, berlin[0].url, "2026-10-24")
    assert [p[0] for p in chart["points"]] == [f"2026-10-24T{h:02}:00:00" for h in range(24)]
    assert chart["offsets"] == ["+02:00"] * 24
    assert seen == [f"2026-10-24 {h:02}:00" for h in range(24)]
    owner.assert_clean()
