"""A funnel's view: shares of an empty step; a step's persons: how many there are in all, and
a way to list more than a page."""

from __future__ import annotations

import time

from clycyo.config.funnels import FunnelStore, check_step
from clycyo.web.dashboard.rendering import NO_VALUE
from tests.web.conftest import Dashboard

PERSONS = 105


def test_a_step_says_how_many_persons_it_has_and_lists_more_on_request(
    dashboard: Dashboard,
) -> None:
    site = dashboard.runtime.config.site_by_domain(dashboard.site)
    assert site is not None
    secret = dashboard.runtime.config.add_secret_key(site.id)
    now_ms = int(time.time() * 1000)
    batch = []
    for n in range(PERSONS):
        person = {
            "user_id": f"user-{n:03d}",
            "visitor_id": f"visitor-{n:03d}",
            "url": f"https://{dashboard.site}/",
        }
        batch.append({**person, "type": "pageview", "timestamp": now_ms - 90_000 + n})
        if n % 5:  # four in five go on to sign up
            batch.append({**person, "name": "signup", "timestamp": now_ms - 30_000 + n})
    assert dashboard.collect({"batch": batch}, secret)["accepted"] == len(batch)
    steps = [check_step("pageview", "/", []), check_step("event", "signup", [])]
    funnel = FunnelStore(dashboard.runtime.config).add(site.id, "Signup", steps)
    client = dashboard.login()
    step = f"/sites/{dashboard.site}/funnels/{funnel.id}/steps/1"

    first = client.get(f"{step}.json?period=7d").json()
    assert (len(first["persons"]), first["total"], first["more"]) == (100, PERSONS, PERSONS)
    page = client.get(f"{step}?period=7d").text
    assert "Showing the 100 most recent of 105 persons." in page
    more = page.split("data-show-more", 1)[0].rsplit('href="', 1)[1].split('"', 1)[0]
    every = client.get(step + more.replace("&amp;", "&"))
    assert every.status_code == 200
    assert every.text.count('href="/sites/mine.example.com/people/user-') == PERSONS
    assert "105 persons, most recent first." in every.text

    dropped = client.get(f"{step}.json?period=7d&dropped=1").json()
    assert dropped["total"] == PERSONS // 5
    assert len(dropped["persons"]) == PERSONS // 5 and dropped["more"] is None


def test_a_funnel_nobody_started_shows_dashes_not_numbers(dashboard: Dashboard) -> None:
    site = dashboard.runtime.config.site_by_domain(dashboard.site)
    assert site is not None
    steps = [check_step("pageview", "/pricing", []), check_step("event", "signup", [])]
    funnel = FunnelStore(dashboard.runtime.config).add(site.id, "Signup", steps)
    client = dashboard.login()
    view = f"/sites/{dashboard.site}/funnels/{funnel.id}"

    twin = client.get(f"{view}.json?period=7d").json()
    assert twin["conversion"] is None
    assert [(s["conversion"], s["from_previous"]) for s in twin["steps"]] == [(None, None)] * 2
    page = client.get(f"{view}?period=7d")
    assert page.status_code == 200
    assert f"<strong data-funnel-conversion>{NO_VALUE}</strong>" in page.text
    assert f"{NO_VALUE} of step 1" in page.text and f"{NO_VALUE} from step 1" in page.text
    assert "None" not in page.text and "NaN" not in page.text
