"""The overview's totals: a day under way is compared with the same hours of the day before (or
of the same day a year before), and a range of days with as many days before across a clock
change; a ratio of no visits is no value (shown as a dash, with no change); money in other
currencies is shown beside the revenue it is not in; and a site without any event shows how to
install the tracker."""

from __future__ import annotations

import datetime as dt
import time

from clycyo.web.dashboard.overview import (
    CARDS,
    card_values,
    change,
    previous_totals_body,
)
from clycyo.web.dashboard.params import view_state
from clycyo.web.dashboard.stats import Row
from tests.web.conftest import CHROME, Dashboard

NO_VALUE = "\N{EN DASH}"


def state(query: dict[str, str], today: dt.date) -> object:
    return view_state(query, list(query.items()), today, {"visitors"})


def pageviews(domain: str, stamps_ms: list[int]) -> dict[str, object]:
    """A batch of one pageview of a visitor of its own at each time."""
    batch = [
        {
            "type": "pageview",
            "origin": "browser",
            "context": {"ip": "85.214.1.2", "user_agent": CHROME},
            "visitor_id": f"v{n}",
            "session_id": f"s{n}",
            "url": f"https://{domain}/",
            "timestamp": stamp,
        }
        for n, stamp in enumerate(stamps_ms)
    ]
    return {"batch": batch}


def test_a_period_running_to_now_is_compared_with_the_same_hours_before() -> None:
    now = dt.datetime(2026, 11, 26, 6, 15, 42)
    today = state({"period": "today"}, now.date())
    assert previous_totals_body(today, now)["date_range"] == [  # type: ignore[arg-type]
        "2026-11-25T00:00:00",
        "2026-11-25T06:15:42",
    ]
    week = state({"period": "7d"}, now.date())
    assert previous_totals_body(week, now)["date_range"] == [  # type: ignore[arg-type]
        "2026-11-13T00:00:00",
        "2026-11-19T06:15:42",
    ]
    midnight = previous_totals_body(today, dt.datetime(2026, 11, 26))  # type: ignore[arg-type]
    assert midnight["date_range"][1] == "2026-11-25T00:00:01"
    past = state({"period": "last_month"}, now.date())
    assert previous_totals_body(past, now)["date_range"] == [  # type: ignore[arg-type]
        "2026-08-31",
        "2026-09-30",
    ]


def test_a_range_reaching_past_today_is_compared_with_as_much_of_the_previous_one() -> None:
    # 24 to 30 November at 06:15 on the 26th: two days and a quarter have happened, so they
    # meet the first two days and a quarter of 17 to 23 November, not all seven.
    now = dt.datetime(2026, 11, 26, 6, 15, 42)
    ahead = state({"period": "custom", "from": "2026-11-24", "to": "2026-11-30"}, now.date())
    assert previous_totals_body(ahead, now)["date_range"] == [  # type: ignore[arg-type]
        "2026-11-17T00:00:00",
        "2026-11-19T06:15:42",
    ]
    later = state({"period": "custom", "from": "2026-12-01", "to": "2026-12-07"}, now.date())
    assert previous_totals_body(later, now)["date_range"] == [  # type: ignore[arg-type]
        "2026-11-24T00:00:00",
        "2026-11-24T00:00:01",
    ]


def test_a_year_before_is_cut_at_the_same_time_passed_and_at_its_end() -> None:
    now = dt.datetime(2026, 11, 26, 6, 15, 42)
    today = state({"period": "today", "compare": "year"}, now.date())
    assert previous_totals_body(today, now)["date_range"] == [  # type: ignore[arg-type]
        "2025-11-26T00:00:00",
        "2025-11-26T06:15:42",
    ]
    past = state({"period": "last_month", "compare": "year"}, now.date())
    assert previous_totals_body(past, now)["date_range"] == [  # type: ignore[arg-type]
        "2025-10-01",
        "2025-10-31",
    ]
    # February 2028 at 10:00 on the 29th: 28 days and 10 hours have passed, more than all of
    # February 2027, which is then whole.
    leap_day = dt.datetime(2028, 2, 29, 10)
    february = state({"period": "month", "compare": "year"}, leap_day.date())
    assert previous_totals_body(february, leap_day)["date_range"] == [  # type: ignore[arg-type]
        "2027-02-01T00:00:00",
        "2027-03-01T00:00:00",
    ]


def test_a_year_before_across_29_february_is_cut_at_the_same_clock_time() -> None:
    # The last 30 days at 10:00 on 10 March 2028 hold 29 February, so the year before holds a
    # day less: the time passed since the first day would run to 11 March 2027 (all of the
    # 10th, which has only begun this year). The same clock time a year earlier is the cut.
    now = dt.datetime(2028, 3, 10, 10)
    month = state({"period": "30d", "compare": "year"}, now.date())
    assert previous_totals_body(month, now)["date_range"] == [  # type: ignore[arg-type]
        "2027-02-10T00:00:00",
        "2027-03-10T10:00:00",
    ]
    # A year later the year before holds the 29th, a day more: not cut at the 9th at 10:00.
    now = dt.datetime(2029, 3, 10, 10)
    month = state({"period": "30d", "compare": "year"}, now.date())
    assert previous_totals_body(month, now)["date_range"] == [  # type: ignore[arg-type]
        "2028-02-09T00:00:00",
        "2028-03-10T10:00:00",
    ]
    # 29 February alone meets the 28th's same hours.
    leap_day = dt.datetime(2028, 2, 29, 10)
    today = state({"period": "today", "compare": "year"}, leap_day.date())
    assert previous_totals_body(today, leap_day)["date_range"] == [  # type: ignore[arg-type]
        "2027-02-28T00:00:00",
        "2027-02-28T10:00:00",
    ]


def test_no_visits_means_no_ratio_and_no_change() -> None:
    visits = CARDS.index("visits")
    bounce = CARDS.index("bounce_rate")
    empty = [0] * len(CARDS)  # a query layer that reports 0 for a ratio of nothing
    assert card_values([Row([], empty)])[bounce] is None
    assert card_values([])[CARDS.index("visit_duration")] is None
    busy = [0] * len(CARDS)
    busy[visits], busy[bounce] = 10, 31.1
    assert card_values([Row([], busy)])[bounce] == 31.1
    assert change("bounce_rate", 31.1, None) is None
    assert change("bounce_rate", 31.1, 25.0) == 6.1
    assert change("visitors", 5, 0) is None
    assert change("visitors", 5, 4) == 25.0


def test_an_empty_site_shows_dashes_and_where_to_start(dashboard: Dashboard) -> None:
    client = dashboard.login()
    data = client.get(f"/sites/{dashboard.site}.json?period=30d").json()
    assert data["empty"] is True
    cards = {c["metric"]: c for c in data["cards"]}
    assert cards["bounce_rate"]["value"] is None and cards["visit_duration"]["value"] is None
    assert all(c["change"] is None for c in cards.values())
    page = client.get(f"/sites/{dashboard.site}?period=30d").text
    assert "data-empty-site" in page and "No events yet" in page
    site = dashboard.runtime.config.site_by_domain(dashboard.site)
    assert site is not None and site.public_key in page.split("data-empty-site", 1)[1]
    bounce = page.split('data-metric="bounce_rate"', 1)[1].split("</a>", 1)[0]
    assert f">{NO_VALUE}</span>" in bounce and "metric-change" not in bounce
    duration = page.split('data-metric="visit_duration"', 1)[1].split("</a>", 1)[0]
    assert f">{NO_VALUE}</span>" in duration


def test_a_year_without_a_previous_year_shows_no_change(dashboard: Dashboard) -> None:
    secret = dashboard.secret_key()
    now_ms = int(time.time() * 1000)
    stamps = [now_ms - 3_600_000 * (n + 1) for n in range(3)]
    assert dashboard.collect(pageviews(dashboard.site, stamps), secret)["accepted"] == 3
    client = dashboard.login()
    data = client.get(f"/sites/{dashboard.site}.json?period=12mo").json()
    assert data["empty"] is False
    cards = {c["metric"]: c for c in data["cards"]}
    assert cards["visits"]["value"] > 0 and cards["bounce_rate"]["value"] is not None
    assert cards["bounce_rate"]["previous"] is None
    assert [c["change"] for c in cards.values()] == [None] * len(CARDS)
    assert "previous_totals" in data["queries"]
    page = client.get(f"/sites/{dashboard.site}?period=12mo").text
    assert "data-empty-site" not in page and "metric-change" not in page


def test_the_previous_period_across_a_clock_change_is_as_many_days_before(
    dashboard: Dashboard,
) -> None:
    # 2025-11-02 is 25 hours long in New York: the previous period of 1 to 3 November is
    # 29 to 31 October, and the chart compares day with day, not with days an hour off.
    site = dashboard.runtime.config.site_by_domain(dashboard.site)
    assert site is not None
    dashboard.runtime.config.update_site(site.id, timezone="America/New_York")
    dashboard.runtime.directory.clear()
    secret = dashboard.runtime.config.add_secret_key(site.id)
    noons = [dt.datetime(2025, 10, day, 16, tzinfo=dt.UTC) for day in (29, 31)]  # 12:00 EDT
    stamps = [int(noon.timestamp() * 1000) for noon in noons]
    assert dashboard.collect(pageviews(dashboard.site, stamps), secret)["accepted"] == 2
    client = dashboard.login()
    data = client.get(
        f"/sites/{dashboard.site}.json?period=custom&from=2025-11-01&to=2025-11-03"
    ).json()
    assert data["chart"]["previous"] == [
        ["2025-10-29T00:00:00", 1],
        ["2025-10-30T00:00:00", 0],
        ["2025-10-31T00:00:00", 1],
    ]
    assert {c["metric"]: c["previous"] for c in data["cards"]}["visitors"] == 2
    body = {**data["queries"]["series"], "site": dashboard.site}
    api = dashboard.client.post(
        "/api/v1/query", json=body, headers={"Authorization": f"Bearer {secret}"}
    ).json()
    assert api["meta"]["comparison_date_range"] == [
        "2025-10-29T04:00:00Z",
        "2025-11-01T04:00:00Z",
    ]
    assert [r["comparison"]["metrics"] for r in api["results"]] == [[1], [0], [1]]


def test_compare_year_shows_the_same_days_a_year_before(dashboard: Dashboard) -> None:
    site = dashboard.runtime.config.site_by_domain(dashboard.site)
    assert site is not None
    secret = dashboard.runtime.config.add_secret_key(site.id)
    visits = [
        dt.datetime(2025, 11, 1, 12, tzinfo=dt.UTC),
        dt.datetime(2024, 11, 2, 9, tzinfo=dt.UTC),
        dt.datetime(2024, 11, 2, 10, tzinfo=dt.UTC),
        dt.datetime(2025, 10, 30, 10, tzinfo=dt.UTC),  # the previous period: not compared now
    ]
    stamps = [int(when.timestamp() * 1000) for when in visits]
    assert dashboard.collect(pageviews(dashboard.site, stamps), secret)["accepted"] == 4
    client = dashboard.login()
    chosen = "period=custom&from=2025-11-01&to=2025-11-03&compare=year"
    data = client.get(f"/sites/{dashboard.site}.json?{chosen}").json()
    assert data["compare"] == "year"
    assert data["queries"]["series"]["include"] == {"comparison": "year_over_year"}
    assert data["queries"]["previous_totals"]["date_range"] == ["2024-11-01", "2024-11-03"]
    assert data["chart"]["previous_label"] == "A year before"
    assert data["chart"]["points"] == [
        ["2025-11-01T00:00:00", 1],
        ["2025-11-02T00:00:00", 0],
        ["2025-11-03T00:00:00", 0],
    ]
    assert data["chart"]["previous"] == [
        ["2024-11-01T00:00:00", 0],
        ["2024-11-02T00:00:00", 2],
        ["2024-11-03T00:00:00", 0],
    ]
    visitors = {c["metric"]: c for c in data["cards"]}["visitors"]
    assert (visitors["value"], visitors["previous"], visitors["change"]) == (1, 2, -50.0)
    page = client.get(f"/sites/{dashboard.site}?{chosen}").text
    assert '<option value="year" selected>vs a year before</option>' in page
    assert 'title="a year before: 2"' in page
    assert "compare=year" in page.split('class="sections"', 1)[1].split("</nav>", 1)[0]
    custom = "&compare_from=2024-11-02&compare_to=2024-11-03"
    own = client.get(f"/sites/{dashboard.site}.json?{chosen[:-4]}custom{custom}").json()
    assert own["queries"]["series"]["include"] == {
        "comparison": {"date_range": ["2024-11-02", "2024-11-03"]}
    }
    assert own["chart"]["previous_label"] == "2024-11-02 to 2024-11-03"
    assert [p[1] for p in own["chart"]["previous"]] == [2, 0, 0]  # a third day it has not
    assert {c["metric"]: c for c in own["cards"]}["visitors"]["previous"] == 2
    previous = client.get(f"/sites/{dashboard.site}.json?{chosen[:-5]}previous").json()
    assert {c["metric"]: c for c in previous["cards"]}["visitors"]["previous"] == 1
    assert previous["chart"]["previous_label"] == "Previous period"


def test_money_in_other_currencies_is_shown_beside_the_revenue_it_is_not_in(
    dashboard: Dashboard,
) -> None:
    secret = dashboard.secret_key()
    now_ms = int(time.time() * 1000)
    payments = [
        ("o1", "49.00", "USD"),
        ("o2", "500.00", "EUR"),
        ("o3", "20.00", "GBP"),
    ]
    batch = [
        {
            "type": "pageview",
            "origin": "browser",
            "context": {"ip": "85.214.1.2", "user_agent": CHROME},
            "visitor_id": "buyer",
            "session_id": "s1",
            "url": f"https://{dashboard.site}/pricing",
            "timestamp": now_ms - 120_000,
        },
        *(
            {
                "name": "payment",
                "visitor_id": "buyer",
                "order_id": order,
                "revenue": {"amount": amount, "currency": currency},
                "timestamp": now_ms - 60_000,
            }
            for order, amount, currency in payments
        ),
    ]
    assert dashboard.collect({"batch": batch}, secret)["accepted"] == 4
    client = dashboard.login()
    data = client.get(f"/sites/{dashboard.site}.json?period=7d").json()
    revenue = {c["metric"]: c for c in data["cards"]}["revenue"]
    assert revenue["value"] == 49.0
    assert revenue["other_currencies"] == {"EUR": 500.0, "GBP": 20.0}
    page = client.get(f"/sites/{dashboard.site}?period=7d").text
    card = page.split('data-metric="revenue"', 1)[1].split("</a>", 1)[0]
    assert "500.00 EUR" in card and "20.00 GBP" in card
    panel = client.get(f"/sites/{dashboard.site}/panels/revenue.json?period=7d").json()
    assert panel["other_currencies"] == {"EUR": 500.0, "GBP": 20.0}
    shown = client.get(f"/sites/{dashboard.site}/panels/revenue?period=7d").text
    assert "500.00 EUR" in shown and "20.00 GBP" in shown
    # Panels without money say nothing about currencies.
    assert (
        "other_currencies"
        not in client.get(f"/sites/{dashboard.site}/panels/sources.json?period=7d").json()
    )


def test_the_revenue_total_shows_its_cents(dashboard: Dashboard) -> None:
    secret = dashboard.secret_key()
    payment = {
        "name": "payment",
        "user_id": "buyer",
        "order_id": "o1",
        "revenue": {"amount": "49.55", "currency": "USD"},
        "timestamp": int(time.time() * 1000) - 60_000,
    }
    assert dashboard.collect(payment, secret)["accepted"] == 1
    page = dashboard.login().get(f"/sites/{dashboard.site}?period=7d").text
    card = page.split('data-metric="revenue"', 1)[1].split("</a>", 1)[0]
    shown = card.split('class="metric-value"', 1)[1].split("</span>", 1)[0]
    assert ">49.55 <" in shown, shown
