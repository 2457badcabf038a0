"""`clycyo backup` while the server takes events, restored by serving the copy; `clycyo export`."""

from __future__ import annotations

import csv
import functools
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from clycyo.commands import export
from tests.serverproc import ServerProcess, Site, clycyo, run_clycyo


def keep_sending(site: Site, stop: threading.Event, acknowledged: list[str]) -> None:
    n = 0
    while not stop.is_set():
        ids = [f"during-{n}-{i}" for i in range(20)]
        n += 1
        status, _ = site.post(
            "/api/collect", {"batch": [{"name": "during", "event_id": i} for i in ids]}, secret=True
        )
        if status == 200:
            acknowledged.extend(ids)


def test_backup_while_serving_then_restore(own_server: ServerProcess, tmp_path: Path) -> None:
    own_server.start()
    site = own_server.add_site("backed-up.example")
    before = [{"name": "before", "event_id": f"before-{n}"} for n in range(200)]
    assert site.post("/api/collect", {"batch": before}, secret=True)[0] == 200
    stop = threading.Event()
    acknowledged: list[str] = []
    sender = threading.Thread(target=keep_sending, args=(site, stop, acknowledged))
    sender.start()
    try:
        report = json.loads(
            clycyo("backup", str(tmp_path / "copy"), "--json", data=own_server.data_dir)
        )
    finally:
        stop.set()
        sender.join()
    assert "events.duckdb" in report["files"] and "config.sqlite" in report["files"]
    assert acknowledged, "events were sent during the backup"

    restored = ServerProcess(tmp_path / "copy").start()
    try:
        copy = Site(restored, site.site, site.public_key, site.secret_key)  # the keys came along
        stored = Counter(e["event_id"] for e in copy.events(limit="100000"))
        assert all(stored[f"before-{n}"] == 1 for n in range(200))
        assert max(stored.values()) == 1
        assert set(stored) - {f"before-{n}" for n in range(200)} <= set(acknowledged)
    finally:
        restored.kill()


def test_a_backup_that_takes_minutes_is_waited_for(
    own_server: ServerProcess, tmp_path: Path
) -> None:
    """A large store takes minutes to copy (some 40 s for 30 million events): `clycyo backup`
    waits for the server's answer past the deadline other commands keep (60 s, here 1 s through
    `CLYCYO_COMMAND_TIMEOUT`) instead of giving up while the copy goes on. The copy is made slow
    here by another process holding a lock on a SQLite file of the folder, which the server's
    backup copies too and waits for."""
    own_server.start()
    site = own_server.add_site("slow-backup.example")
    assert site.post("/api/collect", {"name": "kept", "event_id": "kept-1"}, secret=True)[0] == 200
    held = sqlite3.connect(own_server.data_dir / "held.sqlite", isolation_level=None)
    held.execute("CREATE TABLE notes (note TEXT)")
    held.execute("PRAGMA locking_mode=EXCLUSIVE")
    held.execute("BEGIN EXCLUSIVE")
    command = ["backup", str(tmp_path / "copy"), "--json", "--data", str(own_server.data_dir)]
    deadline = {**os.environ, "CLYCYO_COMMAND_TIMEOUT": "1"}
    backup = subprocess.Popen(
        [sys.executable, "-m", "clycyo", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=deadline,
    )
    try:
        time.sleep(3)  # longer than the deadline
        assert backup.poll() is None, backup.communicate()[1]
    finally:
        held.execute("COMMIT")
        held.close()
    out, err = backup.communicate(timeout=60)
    assert backup.returncode == 0, err
    assert {"events.duckdb", "held.sqlite"} <= set(json.loads(out)["files"])


def test_export_parquet_while_serving_and_csv_offline(
    own_server: ServerProcess, tmp_path: Path
) -> None:
    own_server.start()
    site = own_server.add_site("exported.example")
    other = own_server.add_site("other.example")
    batch = [{"name": "e", "event_id": f"x{n}", "props": {"n": n}} for n in range(120)]
    assert site.post("/api/collect", {"batch": batch}, secret=True)[0] == 200
    assert other.post("/api/collect", {"name": "not-exported"}, secret=True)[0] == 200

    parquet = tmp_path / "events.parquet"
    clycyo("export", "--site", site.site, "--out", str(parquet), data=own_server.data_dir)
    table = pq.read_table(parquet)
    assert table.num_rows == 120
    assert set(table.column("event_id").to_pylist()) == {f"x{n}" for n in range(120)}
    assert "event_fp" not in table.schema.names

    own_server.stop()
    out = tmp_path / "events.csv"
    clycyo(
        "export",
        "--site",
        site.site,
        "--format",
        "csv",
        "--out",
        str(out),
        "--from",
        "2000-01-01",
        data=own_server.data_dir,
    )
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 120
    assert json.loads(rows[0]["props"])["n"] is not None


def test_export_progress_counts_whole_events(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = pa.schema([("n", pa.int64())])
    batches = [pa.record_batch([pa.array(range(size))], schema=schema) for size in (10, 7)]
    write = functools.partial(export.write, progress=True)  # as on a terminal
    assert write(tmp_path / "e.csv", "csv", schema, iter(batches), 17) == 17
    shown = capsys.readouterr().err
    assert "17/17 events" in shown and "100%" in shown
    assert re.search(r"0\.00/|/17\.0", shown) is None  # no scaled fractions (the rate may be)
    many = [pa.record_batch([pa.array(range(1_234_567))], schema=schema)]
    write(tmp_path / "m.csv", "csv", schema, iter(many), 1_234_567)
    assert "1,234,567/1,234,567 events" in capsys.readouterr().err
    # The count unknown (a server that did not send it): the events written, no fraction.
    write(tmp_path / "u.csv", "csv", schema, iter(batches), 0)
    shown = capsys.readouterr().err
    assert "17 events [" in shown and re.search(r"\d/\d", shown) is None
    assert (tmp_path / "u.csv").read_text().count("\n") == 18  # the header and 17 rows


def _export(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    return run_clycyo("export", *args, data=data)


def test_export_refuses_a_day_it_cannot_read_or_a_reversed_range(tmp_path: Path) -> None:
    data = tmp_path / "data"
    clycyo("site", "add", "a.example", data=data)
    out = tmp_path / "events.parquet"
    for days, message in (
        (
            ("--from", "2026-11-28", "--to", "2026-11-01"),
            "--from 2026-11-28 is after --to 2026-11-01",
        ),
        (
            ("--from", "2026-13-01"),
            "--from '2026-13-01': expected a day, YYYY-MM-DD (month must be",
        ),
        (("--to", "soon"), "--to 'soon': expected a day, YYYY-MM-DD"),
    ):
        result = _export("--site", "a.example", "--out", str(out), *days, data=data)
        assert result.returncode == 1
        assert result.stderr.startswith(f"clycyo: {message}"), result.stderr
        assert not out.exists()


def test_an_unknown_site_is_told_alike_with_or_without_a_server(
    own_server: ServerProcess, tmp_path: Path
) -> None:
    own_server.add_site("known.example")
    out = tmp_path / "events.parquet"
    for serving in (False, True):
        if serving:
            own_server.start()
        result = _export("--site", "nope.test", "--out", str(out), data=own_server.data_dir)
        assert result.returncode == 1
        assert result.stderr == "clycyo: no site nope.test\n", (serving, result.stderr)
        assert not out.exists()


def test_export_shows_no_progress_bar_outside_a_terminal(
    own_server: ServerProcess, tmp_path: Path
) -> None:
    own_server.start()
    site = own_server.add_site("quiet.example")
    assert site.post("/api/collect", {"name": "e"}, secret=True)[0] == 200
    out = tmp_path / "events.csv"
    result = _export(
        "--site", site.site, "--format", "csv", "--out", str(out), data=own_server.data_dir
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == f"1 events of {site.site} written to {out}\n"


def test_a_backup_of_a_folder_loading_into_clickhouse_keeps_its_loader_name(
    tmp_path: Path, chdb_folder: Path
) -> None:
    """ClickHouse keeps how far it loaded a folder's intake log under the folder's loader name:
    the copy, served with the same --storage, is the same loader, so what the copied log holds
    that ClickHouse has loaded is not taken for new."""
    pytest.importorskip("chdb")
    from clycyo import cli
    from clycyo.store.open import LOADER_FILE
    from tests.small_world import SmallWorld

    url = f"chdb://{chdb_folder}?database=backed_up_loader"
    world = SmallWorld(tmp_path, storage=url)
    world.send(world.pageview("a", 60, "/"))
    world.close()
    copy = tmp_path / "restored" / "data"
    assert cli.main(["backup", str(copy), "--data", str(tmp_path / "data")]) == 0
    assert (copy / LOADER_FILE).read_text() == (tmp_path / "data" / LOADER_FILE).read_text()
    restored = SmallWorld(tmp_path / "restored", storage=url)
    try:
        assert restored.runtime.store.execute("SELECT count() FROM events") == [(1,)]
    finally:
        restored.close()


def test_an_export_without_a_server_refuses_a_log_the_store_has_not_loaded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A server stopped by a crash leaves acknowledged events in its intake log, loaded at its
    next start: an export of the event store alone would lack them without a word."""
    from clycyo import cli
    from tests.small_world import SmallWorld

    world = SmallWorld(tmp_path)
    world.send(world.pageview("a", 60, "/"))
    world.runtime.writer.fault_injection = "stopped"  # acknowledged, never loaded
    world.send(world.pageview("late", 100, "/late"), wait=False)
    world.runtime.writer.stop(timeout_s=0.2)
    world.runtime.intake.close()
    world.runtime.store.close()
    data, out = tmp_path / "data", tmp_path / "events.csv"
    export = ["export", "--data", str(data), "--site", world.domain, "--format", "csv"]
    assert cli.main([*export, "--out", str(out)]) == 1
    assert "has not loaded" in capsys.readouterr().err
    assert not out.exists()

    SmallWorld(tmp_path).close()  # a start loads the log
    assert cli.main([*export, "--out", str(out)]) == 0
    with out.open() as handle:
        assert sorted(row["visitor_id"] for row in csv.DictReader(handle)) == ["a", "late"]
