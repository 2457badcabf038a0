"""`clycyo shield add|list|remove`: a site's shields from the command line, each kind kept in one
spelling, and what is no rule refused on one `clycyo: …` line."""

from __future__ import annotations

import json
from pathlib import Path

from tests.serverproc import clycyo, run_clycyo


def test_shields_are_added_listed_and_removed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    clycyo("site", "add", "shop.example", data=data)
    clycyo("site", "add", "blog.example", data=data)
    added = json.loads(
        clycyo(
            "shield", "add", "--site", "shop.example", "--ip", "203.0.113.9/24", "--json",
            data=data,
        )
    )  # fmt: skip
    assert added == {"id": 1, "site": "shop.example", "kind": "ip", "value": "203.0.113.0/24"}
    for option, value in (
        ("--country", "de"),
        ("--page", "/admin/**"),
        ("--hostname", "www.shop.example"),
    ):
        out = clycyo("shield", "add", "--site", "shop.example", option, value, data=data)
        assert out.strip().endswith("added to shop.example")
    clycyo("shield", "add", "--site", "blog.example", "--hostname", "*.blog.example", data=data)
    assert clycyo("shield", "list", data=data).splitlines() == [
        "   1  shop.example  ip        203.0.113.0/24",
        "   2  shop.example  country   DE",
        "   3  shop.example  page      /admin/**",
        "   4  shop.example  hostname  shop.example",
        "   5  blog.example  hostname  *.blog.example",
    ]
    assert "removed" in clycyo("shield", "remove", "1", "--site", "shop.example", data=data)
    rows = json.loads(clycyo("shield", "list", "--site", "shop.example", "--json", data=data))
    assert [r["kind"] for r in rows] == ["country", "page", "hostname"]
    for shield_id, site in (
        ("1", "shop.example"),
        ("5", "shop.example"),
        (str(2**63), "shop.example"),
    ):
        again = run_clycyo("shield", "remove", shield_id, "--site", site, data=data)
        assert (again.returncode, again.stderr.strip()) == (
            1,
            f"clycyo: no shield {shield_id} on {site}",
        )


def test_what_is_no_rule_is_refused_on_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    clycyo("site", "add", "shop.example", data=data)
    for option, value, reason in (
        ("--ip", "203.0.113", "ip: '203.0.113' is not an IP address or CIDR range"),
        ("--country", "XYZ", "country: 'XYZ' is not an ISO 3166-1 alpha-2 code"),
        ("--page", "admin", "page: a page path starts with /"),
        ("--hostname", "other.example", "hostname: other.example is not a host of shop.example"),
    ):
        refused = run_clycyo("shield", "add", "--site", "shop.example", option, value, data=data)
        assert refused.returncode == 1
        assert refused.stderr.startswith(f"clycyo: {reason}"), refused.stderr
        assert len(refused.stderr.splitlines()) == 1
    unknown = run_clycyo("shield", "add", "--site", "nope.example", "--country", "DE", data=data)
    assert (unknown.returncode, unknown.stderr.strip()) == (1, "clycyo: no site nope.example")
    assert clycyo("shield", "list", data=data).strip() == "no shields"
