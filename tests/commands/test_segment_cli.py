"""`clycyo segment add|list|remove`: a site's segments from the command line, filters written as
in a dashboard link (`is,visit:source,Google`) and checked as the query API checks them, what
is not one refused on one `clycyo: …` line, and a segment made here used by `clycyo query`."""

from __future__ import annotations

import json
from pathlib import Path

from tests.serverproc import clycyo, run_clycyo


def _add_paid(data: Path) -> None:
    clycyo(
        "segment", "add", "Paid", "--site", "shop.example", "--filter", "is,visit:source,Google",
        data=data,
    )  # fmt: skip


def test_segments_are_added_listed_and_removed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    clycyo("site", "add", "shop.example", data=data)
    clycyo("site", "add", "blog.example", data=data)
    added = json.loads(
        clycyo(
            "segment", "add", "Paid from Germany", "--site", "shop.example",
            "--filter", "is,visit:country,DE", "--filter", "contains,visit:utm_medium,c,p,c",
            "--json", data=data,
        )
    )  # fmt: skip
    assert added.pop("created_at").endswith("Z")
    assert added == {
        "id": 1,
        "site": "shop.example",
        "name": "Paid from Germany",
        # As in a dashboard link: the value is everything after the second comma.
        "filters": [["is", "visit:country", ["DE"]], ["contains", "visit:utm_medium", ["c,p,c"]]],
        "created_by": "cli",
    }
    out = clycyo(
        "segment", "add", "Mobile", "--site", "blog.example",
        "--filter", "is,visit:device,Mobile", data=data,
    )  # fmt: skip
    assert out.strip() == "segment 2 'Mobile' added to blog.example"
    assert clycyo("segment", "list", data=data).splitlines() == [
        "   1  shop.example  Paid from Germany  (is visit:country DE; contains visit:utm_medium"
        " c,p,c)",
        "   2  blog.example  Mobile  (is visit:device Mobile)",
    ]
    rows = json.loads(clycyo("segment", "list", "--site", "blog.example", "--json", data=data))
    assert [r["name"] for r in rows] == ["Mobile"]
    # Another site's segment is none of this one's.
    refused = run_clycyo("segment", "remove", "2", "--site", "shop.example", data=data)
    assert (refused.returncode, refused.stderr) == (1, "clycyo: no segment 2 on shop.example\n")
    assert "removed" in clycyo("segment", "remove", "2", "--site", "blog.example", data=data)
    assert clycyo("segment", "list", "--site", "blog.example", data=data).strip() == "no segments"


def test_what_is_no_segment_is_refused_naming_the_field(tmp_path: Path) -> None:
    data = tmp_path / "data"
    clycyo("site", "add", "shop.example", data=data)
    _add_paid(data)
    for name, filters, reason in (
        ("Planets", ["is,visit:planet,Mars"], "filters[0][1]: unknown dimension 'visit:planet'"),
        (
            "Bad",
            ["is,visit:source,Google", "is,visit:source"],
            "filters[1]: 'is,visit:source' is not OPERATOR,DIMENSION,VALUE"
            " (operators: is, is_not, contains)",
        ),
        ("paid", ["is,visit:source,Bing"], "name: the site has a segment named 'paid' already"),
        ("x" * 81, ["is,visit:source,Bing"], "name: at most 80 characters"),
        ("Elsewhere", ["is,visit:source,Bing"], "no site nowhere.example"),
    ):
        site = "nowhere.example" if name == "Elsewhere" else "shop.example"
        flags = [item for text in filters for item in ("--filter", text)]
        result = run_clycyo("segment", "add", name, "--site", site, *flags, data=data)
        assert (result.returncode, result.stderr) == (1, f"clycyo: {reason}\n")
    assert [r["name"] for r in json.loads(clycyo("segment", "list", "--json", data=data))] == [
        "Paid"
    ]
    without = run_clycyo("segment", "add", "None", "--site", "shop.example", data=data)
    assert without.returncode == 2 and "--filter" in without.stderr


def test_clycyo_query_takes_a_segment_filter(tmp_path: Path) -> None:
    data = tmp_path / "data"
    clycyo("site", "add", "shop.example", data=data)
    _add_paid(data)
    answer = json.loads(
        clycyo(
            "query", "--site", "shop.example", "--metrics", "visitors",
            "--filter", '["is", "segment", [1]]', "--json", data=data,
        )
    )  # fmt: skip
    assert answer["results"][0]["metrics"] == [0]
    unknown = run_clycyo(
        "query", "--site", "shop.example", "--metrics", "visitors",
        "--filter", '["is", "segment", [2]]', data=data,
    )  # fmt: skip
    assert unknown.returncode == 1 and "filters[0]: no segment 2 on this site" in unknown.stderr
