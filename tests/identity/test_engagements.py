"""The narrow copy of engagement reports (`engagements`): filled from the events on a store
made before it, and erased with its person, on both engines."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from clycyo.query import api
from tests.small_world import SmallWorld

_ROWS = (
    "SELECT site_id, time, visit_id, page_key, page, hostname, type, name, origin, scroll_depth,"
    " engaged_ms FROM engagements ORDER BY time"
)
METRICS = ("time_on_page", "scroll_depth")


def _reports(world: SmallWorld, *reports: tuple[str, float, str, Any, Any]) -> list[Any]:
    """Engagement reports: (visitor, minute, page, scroll depth, engaged ms)."""
    return [
        world.browser(v, at, "engagement", page, props={"scroll_depth": d, "engaged_ms": ms})
        for v, at, page, d, ms in reports
    ]


def _send_reports(world: SmallWorld) -> None:
    world.send(
        world.pageview("v1", 60, "/a"),
        world.pageview("v2", 70, "/b"),
        *_reports(
            world,
            ("v1", 61, "/a", 40, 3000),
            ("v1", 62, "/a", "deep", -5),
            ("v2", 71, "/b", 90, 100_000_000),
        ),
    )


def test_a_store_made_before_the_table_has_it_filled_from_its_events(
    world: SmallWorld,
) -> None:
    _send_reports(world)
    store = world.runtime.store
    written = store.execute(_ROWS)
    # The reports as the writer copies them: a value that is no report is NULL, a time over a
    # day counts as a day.
    assert [(row[9], row[10]) for row in written] == [
        (40.0, 3000.0),
        (None, None),
        (90.0, 86_400_000.0),
    ]
    answers = world.breakdown("event:page", "visitors", *METRICS)
    # As on a store made before the table: without it (and, on ClickHouse, at schema version 1,
    # whose migration to 2 makes it).
    if store.dialect == "duckdb":
        store.execute("DROP TABLE engagements")
    else:
        store.command("DROP TABLE engagements")
        store.command("DELETE FROM meta WHERE key = 'schema_version' AND value > 1")
        assert store.execute("SELECT max(value) FROM meta WHERE key = 'schema_version'") == [(1,)]
    world.reopen()
    assert world.runtime.store.execute(_ROWS) == written
    assert world.breakdown("event:page", "visitors", *METRICS) == answers
    # Filled once: the next load adds its own reports, and opening again copies nothing more.
    world.send(*_reports(world, ("v2", 72, "/b", 95, 1000)))
    assert len(world.runtime.store.execute(_ROWS)) == 4
    world.reopen()
    assert len(world.runtime.store.execute(_ROWS)) == 4


def test_erasing_a_person_takes_their_engagement_reports(world: SmallWorld) -> None:
    _send_reports(world)
    erased = api.erase_person(world.runtime, world.site, "v1").result(30)
    assert erased is not None
    assert [row[4] for row in world.runtime.store.execute(_ROWS)] == ["/b"]
    assert world.breakdown("event:page", *METRICS) == {"/b": [86_400.0, 90.0]}


def test_a_fill_a_killed_process_left_unfinished_is_made_again(world: SmallWorld) -> None:
    """On ClickHouse a fill inserts day by day: a process killed between two days leaves part of
    the table, which the next open must not take for a table already filled."""
    store = world.runtime.store
    if store.dialect == "duckdb":
        pytest.skip("one transaction on DuckDB: a killed fill leaves nothing")
    _send_reports(world)
    written = store.execute(_ROWS)
    # What a killed fill leaves: the fill marked as started, and only some of the rows.
    store.command("INSERT INTO meta (key, value, version) VALUES ('engagements_fill', 1, 1)")
    store.delete("engagements", "scroll_depth = 90", [])
    assert len(store.execute(_ROWS)) == len(written) - 1
    world.reopen()
    assert world.runtime.store.execute(_ROWS) == written
    world.reopen()
    assert world.runtime.store.execute(_ROWS) == written


# Fills an emptied `engagements` in a process of its own, whose Arrow memory peak is the fill's.
_FILL = """
import sys
from pathlib import Path
import pyarrow as pa
from clycyo.identity.backfill import fill_engagements
from clycyo.store.duckdb.store import DuckDBStore
store = DuckDBStore(Path(sys.argv[1]))
written = fill_engagements(store)
peak = pa.default_memory_pool().max_memory()
total = store.cursor().sql("SELECT * FROM engagements").to_arrow_table().nbytes
print(written, peak, total)
store.close()
"""


def test_a_fill_holds_a_days_reports_not_every_days(tmp_path: Path) -> None:
    """A store's history of reports is filled a day at a time, each day written before the next
    is read: the memory a fill takes is a day's (two, at most, while the next is read), not the
    whole history's. (On DuckDB a table `register`ed inside the fill's transaction stayed held
    until its end: all of them at once.)"""
    world = SmallWorld(tmp_path)
    days, per_day = 12, 2000
    for day in range(days):
        world.send(
            *(
                world.browser(
                    f"v{n % 50}",
                    -day * 1440 + n * 0.25,
                    "engagement",
                    f"/page/{n % 40}",
                    props={"scroll_depth": 50, "engaged_ms": 1000},
                )
                for n in range(per_day)
            )
        )
    world.runtime.store.execute("DELETE FROM engagements")
    world.close()
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_FILL), str(tmp_path / "data" / "events.duckdb")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    written, peak, total = map(int, done.stdout.split())
    assert written == days * per_day
    assert peak < 3 * total / days, (peak, total)
