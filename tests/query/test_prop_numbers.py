"""Numeric props read by one rule (`clycyo.prop_numbers`) on both engines, wherever they are read:
the `engagements` copy and the events' props behind time on page and scroll depth, the `vitals`
copy and the events behind web vitals' p75, and a visit's engaged time. Text that is no number
as JSON writes one counts as no report everywhere, whatever each engine's own cast takes."""

from __future__ import annotations

import math

import pytest

from clycyo.prop_numbers import prop_number
from clycyo.query import vitals
from tests.small_world import SmallWorld

DAY_MS = 24 * 3600 * 1000
# Each prop's text, and the number it is (None: none).
TEXTS = {
    " 50": None,
    "50 ": None,
    "1_0": None,
    "0x10": None,
    "nan": None,
    "inf": None,
    "-inf": None,
    "": None,
    "+5": None,
    ".5": None,
    "5.": None,
    "1e3": 1000.0,
    "1e+16": 1e16,
    "-0": 0.0,
    "050": 50.0,
    "12.5": 12.5,
    "1e400": math.inf,
    "99999999999999999999": 1e20,
}
# A filter no engagement report or vital fails that the narrow copies cannot answer, so the
# same reports are read from the events' props.
FROM_EVENTS = [["is_not", "event:currency", ["EUR"]]]


@pytest.mark.parametrize(("text", "number"), list(TEXTS.items()))
def test_the_rule(text: str, number: float | None) -> None:
    assert prop_number(text) == number


def _send(world: SmallWorld) -> dict[str, str]:
    """A page per text, viewed by a visitor of its own, with one engagement report and one LCP
    of that text; the pages by text."""
    pages = {text: f"/p{index}" for index, text in enumerate(TEXTS)}
    events = []
    for index, (text, page) in enumerate(pages.items()):
        visitor = f"v{index}"
        events += [
            world.pageview(visitor, 60, page),
            world.browser(
                visitor, 61, "engagement", page, props={"scroll_depth": text, "engaged_ms": text}
            ),
            world.browser(visitor, 61, "web_vital", page, props={"metric": "LCP", "value": text}),
        ]
    world.send(*events)
    return pages


def _expected_pages(pages: dict[str, str]) -> dict[str, list[float | None]]:
    """Time on page (s) and scroll depth (%) of each page by the rule, counted by hand."""
    rows: dict[str, list[float | None]] = {}
    for text, page in pages.items():
        number = TEXTS[text]
        seconds = depth = None
        if number is not None and 0 <= number <= 1e308:
            seconds = float(math.floor(min(number, DAY_MS) / 1000 + 0.5))
        if number is not None and 0 <= number <= 100:
            depth = float(math.floor(number + 0.5))
        rows[page] = [seconds, depth]
    return rows


def test_page_metrics_read_props_by_the_rule_from_the_copy_and_the_events(
    world: SmallWorld,
) -> None:
    pages = _send(world)
    expected = _expected_pages(pages)
    metrics = ("time_on_page", "scroll_depth")
    assert world.breakdown("event:page", *metrics, limit=100) == expected
    assert world.breakdown("event:page", *metrics, filters=FROM_EVENTS, limit=100) == expected


def test_web_vitals_read_values_by_the_rule_from_the_copy_and_the_events(
    world: SmallWorld,
) -> None:
    pages = _send(world)
    expected = {
        (page, "LCP"): round(number)
        for text, page in pages.items()
        if (number := TEXTS[text]) is not None and abs(number) < 1e12
    }
    period = [world.day, world.day]
    narrow = vitals.percentiles(world.runtime.store, world.site, period)
    wide = vitals.percentiles(world.runtime.store, world.site, period, FROM_EVENTS)
    assert {k: v for k, v in narrow.items() if k[0]} == expected
    assert {k: v for k, v in wide.items() if k[0]} == expected
    assert narrow[("", "LCP")] == wide[("", "LCP")]


def test_a_visits_engaged_time_reads_the_reports_by_the_rule(world: SmallWorld) -> None:
    pages = _send(world)
    rows = world.runtime.store.execute(
        "SELECT visitor_id, engaged_ms FROM visits v WHERE sign = 1 AND NOT EXISTS (SELECT 1"
        " FROM visits c WHERE c.visit_id = v.visit_id AND c.state = v.state AND c.sign = -1)"
    )
    engaged = {visitor: int(ms) for visitor, ms in rows}
    for index, text in enumerate(pages):
        number = TEXTS[text]
        finite = number is not None and math.isfinite(number)
        assert engaged[f"v{index}"] == (int(min(number, DAY_MS)) if finite else 0), text
