"""Markup in data is shown as text: panels, chips and JSON never pass it through unescaped.

The payloads are stored as events through the collect API (as page paths, UTM sources, event
names, error messages and rage-click selectors), so every panel reads them from the store.
"""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest

from tests.web.conftest import CHROME, Dashboard

PAYLOADS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "javascript:alert(1)"]


@pytest.fixture
def hostile_rows(dashboard: Dashboard) -> None:
    secret = dashboard.secret_key()
    now_ms = int(time.time() * 1000) - 60_000
    batch = []
    for n, payload in enumerate(PAYLOADS):
        url = f"https://{dashboard.site}/{payload}"
        common = {
            "origin": "browser",
            "context": {"ip": "85.214.1.2", "user_agent": CHROME},
            "visitor_id": f"visitor-{n}",
            "session_id": f"session-{n}",
            "timestamp": now_ms + n,
            "url": url,
        }
        batch += [
            {**common, "type": "pageview", "url": f"{url}?utm_source={quote(payload)}"},
            {**common, "type": "event", "name": payload},
            {**common, "type": "event", "name": "js_error", "props": {"message": payload}},
            {**common, "type": "event", "name": "rage_click", "props": {"selector": payload}},
        ]
    assert dashboard.collect({"batch": batch}, secret)["accepted"] == len(batch)
    assert dashboard.runtime.writer.catch_up(10)


@pytest.mark.usefixtures("hostile_rows")
@pytest.mark.parametrize(
    ("panel", "tab"),
    [("pages", "top"), ("sources", "utm_source"), ("goals", ""), ("errors", ""), ("rage", "")],
)
def test_panel_rows_are_escaped(dashboard: Dashboard, panel: str, tab: str) -> None:
    client = dashboard.login()
    html = client.get(f"/sites/{dashboard.site}/panels/{panel}", params={"tab": tab}).text
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'href="javascript:' not in html


@pytest.mark.usefixtures("hostile_rows")
def test_filter_chips_and_links_are_escaped(dashboard: Dashboard) -> None:
    client = dashboard.login()
    value = '"><script>alert(1)</script>'
    html = client.get(f"/sites/{dashboard.site}", params={"f": f"is,event:page,{value}"}).text
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html  # the chip shows the value as text


@pytest.mark.usefixtures("hostile_rows")
def test_chart_data_cannot_close_its_script_element(dashboard: Dashboard) -> None:
    client = dashboard.login()
    html = client.get(f"/sites/{dashboard.site}", params={"f": "is,event:page,</script><b>"}).text
    block = html.split('id="chart-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in block
