"""The overview's panels: a row filters the view on its value, the row without a value too."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl

from tests.web.conftest import CHROME, Dashboard


def test_the_row_without_a_value_filters_on_its_absence(dashboard: Dashboard) -> None:
    secret = dashboard.secret_key()
    now_ms = int(time.time() * 1000)
    batch = [
        {
            "type": "pageview",
            "origin": "browser",
            "context": {"ip": "85.214.1.2", "user_agent": CHROME},
            "visitor_id": visitor,
            "session_id": visitor,
            "url": f"https://{dashboard.site}/",
            "timestamp": now_ms - 60_000 * n,
            **extra,
        }
        for n, (visitor, extra) in enumerate(
            [
                ("typed-it", {}),  # came directly: no source
                ("searched", {"referrer": "https://www.google.com/"}),
                ("searched-too", {"referrer": "https://www.google.com/"}),
            ],
            start=1,
        )
    ]
    assert dashboard.collect({"batch": batch}, secret)["accepted"] == 3
    client = dashboard.login()
    panel = client.get(f"/sites/{dashboard.site}/panels/sources.json?period=7d&tab=sources")
    rows = {row["label"]: row for row in panel.json()["rows"]}
    assert rows["(none)"]["numbers"] == [1] and rows["Google"]["numbers"] == [2]
    none = rows["(none)"]
    assert none["filter"] == "is,visit:source,(none)"
    filtered = client.get(f"/sites/{dashboard.site}.json?{none['link']}").json()
    assert dict(parse_qsl(none["link"]))["f"] == "is,visit:source,(none)"
    assert {c["metric"]: c["value"] for c in filtered["cards"]}["visitors"] == 1
    html = client.get(f"/sites/{dashboard.site}/panels/sources?period=7d&tab=sources").text
    assert 'data-filter="is,visit:source,(none)"' in html


def test_the_goals_panel_rates_a_goal_among_the_periods_visitors(dashboard: Dashboard) -> None:
    """Four visitors, one of whom pays, and two renewals with no visit: 25 %, as the API says."""
    secret = dashboard.secret_key()
    now_ms = int(time.time() * 1000)
    visits = [
        {
            "type": "pageview",
            "origin": "browser",
            "context": {"ip": "85.214.1.2", "user_agent": CHROME},
            "visitor_id": visitor,
            "url": f"https://{dashboard.site}/",
            "timestamp": now_ms - 60_000 * n,
        }
        for n, visitor in enumerate(["pays", "reads", "looks", "leaves"], start=5)
    ]
    payments = [
        {
            "name": "payment",
            "timestamp": now_ms - 60_000 * n,
            "revenue": {"amount": "30.00", "currency": "USD"},
            "order_id": f"order-{n}",
            **person,
        }
        for n, person in enumerate(
            [{"visitor_id": "pays"}, {"user_id": "renewing-1"}, {"user_id": "renewing-2"}],
            start=1,
        )
    ]
    assert dashboard.collect({"batch": visits + payments}, secret)["accepted"] == 7
    runtime = dashboard.runtime
    assert runtime.writer.wait_loaded(runtime.intake.last_seq, 10.0)
    client = dashboard.login()
    panel = client.get(f"/sites/{dashboard.site}/panels/goals.json?period=7d&tab=events")
    rows = {row["label"]: row for row in panel.json()["rows"]}
    assert rows["payment"]["numbers"] == [3, 3, 25.0]
