"""Markup in data is shown as text: panels, chips and JSON never pass it through unescaped.

The query layer is replaced by rows carrying payloads, so this checks the rendering alone; the
browser tests check the same end to end with stored events.
"""

from __future__ import annotations

from typing import Any

import pytest

from clycyo.web.dashboard import stats
from tests.web.conftest import Dashboard

PAYLOADS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "javascript:alert(1)"]


@pytest.fixture
def hostile_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    def run_answer(runtime: Any, site: Any, body: dict[str, Any]) -> stats.Answer:
        width = len(body["metrics"])
        if not body.get("dimensions"):
            return stats.Answer([stats.Row([], [1] * width)], {})
        extra = ["/x"] * (len(body["dimensions"]) - 1)
        return stats.Answer([stats.Row([p, *extra], [3] * width) for p in PAYLOADS], {})

    # `run_query` is `run_answer`'s rows: every view's queries come through here.
    monkeypatch.setattr(stats, "run_answer", run_answer)


@pytest.mark.usefixtures("hostile_rows")
@pytest.mark.parametrize("panel", ["pages", "sources", "goals", "errors", "rage"])
def test_panel_rows_are_escaped(dashboard: Dashboard, panel: str) -> None:
    client = dashboard.login()
    html = client.get(f"/sites/{dashboard.site}/panels/{panel}").text
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
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
