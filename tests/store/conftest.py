"""Fixtures: one event store per test, on each engine (`tests/engines.py`)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from clycyo.model import Event
from clycyo.query.builder import superseded
from clycyo.store.base import EventStore
from clycyo.store.duckdb.store import DuckDBStore
from tests.engines import ENGINES, available

StoreFactory = Callable[[Path], EventStore]
_databases = itertools.count()


@pytest.fixture(params=ENGINES)
def open_store(request: pytest.FixtureRequest, chdb_folder: Path) -> StoreFactory:
    """Opens the store of a data folder; opening the same folder again reopens the same store,
    as a restarted process would."""
    engine = request.param
    if not available(engine):
        pytest.skip("chDB is not installed")
    names: dict[Path, str] = {}

    def open_one(folder: Path) -> EventStore:
        if engine == "duckdb":
            return DuckDBStore(folder / "events.duckdb")
        from clycyo.store.clickhouse.store import ClickHouseStore
        from clycyo.store.clickhouse.transport import ChdbTransport

        name = names.setdefault(folder, f"s{next(_databases)}")
        return ClickHouseStore(ChdbTransport(str(chdb_folder), name), loader="test")

    return open_one


def tick(event_id: str) -> Event:
    """A minimal server event with this id."""
    return Event(
        site_id=1,
        event_id=event_id,
        time_us=1,
        received_us=1,
        origin="server",
        type="event",
        name="t",
    )


def counted_events(store: EventStore, columns: str = "event_id") -> list[tuple[Any, ...]]:
    """The events queries count, by event id: ClickHouse keeps a superseded browser copy of an
    order in the table (every read leaves it out), DuckDB deletes it."""
    kept = superseded(store.dialect, "events", "1")
    where = f" WHERE {' AND '.join(kept)}" if kept else ""
    return sorted(store.execute(f"SELECT {columns} FROM events e{where}"))
