"""`clycyo goal add|list|remove`: a site's page goals from the command line, refused with the
reason when the pattern is none, and read by a running server's next query."""

from __future__ import annotations

import json
from pathlib import Path

from tests.serverproc import Site, clycyo, run_clycyo


def test_goals_are_added_listed_and_removed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    clycyo("site", "add", "shop.example", data=data)
    added = json.loads(
        clycyo("goal", "add", "/blog/**", "--site", "shop.example", "--json", data=data)
    )
    assert added == {
        "id": 1,
        "site": "shop.example",
        "name": "Visit /blog/**",
        "pattern": "/blog/**",
    }
    clycyo("goal", "add", "/product/*/buy", "--site", "shop.example", data=data)
    listed = clycyo("goal", "list", data=data)
    assert listed.splitlines() == [
        "   1  shop.example  Visit /blog/**",
        "   2  shop.example  Visit /product/*/buy",
    ]
    assert "removed" in clycyo("goal", "remove", "1", "--site", "shop.example", data=data)
    rows = json.loads(clycyo("goal", "list", "--site", "shop.example", "--json", data=data))
    assert [r["name"] for r in rows] == ["Visit /product/*/buy"]
    again = run_clycyo("goal", "remove", "1", "--site", "shop.example", data=data)
    assert again.returncode == 1
    assert again.stderr.strip() == "clycyo: no page goal 1 on shop.example"
    # An id past SQLite's integers is no goal either, said as such rather than a traceback.
    huge = str(2**63)
    beyond = run_clycyo("goal", "remove", huge, "--site", "shop.example", data=data)
    assert (beyond.returncode, beyond.stderr.strip()) == (
        1,
        f"clycyo: no page goal {huge} on shop.example",
    )


def test_a_pattern_that_is_no_page_goal_is_refused_with_the_reason(tmp_path: Path) -> None:
    data = tmp_path / "data"
    clycyo("site", "add", "shop.example", data=data)
    for pattern, reason in (
        ("thank-you", "pattern: a page path starts with /"),
        ("/a b", "pattern: a page path has no spaces"),
    ):
        refused = run_clycyo("goal", "add", pattern, "--site", "shop.example", data=data)
        assert refused.returncode == 1
        assert refused.stderr.startswith(f"clycyo: {reason}"), refused.stderr
    assert clycyo("goal", "list", data=data).strip() == "no page goals"


def test_a_running_server_reads_a_goal_added_meanwhile(server: Site) -> None:
    body = {
        "site": server.site,
        "metrics": ["visitors"],
        "date_range": "7d",
        "filters": [["is", "event:goal", ["Visit /thank-you"]]],
    }
    status, answer = server.post("/api/v1/query", body, secret=True)
    assert status == 400 and "event:goal" in answer["error"]
    clycyo("goal", "add", "/thank-you", "--site", server.site, data=server.data_dir)
    status, answer = server.post("/api/v1/query", body, secret=True)
    assert status == 200, answer
    assert answer["results"][0]["metrics"] == [0]
