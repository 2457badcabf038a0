"""Every dashboard page on a 390 px phone, with the longest names real data brings: nothing may
make the page wider than the screen (wide tables scroll inside their card, long tokens break),
and every section of the navigation can be reached."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser

from clycyo.config.access import AccessStore
from clycyo.config.funnels import FunnelStore, check_step
from clycyo.config.store import ConfigStore
from clycyo.demo.send import post_batch
from tests.web.browsing import PHONE, Watched
from tests.web.conftest import CHROME
from tests.web.world import DOMAIN, World, build_world

pytestmark = pytest.mark.browser
OVERVIEW = f"/sites/{DOMAIN}"
LONG_PATH = "/docs/" + "integration-guide-for-" * 6 + "x" * 40
LONG_EVENT = "checkout_" + "step_completed_" * 7 + "ok"
LONG_FUNNEL = (
    "Pricing page to checkout to a verified payment of the annual business plan, every region"
)
VISITOR = "0f3c9a7e5b2d4c18a6e9f0b1d2c3e4f5"  # 32 hex digits, as the tracker makes them


def long_names(world: World) -> None:
    """A visit with a long path, a long event name, web vitals of that page, a funnel with a
    long name whose step persons are anonymous visitors, shared links and tokens."""
    url = f"https://{DOMAIN}{LONG_PATH}"
    browser = {"origin": "browser", "visitor_id": VISITOR, "session_id": "phone1"}
    browser["context"] = {"ip": "85.214.1.3", "user_agent": CHROME}  # type: ignore[assignment]
    events = [
        {**browser, "type": "pageview", "url": url, "event_id": uuid.uuid4().hex},
        {**browser, "name": LONG_EVENT, "url": url, "event_id": uuid.uuid4().hex},
        *(
            {
                **browser,
                "name": "web_vital",
                "url": url,
                "props": {"metric": metric, "value": value, "rating": "good"},
                "event_id": uuid.uuid4().hex,
            }
            for metric, value in (("LCP", 1200), ("INP", 80), ("CLS", 0.01), ("TTFB", 300))
        ),
    ]
    result = post_batch(world.url, world.site.secret_key, events)
    assert not result["rejected"], result
    world.site.events(limit="1")
    config = ConfigStore(world.server.data_dir / "config.sqlite")
    site = config.site_by_domain(DOMAIN)
    assert site is not None
    steps = [check_step("pageview", LONG_PATH, []), check_step("event", LONG_EVENT, [])]
    FunnelStore(config).add(site.id, LONG_FUNNEL, steps)
    access = AccessStore(config)
    access.add_shared_link(site.id, "board members of the holding and their assistants")
    access.add_api_token([site.id], "nightly export to the warehouse in another region")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    built = build_world(tmp_path_factory.mktemp("dashboard-phone"), visitors_per_day=10, days=7)
    long_names(built)
    yield built
    built.server.stop()


@pytest.fixture
def phone(world: World, browser: Browser) -> Iterator[Watched]:
    watched = Watched(browser.new_context(viewport=PHONE))
    watched.login(world.url, world.email, world.password)
    yield watched
    watched.context.close()


def funnel_id(phone: Watched) -> int:
    funnels = phone.page.evaluate(
        "async (u) => (await (await fetch(u)).json()).funnels", f"{OVERVIEW}/funnels.json"
    )
    return int(next(f["id"] for f in funnels if f["name"] == LONG_FUNNEL))


def test_no_page_is_wider_than_a_phone(world: World, phone: Watched) -> None:
    funnel = funnel_id(phone)
    pages = [
        f"{OVERVIEW}?period=7d",
        f"{OVERVIEW}?period=7d&f=" + quote(f"is,event:name,{LONG_EVENT}"),
        f"{OVERVIEW}/funnels",
        f"{OVERVIEW}/funnels/{funnel}?period=7d",
        f"{OVERVIEW}/funnels/{funnel}/steps/1?period=7d",
        f"{OVERVIEW}/why?period=7d&funnel={funnel}",
        f"{OVERVIEW}/people",
        f"{OVERVIEW}/people?q={VISITOR[:6]}",
        f"{OVERVIEW}/people/{VISITOR}",
        f"{OVERVIEW}/realtime",
        f"{OVERVIEW}/settings",
    ]
    too_wide = {}
    for path in pages:
        phone.page.goto(world.url + path)
        if phone.page.locator("[data-panel-src]").count():
            phone.wait_for_panels()
        width = phone.page.evaluate("() => document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            too_wide[path] = width
            phone.screenshot("phone-too-wide-" + path.rsplit("/", 1)[-1].split("?")[0])
    assert too_wide == {}
    phone.assert_clean()


def test_every_section_of_the_navigation_is_within_reach(world: World, phone: Watched) -> None:
    phone.page.goto(f"{world.url}{OVERVIEW}/funnels")
    links = phone.page.locator("nav.sections a")
    assert links.count() == 6
    for index in range(links.count()):
        box = links.nth(index).bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], index
    phone.screenshot("phone-navigation", full_page=False)


def test_long_names_are_whole_in_a_title(world: World, phone: Watched) -> None:
    phone.page.goto(f"{world.url}{OVERVIEW}/why?period=7d&funnel={funnel_id(phone)}")
    select = phone.page.locator("select[name=funnel]")
    box = select.bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]
    assert select.get_attribute("title") == LONG_FUNNEL
