"""`clycyo annotation add|list|remove`: a site's annotations from the command line, a day read in
the site's time zone, and what is no time or no text refused on one `clycyo: …` line."""

from __future__ import annotations

import json
from pathlib import Path

from tests.serverproc import clycyo, run_clycyo


def test_annotations_are_added_listed_and_removed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    clycyo("site", "add", "shop.example", "--timezone", "Europe/Berlin", data=data)
    clycyo("site", "add", "blog.example", data=data)
    added = json.loads(
        clycyo(
            "annotation", "add", "--site", "shop.example", "--at", "2026-11-20",
            "Release 2.4", "--json", data=data,
        )
    )  # fmt: skip
    assert added.pop("created_at").endswith("Z")
    assert added == {
        "id": 1,
        "site": "shop.example",
        "time": "2026-11-19T23:00:00Z",  # the day's start in Berlin
        "text": "Release 2.4",
        "created_by": "cli",
    }
    out = clycyo(
        "annotation", "add", "--site", "shop.example", "--at", "2026-11-18T09:15:00Z",
        "Black Friday campaign", data=data,
    )  # fmt: skip
    assert out.strip() == "annotation 2 at 2026-11-18T09:15:00Z added to shop.example"
    clycyo("annotation", "add", "--site", "blog.example", "--at", "2026-11-01", "Moved", data=data)
    assert clycyo("annotation", "list", data=data).splitlines() == [
        "   2  shop.example  2026-11-18T09:15:00Z  Black Friday campaign",
        "   1  shop.example  2026-11-19T23:00:00Z  Release 2.4",
        "   3  blog.example  2026-11-01T00:00:00Z  Moved",
    ]
    assert "removed" in clycyo("annotation", "remove", "2", "--site", "shop.example", data=data)
    rows = json.loads(clycyo("annotation", "list", "--site", "shop.example", "--json", data=data))
    assert [r["text"] for r in rows] == ["Release 2.4"]
    for annotation_id in ("2", "3", str(2**63)):
        again = run_clycyo(
            "annotation", "remove", annotation_id, "--site", "shop.example", data=data
        )
        assert (again.returncode, again.stderr.strip()) == (
            1,
            f"clycyo: no annotation {annotation_id} on shop.example",
        )


def test_without_a_time_it_is_now(tmp_path: Path) -> None:
    data = tmp_path / "data"
    clycyo("site", "add", "shop.example", data=data)
    before = json.loads(
        clycyo("annotation", "add", "--site", "shop.example", "Deploy", "--json", data=data)
    )
    assert before["time"].endswith("Z") and before["created_by"] == "cli"


def test_what_is_no_time_or_no_text_is_refused_on_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    clycyo("site", "add", "shop.example", data=data)
    for args, reason in (
        (("--at", "last friday", "Release"), "time: 'last friday' is not a day or a time"),
        (("x" * 201,), "text: at most 200 characters"),
        (("two\nlines",), "text: one line, with no control characters"),
        (("  ",), "text: required"),
        # Bytes that are no UTF-8 (a Latin-1 terminal's é) reach Python as lone surrogates.
        (("caf\udce9",), "text: not valid Unicode text"),
    ):
        refused = run_clycyo("annotation", "add", "--site", "shop.example", *args, data=data)
        assert refused.returncode == 1
        assert refused.stderr.startswith(f"clycyo: {reason}"), refused.stderr
        assert len(refused.stderr.splitlines()) == 1
    unknown = run_clycyo("annotation", "add", "--site", "nope.example", "Release", data=data)
    assert (unknown.returncode, unknown.stderr.strip()) == (1, "clycyo: no site nope.example")
    latin = run_clycyo("annotation", "add", "--site", "caf\udce9.example", "Release", data=data)
    assert latin.returncode == 1 and latin.stderr.startswith("clycyo: no site caf"), latin.stderr
    assert clycyo("annotation", "list", data=data).strip() == "no annotations"
