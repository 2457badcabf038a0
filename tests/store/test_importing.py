"""Imported events into a running instance: a part is appended only once the writer has loaded
what came before, so that the events the site holds already are counted as such."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest

from clycyo.model import Event
from clycyo.runtime import Runtime, Settings
from clycyo.store import import_rows
from clycyo.store.importing import append_events
from clycyo.store.intake import IntakeUnavailable


def _events(site_id: int, ids: list[str]) -> list[Event]:
    now_us = time.time_ns() // 1000
    batch = pa.RecordBatch.from_pydict(
        {
            "event_id": ids,
            "time": [now_us - 60_000_000] * len(ids),
            "origin": ["server"] * len(ids),
            "type": ["event"] * len(ids),
            "name": ["signup"] * len(ids),
        }
    )
    batch = batch.set_column(1, "time", batch.column(1).cast(pa.timestamp("us")))
    events, invalid = import_rows.events_of(batch, site_id, 1, now_us)
    assert invalid == []
    return events


async def _append(runtime: Runtime, events: list[Event]) -> None:
    await runtime.intake.append(events, [])


def test_a_writer_that_loads_nothing_stops_the_part_instead_of_miscounting(
    tmp_path: Path,
) -> None:
    runtime = Runtime.open(Settings(data_dir=tmp_path / "data"))
    runner = asyncio.Runner()
    held = threading.Event()
    released = threading.Timer(5.0, held.set)  # the writer's job ends at last, whatever happens
    try:
        site_id = runtime.config.add_site("held.example").site.id
        runtime.writer.submit(held.wait)  # a long job on the writer thread: it loads nothing
        released.start()
        first = _events(site_id, ["a", "b"])
        runner.run(_append(runtime, first))  # acknowledged, not loaded
        began = time.monotonic()
        with pytest.raises(IntakeUnavailable, match=r"has loaded nothing for 0\.3 s"):
            runner.run(
                append_events(runtime, site_id, _events(site_id, ["a", "c"]), catch_up_s=0.3)
            )
        assert time.monotonic() - began < 4  # said before the job ends
        held.set()
        done = runner.run(append_events(runtime, site_id, _events(site_id, ["a", "c"])))
        assert (done.imported, done.present) == (1, 1)
    finally:
        held.set()
        released.cancel()
        runner.close()
        runtime.close()
