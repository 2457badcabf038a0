"""ClickHouse's tables write each load through to disk before the load returns (chDB, the real
engine): the intake log deletes a segment once the store has committed it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from clycyo.store.clickhouse.schema import DURABLE, LAYOUTS, missing_settings
from tests.engines import available
from tests.store.conftest import tick
from tests.store.test_writer import Parts

pytestmark = pytest.mark.skipif(not available("chdb"), reason="chDB is not installed")


def _store(chdb_folder: Path, database: str) -> Any:
    from clycyo.store.clickhouse.store import ClickHouseStore
    from clycyo.store.clickhouse.transport import ChdbTransport

    return ClickHouseStore(ChdbTransport(str(chdb_folder), database), loader="test")


def _syncs(store: Any) -> dict[str, int]:
    """The engine's own count of files and folders it has synced (this process, every store)."""
    rows = store.execute(
        "SELECT event, value FROM system.events WHERE event IN ('FileSync', 'DirectorySync')"
    )
    return {event: int(value) for event, value in rows}


def _durable_tables(store: Any) -> set[str]:
    rows = store.execute(
        "SELECT name, engine_full FROM system.tables WHERE database = currentDatabase()"
    )
    return {
        name
        for name, engine in rows
        if all(f"{setting} = {value}" in engine for setting, value in DURABLE.items())
    }


def test_a_load_is_synced_to_disk_before_it_counts_as_stored(
    tmp_path: Path, chdb_folder: Path
) -> None:
    store = _store(chdb_folder, "durable")
    assert _durable_tables(store) == set(LAYOUTS)
    parts = Parts(tmp_path, lambda _: store)
    before = _syncs(store)
    parts.put(tick("a"), tick("b"))
    after = _syncs(store)
    assert after.get("FileSync", 0) > before.get("FileSync", 0)
    assert after.get("DirectorySync", 0) > before.get("DirectorySync", 0)
    assert sorted(parts.rows("SELECT event_id FROM events")) == [("a",), ("b",)]
    parts.close()


def test_tables_made_without_the_settings_get_them_on_open(chdb_folder: Path) -> None:
    store = _store(chdb_folder, "older")
    for table in LAYOUTS:
        store.command(f"ALTER TABLE {table} RESET SETTING {', '.join(DURABLE)}")
    assert _durable_tables(store) == set()
    store.close()
    store = _store(chdb_folder, "older")
    assert _durable_tables(store) == set(LAYOUTS)
    store.close()


def test_on_a_cluster_the_local_tables_get_the_settings() -> None:
    settings = "fsync_after_insert = 1, fsync_part_directory = 1"
    assert missing_settings("events", "ReplicatedReplacingMergeTree ORDER BY x", "main") == [
        f"ALTER TABLE events_local ON CLUSTER main MODIFY SETTING {settings}"
    ]
    assert missing_settings("meta", "", "main") == [
        f"ALTER TABLE meta ON CLUSTER main MODIFY SETTING {settings}"
    ]
    assert missing_settings("meta", f"ReplacingMergeTree(version) SETTINGS {settings}") == []
