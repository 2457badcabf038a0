"""`clycyo export` from ClickHouse gives the rows and types the DuckDB export gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from clycyo.store import export as exports
from tests.engines import ENGINES, storage_url
from tests.small_world import SmallWorld

pytest.importorskip("chdb")
from clycyo.store.clickhouse import export as clickhouse_export


def _events(world: SmallWorld) -> list[dict[str, Any]]:
    events = [
        world.pageview("a", -1500, "/", referrer="https://www.google.com/"),
        world.pageview("a", 60, "/pricing"),
        world.browser("a", 61, "signup", "/pricing", props={"plan": "pro", "seats": 2}),
        world.identify("a", "ann", 62),
        world.payment(63, "49.50", "o1", origin="browser", visitor_id="a"),
        world.payment(64, "49.50", "o1", user_id="ann"),  # supersedes the browser's copy
        world.server(65, "renewal", user_id="ann"),
    ]
    for n, event in enumerate(events):
        event["event_id"] = f"e{n}"
    return events


def test_the_export_is_the_same_on_both_engines(tmp_path: Path, chdb_folder: Path) -> None:
    tables: list[pa.Table] = []
    for engine in ENGINES:
        world = SmallWorld(tmp_path / engine, storage=storage_url(engine, chdb_folder))
        try:
            world.send(*_events(world))
            store, site_id = world.runtime.store, world.site.id
            span = exports.ExportRange()
            if engine == "duckdb":
                cursor = store.cursor().cursor()  # type: ignore[attr-defined]
                count = exports.count(cursor, site_id, span)
                reader = exports.batches(cursor, site_id, span, batch_rows=2)
            else:
                count = clickhouse_export.count(store, site_id, span)
                reader = clickhouse_export.batches(store, site_id, span, batch_rows=2)
            table = reader.read_all()
            assert count == table.num_rows == 6
            tables.append(table)
        finally:
            world.close()
    duck, house = tables
    assert house.column_names == duck.column_names
    for name in duck.column_names:
        assert house.column(name).type == duck.column(name).type, name
    # Each world received its events at its own moment; everything else is the same.
    assert house.drop_columns(["received_at"]).to_pylist() == (
        duck.drop_columns(["received_at"]).to_pylist()
    )
