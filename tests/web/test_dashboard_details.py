"""Things a reader notices: cached assets, plural words, realtime's column headers and who it
counts, people's times in the site's time zone and a person's net revenue, the site switcher
keeping the period and filters, deleting a funnel asking first."""

from __future__ import annotations

import time
from urllib.parse import quote

from starlette.testclient import TestClient

from clycyo.config.funnels import FunnelStore, check_step
from clycyo.config.passwords import hash_password
from clycyo.web.dashboard.rendering import asset_digest
from tests.web.conftest import CHROME, PASSWORD, Dashboard


def test_versioned_assets_are_cached_for_good_and_never_sniffed(dashboard: Dashboard) -> None:
    client = dashboard.client
    page = client.get("/login").text
    assert f"/assets/app.css?v={asset_digest('app.css')}" in page
    versioned = client.get(f"/assets/app.css?v={asset_digest('app.css')}")
    assert versioned.status_code == 200
    assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert versioned.headers["x-content-type-options"] == "nosniff"
    for stale in ("/assets/app.css", "/assets/app.css?v=0123456789ab"):
        answer = client.get(stale)
        assert answer.headers["cache-control"] == "no-cache", stale
        assert answer.headers["x-content-type-options"] == "nosniff"
    missing = client.get("/assets/no-such-file.css")
    assert missing.status_code == 404
    assert missing.headers["x-content-type-options"] == "nosniff"


def test_one_visitor_and_one_visit_are_singular(dashboard: Dashboard) -> None:
    secret = dashboard.secret_key()
    visit = {
        "type": "pageview",
        "origin": "browser",
        "context": {"ip": "85.214.1.2", "user_agent": CHROME},
        "visitor_id": "lone-visitor",
        "session_id": "s1",
        "url": f"https://{dashboard.site}/pricing",
        "timestamp": int(time.time() * 1000) - 30_000,
    }
    assert dashboard.collect(visit, secret)["accepted"] == 1
    client = dashboard.login()
    realtime = client.get(f"/sites/{dashboard.site}/realtime").text
    assert '<span class="muted" data-rt-noun>visitor</span>' in realtime
    assert '<th scope="col">Page</th>' in realtime and '<th scope="col">Source</th>' in realtime
    person = client.get(f"/sites/{dashboard.site}/people/lone-visitor").text
    assert "1 visit." in person


def test_people_times_are_the_sites_local_times(dashboard: Dashboard) -> None:
    # Pago Pago is UTC-11: an event at 05:00 UTC on 1 June happened there at 18:00 on 31 May,
    # the day the overview counts it in.
    site = dashboard.runtime.config.site_by_domain(dashboard.site)
    assert site is not None
    dashboard.runtime.config.update_site(site.id, timezone="Pacific/Pago_Pago")
    dashboard.runtime.directory.clear()
    secret = dashboard.runtime.config.add_secret_key(site.id)
    visit = {
        "type": "pageview",
        "origin": "browser",
        "context": {"ip": "85.214.1.2", "user_agent": CHROME},
        "visitor_id": "night-owl",
        "session_id": "s1",
        "url": f"https://{dashboard.site}/pricing",
        "timestamp": "2025-06-01T05:00:00Z",
    }
    assert dashboard.collect(visit, secret)["accepted"] == 1
    client = dashboard.login()
    person = client.get(f"/sites/{dashboard.site}/people/night-owl").text
    found = client.get(f"/sites/{dashboard.site}/people?q=night").text
    for page in (person, found):
        assert "2025-05-31 18:00:00" in page and "2025-06-01" not in page
    day = client.get(
        f"/sites/{dashboard.site}.json?period=custom&from=2025-05-31&to=2025-05-31"
    ).json()
    assert {c["metric"]: c["value"] for c in day["cards"]}["visitors"] == 1
    # The JSON keeps the API's UTC times.
    timeline = client.get(f"/sites/{dashboard.site}/people/night-owl.json").json()
    assert timeline["events"][0]["timestamp"] == "2025-06-01T05:00:00Z"


def test_a_persons_net_revenue_counts_each_payment_once_per_currency(
    dashboard: Dashboard,
) -> None:
    # One order reported by the browser and by the server is one payment (the query API counts
    # it once); a refund reduces it; euros are never added to dollars.
    secret = dashboard.secret_key()
    now_ms = int(time.time() * 1000)
    browser = {"origin": "browser", "context": {"ip": "85.214.1.2", "user_agent": CHROME}}
    batch = [
        {
            **browser,
            "type": "identify",
            "visitor_id": "device-1",
            "user_id": "buyer-1",
            "url": f"https://{dashboard.site}/checkout",
            "timestamp": now_ms - 300_000,
        },
        {
            **browser,
            "name": "purchase",
            "visitor_id": "device-1",
            "url": f"https://{dashboard.site}/checkout",
            "order_id": "o1",
            "revenue": {"amount": "100.00", "currency": "USD"},
            "timestamp": now_ms - 240_000,
        },
        {
            "name": "payment",
            "user_id": "buyer-1",
            "order_id": "o1",
            "revenue": {"amount": "100.00", "currency": "USD"},
            "timestamp": now_ms - 230_000,
        },
        {
            "name": "refund",
            "user_id": "buyer-1",
            "order_id": "o1",
            "revenue": {"amount": "-20.00", "currency": "USD"},
            "timestamp": now_ms - 120_000,
        },
        {
            "name": "payment",
            "user_id": "buyer-1",
            "order_id": "o2",
            "revenue": {"amount": "500.00", "currency": "EUR"},
            "timestamp": now_ms - 60_000,
        },
    ]
    assert dashboard.collect({"batch": batch}, secret)["accepted"] == 5
    query = dashboard.client.post(
        "/api/v1/query",
        json={"site": dashboard.site, "metrics": ["revenue"], "date_range": "7d"},
        headers={"Authorization": f"Bearer {secret}"},
    ).json()
    assert query["results"][0]["metrics"] == [80.0]
    client = dashboard.login()
    summary = client.get(f"/sites/{dashboard.site}/people/buyer-1.json").json()["summary"]
    assert float(summary["revenue"]) == 80.0
    assert {k: float(v) for k, v in summary["other_currencies"].items()} == {"EUR": 500.0}
    page = client.get(f"/sites/{dashboard.site}/people/buyer-1").text
    revenue = page.split("data-revenue>", 1)[1].split("</dd>", 1)[0]
    assert "80.00 USD" in revenue and "500.00 EUR" in revenue


def test_realtime_counts_the_persons_on_the_site_not_a_renewal_from_the_server(
    dashboard: Dashboard,
) -> None:
    secret = dashboard.secret_key()
    now_ms = int(time.time() * 1000)
    batch = [
        {
            "type": "pageview",
            "origin": "browser",
            "context": {"ip": "85.214.1.2", "user_agent": CHROME},
            "visitor_id": "reader",
            "session_id": "s1",
            "url": f"https://{dashboard.site}/pricing",
            "referrer": "https://news.ycombinator.com/",
            "timestamp": now_ms - 30_000,
        },
        {  # a subscription renewing: the customer is nowhere near the site
            "name": "payment",
            "user_id": "subscriber",
            "order_id": "in_2",
            "revenue": {"amount": "19.00", "currency": "USD"},
            "timestamp": now_ms - 20_000,
        },
    ]
    assert dashboard.collect({"batch": batch}, secret)["accepted"] == 2
    client = dashboard.login()
    now = client.get(f"/sites/{dashboard.site}/realtime.json").json()
    assert now["visitors"] == 1 and now["pageviews"] == 1
    assert [(s["source"], s["visitors"]) for s in now["sources"]] == [("Hacker News", 1)]


def test_a_persons_summary_covers_events_older_than_the_timeline_shows(
    dashboard: Dashboard,
) -> None:
    # A visit from Google last week, then more events than the timeline shows in a direct visit
    # today: the first touch is still Google, and both visits count.
    secret = dashboard.secret_key()
    now_ms = int(time.time() * 1000)
    browser = {
        "origin": "browser",
        "context": {"ip": "85.214.1.2", "user_agent": CHROME},
        "visitor_id": "busy",
        "url": f"https://{dashboard.site}/docs",
    }
    events = [
        {
            **browser,
            "type": "pageview",
            "session_id": "s1",
            "referrer": "https://www.google.com/",
            "timestamp": now_ms - 7 * 86_400_000,
        },
        {**browser, "type": "pageview", "session_id": "s2", "timestamp": now_ms - 3_600_000},
        *(
            {
                **browser,
                "name": "engagement",
                "session_id": "s2",
                "props": {"engaged_ms": 1000},
                "timestamp": now_ms - 3_600_000 + 1000 * (n + 1),
            }
            for n in range(1_000)
        ),
    ]
    for first in range(0, len(events), 500):
        part = events[first : first + 500]
        assert dashboard.collect({"batch": part}, secret)["accepted"] == len(part)
    client = dashboard.login()
    data = client.get(f"/sites/{dashboard.site}/people/busy.json?detail=all").json()
    assert data["meta"]["truncated"] is True
    summary = data["summary"]
    assert summary["first_touch"]["source"] == "Google"
    assert summary["last_touch"]["source"] == "Google"
    assert summary["visits"] == 2
    assert (summary["events"], summary["browser_events"], summary["server_events"]) == (
        1002,
        1002,
        0,
    )
    assert summary["first_seen"] < data["events"][0]["timestamp"]


def test_the_site_switcher_keeps_the_period_and_filters(dashboard: Dashboard) -> None:
    dashboard.runtime.config.add_user("both@example.com", hash_password(PASSWORD), None)
    client = TestClient(dashboard.client.app, follow_redirects=False)
    dashboard.email, mine = "both@example.com", dashboard.email
    try:
        dashboard.login(client)
    finally:
        dashboard.email = mine
    chosen = "period=7d&compare=year&f=" + quote("is,visit:source,Google", safe="")
    page = client.get(f"/sites/{dashboard.site}?{chosen}").text
    switcher = page.split('class="site-switch"', 1)[1].split("</form>", 1)[0]
    assert 'name="period" value="7d"' in switcher
    assert 'name="compare" value="year"' in switcher
    assert 'name="f" value="is,visit:source,Google"' in switcher
    moved = client.get(f"/sites/go?site={dashboard.other}&{chosen}")
    assert moved.headers["location"] == f"/sites/{dashboard.other}?{chosen}"


def test_deleting_a_funnel_asks_first(dashboard: Dashboard) -> None:
    site = dashboard.runtime.config.site_by_domain(dashboard.site)
    assert site is not None
    steps = [check_step("pageview", "/", []), check_step("event", "signup", [])]
    funnel = FunnelStore(dashboard.runtime.config).add(site.id, "Signup", steps)
    client = dashboard.login()
    page = client.get(f"/sites/{dashboard.site}/funnels/{funnel.id}").text
    confirm = page.split('<details class="confirm', 1)[1].split("</details>", 1)[0]
    assert "data-delete-funnel" in confirm and "Delete “Signup”?" in confirm
    assert 'type="submit"' in confirm.split("</summary>", 1)[1]  # the button is behind it
