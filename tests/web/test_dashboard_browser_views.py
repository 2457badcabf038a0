"""The dashboard's views in Chromium against a real server with a month of demo data.

Each panel must show the numbers `POST /api/v1/query` gives for the body the panel reports in its
`.json` twin; clicking a row filters; a funnel is made through the form; a person's timeline and
the why report render; markup in stored events never runs. Screenshots of the main views are
saved to `test-artifacts/dashboard/`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser

from tests.web.browsing import DESKTOP, PHONE, Watched
from tests.web.world import DOMAIN, HOSTILE_PAGE, HOSTILE_USER, SCRIPT, World, build_world

pytestmark = pytest.mark.browser
OVERVIEW = f"/sites/{DOMAIN}"
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
NO_VALUE = "\N{EN DASH}"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    built = build_world(tmp_path_factory.mktemp("dashboard-views"))
    yield built
    built.server.stop()


@pytest.fixture
def owner(world: World, browser: Browser) -> Iterator[Watched]:
    watched = Watched(browser.new_context(viewport=DESKTOP))
    watched.login(world.url, world.email, world.password)
    yield watched
    watched.context.close()


def fetch_json(watched: Watched, path: str) -> Any:
    text = watched.page.evaluate(
        "async (p) => { const r = await fetch(p); return r.status + ' ' + await r.text() }", path
    )
    status, body = text.split(" ", 1)
    assert status == "200", f"{path}: {status} {body[:300]}"
    return json.loads(body)


def same_number(shown: str, expected: Any) -> bool:
    if expected is None:
        return shown == ""
    return abs(Decimal(shown) - Decimal(str(expected))) < Decimal("0.000001")


def test_overview_totals_match_the_query_api(world: World, owner: Watched) -> None:
    owner.page.goto(f"{world.url}{OVERVIEW}?period=30d")
    owner.wait_for_panels()
    owner.screenshot("overview")
    data = fetch_json(owner, f"{OVERVIEW}.json?period=30d")
    expected = world.query(data["queries"]["totals"])["results"][0]["metrics"]
    for card, value in zip(data["cards"], expected, strict=True):
        shown = owner.page.locator(f"[data-metric={card['metric']}] .metric-value")
        assert same_number(shown.get_attribute("data-value") or "", value), card["metric"]
    assert data["cards"][0]["value"] > 0
    owner.assert_clean()


@pytest.mark.parametrize(
    "panel", ["pages", "sources", "locations", "devices", "goals", "revenue", "rage", "links"]
)
def test_each_panel_shows_the_query_api_numbers(world: World, owner: Watched, panel: str) -> None:
    owner.page.goto(f"{world.url}{OVERVIEW}?period=30d")
    owner.wait_for_panels()
    tabs = fetch_json(owner, f"{OVERVIEW}/panels/{panel}.json?period=30d")["tabs"]
    for tab in tabs:
        data = fetch_json(owner, f"{OVERVIEW}/panels/{panel}.json?period=30d&tab={tab['tab']}")
        answer = world.query(data["query"])["results"]
        assert [r["dimensions"][0] for r in answer] == [r["label"] for r in data["rows"]], tab
        link = owner.page.locator(f"#panel-{panel} [data-panel-link]", has_text=tab["label"])
        if link.count():
            link.first.click()
            owner.page.wait_for_function(
                "([id, tab]) => (document.getElementById(id).dataset.loaded || '')"
                ".includes('tab=' + tab)",
                arg=[f"panel-{panel}", tab["tab"]],
            )
        rows = owner.page.locator(f"#panel-{panel} table.ranked tbody tr")
        assert rows.count() == len(answer), tab
        for index, row in enumerate(answer):
            cells = rows.nth(index).locator("td.num")
            for column, value in enumerate(row["metrics"]):
                shown = cells.nth(column).get_attribute("data-value") or ""
                assert same_number(shown, value), (tab, row, column)
    owner.assert_clean()


def test_friction_panels_match_the_query_api(world: World, owner: Watched) -> None:
    errors = fetch_json(owner, f"{OVERVIEW}/panels/errors.json?period=30d")
    answer = world.query(errors["queries"]["by_message"])["results"]
    assert [e["message"] for e in errors["errors"]] == [r["dimensions"][0] for r in answer]
    assert [e["events"] for e in errors["errors"]] == [r["metrics"][0] for r in answer]
    vitals = fetch_json(owner, f"{OVERVIEW}/panels/vitals.json?period=30d")
    counts = world.query(vitals["queries"]["overall"])["results"]
    for metric in vitals["metrics"]:
        samples = sum(r["metrics"][0] for r in counts if r["dimensions"][0] == metric["metric"])
        assert metric["samples"] == samples
        assert metric["p75"] is not None and metric["p75"] > 0
    owner.page.goto(f"{world.url}{OVERVIEW}?period=30d")
    owner.wait_for_panels()
    owner.page.locator("#panel-vitals").screenshot(
        path=str(owner.screenshot("vitals-page", full_page=False))
    )
    assert owner.page.locator("#panel-vitals tr[data-metric=LCP]").count() == 1
    assert owner.page.locator("#panel-errors code.message").count() == len(errors["errors"])


def test_filter_by_click_and_remove_the_chip(world: World, owner: Watched) -> None:
    page = owner.page
    page.goto(f"{world.url}{OVERVIEW}?period=30d")
    owner.wait_for_panels()
    first = page.locator("#panel-sources table.ranked a[data-filter]").first
    value = first.inner_text()
    with page.expect_navigation():
        first.click()
    owner.wait_for_panels()
    chip = page.locator(".chip")
    assert chip.count() == 1
    assert chip.locator(".chip-value").inner_text() == value
    data = fetch_json(owner, page.url.replace(OVERVIEW, OVERVIEW + ".json").replace(world.url, ""))
    assert data["filters"] == [["is", "visit:channel", [value]]]
    filtered = world.query(data["queries"]["totals"])["results"][0]["metrics"][0]
    shown = page.locator("[data-metric=visitors] .metric-value").get_attribute("data-value")
    assert same_number(shown or "", filtered)
    owner.screenshot("overview-filtered")
    with page.expect_navigation():
        chip.locator(".chip-remove").click()
    assert page.locator(".chip").count() == 0
    owner.assert_clean()


def test_create_a_funnel_and_open_a_step(world: World, owner: Watched) -> None:
    page = owner.page
    page.goto(f"{world.url}{OVERVIEW}/funnels")
    page.fill("input[name=name]", "Pricing to payment")
    steps = page.locator(".step-row")
    for index, (kind, match) in enumerate(
        [("pageview", "/pricing"), ("pageview", "/checkout"), ("event", "payment")]
    ):
        steps.nth(index).locator("select[name=kind]").select_option(kind)
        steps.nth(index).locator("input[name=match]").fill(match)
    owner.screenshot("funnel-form")
    page.get_by_role("button", name="Create funnel").click()
    page.wait_for_url(re.compile(r".*/funnels/\d+$"))
    counts = [
        int(s.get_attribute("data-value") or "0") for s in page.locator(".step-count strong").all()
    ]
    assert len(counts) == 3 and counts[0] > counts[1] > counts[2] > 0
    owner.screenshot("funnel")
    data = fetch_json(owner, page.url.replace(world.url, "") + ".json")
    assert [s["visitors"] for s in data["steps"]] == counts
    with page.expect_navigation():
        page.locator("[data-step-persons='3']").click()
    rows = page.locator("table.persons tbody tr")
    assert rows.count() == min(counts[2], 100)
    rows.first.locator("a").click()
    page.wait_for_selector("ol.timeline")
    owner.assert_clean()


def test_a_persons_timeline_interleaves_browser_and_server(world: World, owner: Watched) -> None:
    page = owner.page
    page.goto(f"{world.url}{OVERVIEW}/people?q=user_1")
    page.locator("table.persons a").first.click()
    page.wait_for_selector("ol.timeline")
    origins = page.locator(".tl-item .origin").all_text_contents()
    assert "browser" in origins and "server" in origins
    assert page.locator("[data-revenue]").inner_text().strip() != NO_VALUE
    assert page.locator("[data-first-touch] strong").inner_text() != NO_VALUE
    owner.screenshot("person")
    owner.assert_clean()


def test_the_why_report(world: World, owner: Watched) -> None:
    page = owner.page
    page.goto(f"{world.url}{OVERVIEW}/why?period=30d")
    if page.locator("[data-attempts]").count() == 0:  # no payment funnel yet in this module
        test_create_a_funnel_and_open_a_step(world, owner)
        page.goto(f"{world.url}{OVERVIEW}/why?period=30d")
    data = fetch_json(owner, f"{OVERVIEW}/why.json?period=30d")
    report = data["report"]
    assert report["attempts"] == report["paid"] + report["failed"] > 0
    kinds = {f["kind"]: f for f in report["by_kind"]}
    # The demo world's broken checkouts pay far less often: errors hit failed attempts more.
    assert kinds["js_error"]["failed_share"] > kinds["js_error"]["paid_share"]
    assert Decimal(str(kinds["js_error"]["revenue_at_stake"])) > 0
    shown = page.locator("tr[data-friction=js_error] [data-failed-share]").first
    assert shown.get_attribute("data-failed-share") == str(kinds["js_error"]["failed_share"])
    owner.screenshot("why")
    owner.assert_clean()


def test_markup_in_events_never_runs(world: World, owner: Watched, browser: Browser) -> None:
    page = owner.page
    views = [
        f"{OVERVIEW}?period=7d",
        f"{OVERVIEW}?period=7d&f=" + quote(f"is,event:page,{HOSTILE_PAGE}"),
        f"{OVERVIEW}/people?q=" + quote(HOSTILE_USER[:6]),
        f"{OVERVIEW}/people?who=everyone",
        f"{OVERVIEW}/people?sort=revenue",
        f"{OVERVIEW}/people/" + quote(HOSTILE_USER, safe=""),
        f"{OVERVIEW}/realtime",
    ]
    for view in views:
        page.goto(world.url + view)
        if page.locator("[data-panel-src]").count():
            owner.wait_for_panels()
        owner.assert_clean()
    for tab in ("Entry pages", "Exit pages"):
        page.goto(f"{world.url}{OVERVIEW}?period=7d")
        owner.wait_for_panels()
        page.locator("#panel-pages [data-panel-link]", has_text=tab).click()
        page.wait_for_function(
            "() => document.querySelector('#panel-pages').dataset.loaded.includes('tab=')"
        )
        owner.assert_clean()
    page.goto(world.url + views[1])
    owner.wait_for_panels()
    assert page.locator(".chip-value").inner_text() == HOSTILE_PAGE  # as text, exactly as sent
    assert HOSTILE_PAGE in page.locator("#panel-pages table.ranked").inner_text()
    owner.assert_clean()
    phone = Watched(browser.new_context(viewport=PHONE))
    phone.login(world.url, world.email, world.password)
    phone.page.goto(f"{world.url}{OVERVIEW}?period=30d")
    phone.wait_for_panels()
    phone.screenshot("overview-phone")
    phone.assert_clean()
    phone.context.close()


@pytest.mark.parametrize(
    ("metric", "shown"),
    [
        ("bounce_rate", lambda v: f"{v:,.1f}".removesuffix(".0") + "%"),  # as its total
        ("revenue", lambda v: f"{v:,.2f}"),  # to the cent
    ],
)
def test_the_charts_legend_reads_as_exactly_as_the_totals(
    world: World, owner: Watched, metric: str, shown: Any
) -> None:
    owner.page.goto(f"{world.url}{OVERVIEW}?period=30d&metric={metric}")
    chart = json.loads(owner.page.locator("#chart-data").text_content() or "{}")
    last = chart["points"][-1][1]
    area = owner.page.locator(".chart .u-over").bounding_box()
    assert area is not None
    owner.page.mouse.move(area["x"] + area["width"] - 1, area["y"] + area["height"] / 2)
    legend = owner.page.locator(".u-legend .u-series").nth(1).locator(".u-value")
    assert legend.inner_text() == shown(last)
    owner.assert_clean()


def test_realtime_updates_live(world: World, owner: Watched) -> None:
    def visit(page: str) -> None:
        event = {
            "type": "pageview",
            "origin": "browser",
            "visitor_id": uuid.uuid4().hex,
            "url": f"https://{DOMAIN}{page}",
            "context": {"ip": "90.84.1.2", "user_agent": USER_AGENT},
        }
        status, body = world.site.post("/api/collect", event, secret=True)
        assert status == 200 and body["accepted"] == 1, body

    visit("/live-one")
    page = owner.page
    page.goto(f"{world.url}{OVERVIEW}/realtime?refresh=2")
    count = page.locator("[data-rt-visitors]")
    before = int(count.inner_text())
    assert before >= 1
    assert "/live-one" in page.locator("[data-rt-list=pages]").inner_text()
    visit("/live-two")
    page.wait_for_function(
        "(n) => Number(document.querySelector('[data-rt-visitors]').textContent) > n",
        arg=before,
        timeout=10_000,
    )
    assert "/live-two" in page.locator("[data-rt-list=pages]").inner_text()
    # The last thirty minutes: a bar chart of pageviews per minute, and the conversions.
    chart = page.locator("[data-rt-chart] canvas")
    assert chart.count() == 1 and (chart.bounding_box() or {}).get("height", 0) > 50
    minutes = fetch_json(owner, f"{OVERVIEW}/realtime.json")["minutes"]
    assert len(minutes) == 30 and sum(m["pageviews"] for m in minutes[-2:]) >= 2
    shown = page.locator(".realtime .u-legend .u-series").nth(1).locator(".u-label")
    assert shown.text_content() == "Pageviews"
    status, body = world.site.post(
        "/api/collect", {"name": "live-signup", "user_id": uuid.uuid4().hex}, secret=True
    )
    assert status == 200 and body["accepted"] == 1, body
    page.wait_for_function(
        "() => document.querySelector('[data-rt-list=goals]').textContent.includes('live-signup')",
        timeout=10_000,
    )
    assert page.locator("[data-rt-goals-empty]").is_hidden()
    owner.screenshot("realtime")
    owner.assert_clean()


def test_a_chosen_goal_breaks_down_by_its_properties(world: World, owner: Watched) -> None:
    filtered = f"{OVERVIEW}?period=30d&f=" + quote("is,event:name,payment")
    owner.page.goto(world.url + filtered)
    owner.wait_for_panels()
    tab = owner.page.locator("#panel-goals [data-panel-link]", has_text="plan")
    tab.click()
    owner.page.wait_for_function(
        "() => document.querySelector('#panel-goals').dataset.loaded.includes('tab=prop')"
    )
    data = fetch_json(
        owner, filtered.replace(OVERVIEW, OVERVIEW + "/panels/goals.json") + "&tab=prop:plan"
    )
    assert data["query"]["dimensions"] == ["event:props:plan"]
    answer = world.query(data["query"])["results"]
    shown = owner.page.locator("#panel-goals table.ranked td.label").all_inner_texts()
    assert [s.strip() for s in shown] == [r["dimensions"][0] for r in answer]
    assert {r["dimensions"][0] for r in answer} <= {"starter", "team", "business", SCRIPT}
    # The panels of visits count the goal's conversions and rate; rage clicks say why they are not.
    header = owner.page.locator("#panel-sources table.ranked thead th").all_text_contents()
    assert header[1:] == ["Conversions", "CR"]
    assert owner.page.locator("#panel-rage [data-not-narrowed]").count() == 1
    owner.assert_clean()


def test_picking_a_period_puts_only_what_it_needs_in_the_url(world: World, owner: Watched) -> None:
    page = owner.page
    page.goto(f"{world.url}{OVERVIEW}?period=30d")
    with page.expect_navigation():
        page.select_option("#period", "7d")
    assert page.url.split("?", 1)[1] == "period=7d"
    with page.expect_navigation():
        page.select_option("label.compare select", "off")
    assert page.url.split("?", 1)[1] == "period=7d&compare=off"
    with page.expect_navigation():
        page.select_option("label.compare select", "year")
    assert page.url.split("?", 1)[1] == "period=7d&compare=year"
    # The chart's second line says what it is; the site's links keep the choice.
    page.wait_for_selector(".chart .u-legend")
    assert "A year before" in (page.locator(".chart .u-legend").text_content() or "")
    assert "compare=year" in page.locator("a[aria-current=page]").first.get_attribute("href")
    # A custom comparison waits for its days and Apply; the period's own dates stay out.
    page.select_option("label.compare select", "custom")
    assert page.locator(".compare-dates").is_visible() and page.locator(".apply").is_visible()
    assert page.url.split("?", 1)[1] == "period=7d&compare=year"
    page.fill("input[name=compare_from]", "2025-01-01")
    page.fill("input[name=compare_to]", "2025-01-07")
    with page.expect_navigation():
        page.click(".apply")
    assert page.url.split("?", 1)[1] == (
        "period=7d&compare=custom&compare_from=2025-01-01&compare_to=2025-01-07"
    )
    page.wait_for_selector(".chart .u-legend")
    assert "2025-01-01 to 2025-01-07" in (page.locator(".chart .u-legend").text_content() or "")
    with page.expect_navigation():
        page.select_option("label.compare select", "previous")
    assert page.url.split("?", 1)[1] == "period=7d"
    owner.assert_clean()


def test_deleting_a_funnel_asks_first(world: World, owner: Watched) -> None:
    page = owner.page
    page.goto(f"{world.url}{OVERVIEW}/funnels")
    page.fill("input[name=name]", "Pricing to checkout, to delete")
    steps = page.locator(".step-row")
    for index, match in enumerate(["/pricing", "/checkout"]):
        steps.nth(index).locator("select[name=kind]").select_option("pageview")
        steps.nth(index).locator("input[name=match]").fill(match)
    page.get_by_role("button", name="Create funnel").click()
    page.wait_for_url(re.compile(r".*/funnels/\d+$"))
    assert page.locator("[data-confirm-delete]").is_hidden()
    page.locator("[data-delete-funnel]").click()
    with page.expect_navigation():
        page.locator("[data-confirm-delete]").click()
    assert page.url.endswith(f"{OVERVIEW}/funnels")
    assert "to delete" not in page.locator("main").inner_text()
    owner.assert_clean()
