"""The dashboard in the system's dark mode, in Chromium against a real server: the overview,
settings and account pages turn dark with light text that keeps WCAG AA contrast, the chart's
lines take the dark set's colours (and change when the system's setting does, without a
reload), the two-factor QR code stays black on white, and the light look is what it was."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.serverproc import ServerProcess, clycyo
from tests.web.browsing import DESKTOP, Watched
from tests.web.conftest import CHROME

pytestmark = pytest.mark.browser
DOMAIN = "dusk.test"
EMAIL = "owner@dusk.test"
PASSWORD = "a long enough password"
OVERVIEW = f"/sites/{DOMAIN}?period=custom&from=2026-11-01&to=2026-11-20&metric=visitors"
PAGES = [OVERVIEW, f"/sites/{DOMAIN}/settings", "/account"]
LIGHT_LINE = (79, 70, 229)  # the chart's line in the light set (#4f46e5)

# Computed colours of the light look, read before the dark set existed: they must not move.
LIGHT = {
    "html background": "rgb(246, 247, 249)",
    "body text": "rgb(17, 24, 39)",
    "topbar background": "rgb(255, 255, 255)",
    "card background": "rgb(255, 255, 255)",
    "card border": "rgb(229, 231, 235)",
    "link": "rgb(79, 70, 229)",
    "metric label": "rgb(107, 114, 128)",
    "selected card border": "rgb(79, 70, 229)",
}
LIGHT_SETTINGS = {
    "input background": "rgb(255, 255, 255)",
    "primary button background": "rgb(79, 70, 229)",
    "primary button text": "rgb(255, 255, 255)",
}

# Each element a colour is read of, and the property read.
PROBES = {
    "html background": ("html", "backgroundColor"),
    "body text": ("body", "color"),
    "topbar background": (".topbar", "backgroundColor"),
    "card background": (".chart-card", "backgroundColor"),
    "card border": (".chart-card", "borderTopColor"),
    "link": (".sections a[aria-current=page]", "borderBottomColor"),
    "metric label": (".metric-label", "color"),
    "selected card border": (".metric-card.selected", "borderTopColor"),
    "input background": ("main input[type=text]", "backgroundColor"),
    "primary button background": ("main button.primary", "backgroundColor"),
    "primary button text": ("main button.primary", "color"),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data: Path = tmp_path_factory.mktemp("dashboard-dark") / "data"
    server = ServerProcess(data).start()
    try:
        site = server.add_site(DOMAIN)
        clycyo("user", "add", EMAIL, "--password-stdin", data=data, stdin=PASSWORD + "\n")
        batch: list[dict[str, Any]] = [
            {
                "type": "pageview",
                "origin": "browser",
                "visitor_id": f"v{day}-{n}",
                "url": f"https://{DOMAIN}/",
                "timestamp": int(dt.datetime(2026, 11, day, 12, tzinfo=dt.UTC).timestamp() * 1000),
                "context": {"user_agent": CHROME},
            }
            for day in (3, 8, 9, 15)
            for n in range(day % 4 + 1)
        ]
        status, answer = site.post("/api/collect", {"batch": batch}, secret=True)
        assert status == 200 and answer["accepted"] == len(batch), answer
        site.events(limit="1")  # returns once everything acknowledged is in the store
        yield server
    finally:
        server.stop()


def signed_in(server: ServerProcess, browser: Browser, scheme: str) -> Watched:
    watched = Watched(browser.new_context(viewport=DESKTOP, color_scheme=scheme))  # type: ignore[arg-type]
    watched.login(server.url, EMAIL, PASSWORD)
    return watched


@pytest.fixture
def dark(server: ServerProcess, browser: Browser) -> Iterator[Watched]:
    watched = signed_in(server, browser, "dark")
    yield watched
    watched.context.close()


@pytest.fixture
def light(server: ServerProcess, browser: Browser) -> Iterator[Watched]:
    watched = signed_in(server, browser, "light")
    yield watched
    watched.context.close()


def rgb(colour: str) -> tuple[int, int, int]:
    numbers = re.findall(r"[\d.]+", colour)
    assert len(numbers) >= 3, colour
    if len(numbers) == 4:
        assert float(numbers[3]) == 1, f"not opaque: {colour}"
    return int(numbers[0]), int(numbers[1]), int(numbers[2])


def luminance(colour: tuple[int, int, int]) -> float:
    """WCAG 2's relative luminance of an sRGB colour."""
    linear = [c / 255 / 12.92 if c <= 10 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in colour]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(rgb(a)), luminance(rgb(b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def colours(page: Page, names: list[str]) -> dict[str, str]:
    found: dict[str, str] = page.evaluate(
        """(probes) => Object.fromEntries(probes.map(([name, selector, property]) => {
            const el = document.querySelector(selector)
            return [name, el ? getComputedStyle(el)[property] : 'missing ' + selector]
        }))""",
        [[name, *PROBES[name]] for name in names],
    )
    return found


# How many opaque pixels of the overview chart's canvas are exactly [r, g, b].
COUNT_PIXELS = """([r, g, b]) => {
    const canvas = document.querySelector('.chart canvas')
    const size = [canvas.width, canvas.height]
    const pixels = canvas.getContext('2d').getImageData(0, 0, ...size).data
    let count = 0
    for (let i = 0; i < pixels.length; i += 4) {
        const same = pixels[i] === r && pixels[i + 1] === g && pixels[i + 2] === b
        if (same && pixels[i + 3] === 255) count++
    }
    return count
}"""


def line_pixels(page: Page, colour: tuple[int, int, int]) -> int:
    count: int = page.evaluate(COUNT_PIXELS, list(colour))
    return count


def chart_line(page: Page) -> tuple[int, int, int]:
    """The colour the stylesheet gives the chart's line (black when it gives none)."""
    return rgb(
        page.evaluate(
            """() => {
                const probe = document.createElement('span')
                probe.style.color = 'var(--chart-line, #000)'
                document.body.append(probe)
                const colour = getComputedStyle(probe).color
                probe.remove()
                return colour
            }"""
        )
    )


def open_overview(watched: Watched, url: str) -> Page:
    page = watched.page
    page.goto(url + OVERVIEW)
    page.wait_for_selector(".chart canvas")
    page.wait_for_function("() => document.querySelector('.u-over') !== null")
    return page


@pytest.mark.parametrize("path", PAGES)
def test_pages_are_dark_with_readable_text(server: ServerProcess, dark: Watched, path: str) -> None:
    page = dark.page
    page.goto(server.url + path)
    found = colours(page, ["html background", "body text"])
    background, text = found["html background"], found["body text"]
    assert luminance(rgb(background)) < 0.05, background
    assert luminance(rgb(text)) > 0.5, text
    assert contrast(text, background) >= 4.5
    card = page.evaluate(
        "() => getComputedStyle(document.querySelector('main .card, main .chart-card'))"
        ".backgroundColor"
    )
    assert luminance(rgb(card)) < 0.05, card
    muted = page.evaluate(
        "() => { const s = document.createElement('span'); s.className = 'muted';"
        " document.querySelector('main').append(s); const c = getComputedStyle(s).color;"
        " s.remove(); return c }"
    )
    assert contrast(muted, card) >= 4.5, (muted, card)
    assert contrast(muted, background) >= 4.5, (muted, background)
    dark.assert_clean()


def test_the_chart_line_takes_the_dark_colour(server: ServerProcess, dark: Watched) -> None:
    page = open_overview(dark, server.url)
    line = chart_line(page)
    assert line != LIGHT_LINE
    page.wait_for_function("() => document.querySelector('.chart canvas').width > 0")
    assert line_pixels(page, line) > 100
    assert line_pixels(page, LIGHT_LINE) == 0
    dark.assert_clean()


def test_the_chart_follows_a_change_of_the_system_setting(
    server: ServerProcess, light: Watched
) -> None:
    page = open_overview(light, server.url)
    assert line_pixels(page, LIGHT_LINE) > 100
    page.emulate_media(color_scheme="dark")
    line = chart_line(page)
    assert line != LIGHT_LINE
    page.wait_for_function(f"(colour) => ({COUNT_PIXELS})(colour) > 100", arg=list(line))
    assert line_pixels(page, LIGHT_LINE) == 0
    assert page.locator(".chart .uplot").count() == 1  # redrawn in place, not added
    light.assert_clean()


def test_the_qr_code_stays_black_on_white(server: ServerProcess, dark: Watched) -> None:
    page = dark.page
    page.goto(server.url + "/account")
    background = colours(page, ["html background"])["html background"]
    assert luminance(rgb(background)) < 0.05, background  # the page around it is dark
    shades: dict[str, float] = page.evaluate(
        """() => {
            const img = document.querySelector('img.qr')
            const canvas = document.createElement('canvas')
            canvas.width = img.naturalWidth
            canvas.height = img.naturalHeight
            const context = canvas.getContext('2d')
            context.drawImage(img, 0, 0)
            const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data
            let black = 0, white = 0
            for (let i = 0; i < pixels.length; i += 4) {
                const sum = pixels[i] + pixels[i + 1] + pixels[i + 2]
                if (sum === 0 && pixels[i + 3] === 255) black++
                if (sum === 765 && pixels[i + 3] === 255) white++
            }
            const style = getComputedStyle(img)
            return { black: black / (pixels.length / 4), white: white / (pixels.length / 4),
                     filter: style.filter, opacity: Number(style.opacity) }
        }"""
    )
    assert shades["black"] > 0.2 and shades["white"] > 0.3, shades
    assert shades["black"] + shades["white"] == 1, shades
    assert shades["filter"] == "none" and shades["opacity"] == 1, shades
    dark.assert_clean()


def test_the_light_look_is_unchanged(server: ServerProcess, light: Watched) -> None:
    page = open_overview(light, server.url)
    assert colours(page, list(LIGHT)) == LIGHT
    assert line_pixels(page, LIGHT_LINE) > 100
    page.goto(f"{server.url}/sites/{DOMAIN}/settings")
    assert colours(page, list(LIGHT_SETTINGS)) == LIGHT_SETTINGS
    light.assert_clean()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_an_error_is_readable_in_either_scheme(
    server: ServerProcess, browser: Browser, scheme: str
) -> None:
    """The red of text (a refused login, a fall in the totals, a delete button) is AA on its
    card in both schemes; the red of bars and dots (`--poor`) was 4.3:1 on white."""
    context = browser.new_context(viewport=DESKTOP, color_scheme=scheme)  # type: ignore[arg-type]
    try:
        page = context.new_page()
        page.goto(f"{server.url}/login")
        page.fill("input[name=email]", "nobody@dusk.test")
        page.fill("input[name=password]", "not the password")
        page.click("button[type=submit]")
        error = page.locator("p.error")
        error.wait_for()
        text, behind = error.evaluate(
            """(e) => {
                let at = e
                while (at && getComputedStyle(at).backgroundColor === 'rgba(0, 0, 0, 0)') {
                    at = at.parentElement
                }
                return [getComputedStyle(e).color, getComputedStyle(at).backgroundColor]
            }"""
        )
        assert contrast(text, behind) >= 4.5, (text, behind)
    finally:
        context.close()
