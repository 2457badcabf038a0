"""`clycyo migrate`: a DuckDB data folder copied into ClickHouse (chDB), stopped half-way and
resumed, checked by counts; the server started on the copy gives the same answers and replays
exactly what the intake log held beyond DuckDB."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path
from typing import Any

import pytest

from clycyo import cli
from clycyo.store.clickhouse.store import ClickHouseStore
from clycyo.store.clickhouse.transport import TransportError
from clycyo.store.open import LOADER_FILE, loader_name
from tests.serverproc import ServerProcess, free_port, run_clycyo
from tests.small_world import IPHONE, SmallWorld
from tests.store.flaky import FlakyTransport

pytest.importorskip("chdb")
_databases = itertools.count()


def _world(world: SmallWorld) -> None:
    for day in range(4):
        base = -day * 24 * 60
        world.send(
            world.pageview("a", base + 60, "/", referrer="https://www.google.com/"),
            world.pageview("a", base + 61, "/pricing"),
            world.pageview("b", base + 70, "/", user_agent=IPHONE),
            world.browser("b", base + 71, "web_vital", "/", props={"metric": "LCP", "value": 900}),
            world.identify("b", "bea", base + 72),
            world.payment(base + 73, "25.00", f"o{day}", user_id="bea"),
        )


def _answers(world: SmallWorld) -> list[Any]:
    first = world.start.date().replace(day=1).isoformat()
    span = [min(first, world.day), world.day]
    return [
        world.query(metrics=m, dimensions=d, date_range=span)["results"]
        for m, d in (
            (["visitors", "visits", "pageviews", "bounce_rate", "visit_duration", "events"], []),
            (["revenue", "orders", "visitors"], ["first_touch:source"]),
            (["visitors"], ["time:day"]),
        )
    ]


def test_migrate_resumes_after_a_failure_and_the_copy_answers_alike(
    tmp_path: Path, chdb_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world = SmallWorld(tmp_path)
    _world(world)
    before = _answers(world)
    # An acknowledged record the store never loaded (a crash between fsync and load).
    world.runtime.writer.fault_injection = "stopped"
    world.send(world.pageview("late", 100, "/late"), wait=False)
    world.runtime.writer.stop(timeout_s=0.2)
    world.runtime.intake.close()
    world.runtime.store.close()
    data = tmp_path / "data"
    database = f"m{next(_databases)}"
    url = f"chdb://{chdb_folder}?database={database}"

    from clycyo.commands.migrate import migrate

    flaky = FlakyTransport(str(chdb_folder), database)
    target = ClickHouseStore(flaky, loader=loader_name(data))
    flaky.inserts_left = 5
    with pytest.raises(TransportError):
        migrate(data / "events.duckdb", target, progress=False)
    target.close()
    assert cli.main(["migrate", "--data", str(data), "--to", url, "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "events" in printed and "migrated" in printed
    # Run again: nothing left to copy, and nothing copied twice.
    assert cli.main(["migrate", "--data", str(data), "--to", url, "--quiet"]) == 0

    copy = SmallWorld(tmp_path, storage=url)
    try:
        assert copy.runtime.writer.wait_loaded(copy.runtime.intake.last_seq, 10)
        late = copy.runtime.store.execute("SELECT count() FROM events WHERE visitor_id = 'late'")
        assert late == [(1,)]
        doubled = copy.runtime.store.execute(
            "SELECT event_id FROM events GROUP BY event_id HAVING count() > 1"
        )
        assert doubled == []
        answers = _answers(copy)
    finally:
        copy.close()
    # The same events, with the late one, in DuckDB.
    reference = SmallWorld(tmp_path / "reference")
    _world(reference)
    reference.send(reference.pageview("late", 100, "/late"))
    assert answers == _answers(reference) != before
    reference.close()


def _migrate(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    return run_clycyo("migrate", *args, data=data, timeout_s=120)


def test_migrate_checks_its_source_first_and_leaves_nothing_after_a_failed_start(
    own_server: ServerProcess, tmp_path: Path
) -> None:
    server = own_server.start()
    target = tmp_path / "chdb-target"
    held = _migrate("--to", f"chdb://{target}", data=server.data_dir)
    assert held.returncode == 1
    assert "events.duckdb is held by another process" in held.stderr
    assert "Is a server already running on this data folder?" in held.stderr
    assert not target.exists()
    server.stop()
    unreachable = _migrate(
        "--to", f"clickhouse://u:p@127.0.0.1:{free_port()}/db", data=server.data_dir
    )
    assert unreachable.returncode == 1
    assert unreachable.stderr.startswith("clycyo: cannot connect to ClickHouse at 127.0.0.1:")
    assert len(unreachable.stderr.splitlines()) == 1
    assert not (server.data_dir / LOADER_FILE).exists()


def test_commands_without_a_server_do_not_take_a_moved_folders_old_duckdb_file_for_its_store(
    tmp_path: Path, chdb_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After the move the folder's events are in ClickHouse; its events.duckdb holds what it
    held before. An export from that file would be short without a word, and a replay would
    serve the folder from it: the replay, and what the intake log holds beyond ClickHouse,
    would go into DuckDB instead."""
    import asyncio

    from clycyo.collect.wire import decode_event
    from clycyo.store.quarantine import Quarantine

    world = SmallWorld(tmp_path)
    _world(world)
    runtime = world.runtime
    unnamed = decode_event(b'{"type": "event"}')
    asyncio.run(runtime.ingest.ingest(world.site, True, [unnamed], ip=None, user_agent=None))
    assert runtime.writer.wait_loaded(runtime.intake.last_seq, 10.0)
    world.close()
    data = tmp_path / "data"
    url = f"chdb://{chdb_folder}?database=m{next(_databases)}"
    assert cli.main(["migrate", "--data", str(data), "--to", url, "--quiet"]) == 0
    capsys.readouterr()

    out = tmp_path / "events.parquet"
    export = ["export", "--data", str(data), "--site", world.domain, "--out", str(out)]
    assert cli.main(export) == 1
    assert "loads its events into ClickHouse" in capsys.readouterr().err
    assert not out.exists()

    [entry] = Quarantine(data / "quarantine.sqlite").entries()
    store = data / "events.duckdb"
    before = store.stat().st_mtime_ns
    assert cli.main(["quarantine", "replay", str(entry.id), "--data", str(data)]) == 1
    assert "loads its events into ClickHouse" in capsys.readouterr().err
    assert cli.main(["query", "--data", str(data), "--site", world.domain]) == 1
    assert "loads its events into ClickHouse" in capsys.readouterr().err
    assert store.stat().st_mtime_ns == before
    assert Quarantine(data / "quarantine.sqlite").get(entry.id) == entry
