"""The overview's panels: a row filters the view on its value, the row without a value too."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl

from tests.web.conftest import Dashboard

CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def test_the_row_without_a_value_filters_on_its_absence(dashboard: Dashboard) -> None:
    site = dashboard.runtime.config.site_by_domain(dashboard.site)
    assert site is not None
    secret = dashboard.runtime.config.add_secret_key(site.id)
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
    answer = dashboard.client.post(
        "/api/collect", json={"batch": batch}, headers={"Authorization": f"Bearer {secret}"}
    )
    assert answer.json()["accepted"] == 3
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
