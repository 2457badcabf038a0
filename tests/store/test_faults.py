"""The writer survives what would kill it: its thread is started again and nothing is lost."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from clycyo.store.base import EventStore
from clycyo.store.intake import IntakeLog
from clycyo.store.quarantine import Quarantine
from clycyo.store.writer import Writer
from tests.store.conftest import StoreFactory, tick


def dying(store: EventStore) -> EventStore:
    """The store, its next write killing the thread that calls it (a bug, not an I/O error)."""
    write = store.write
    died: list[bool] = []

    def write_or_die(*args: Any, **kwargs: Any) -> None:
        if not died:
            died.append(True)
            raise SystemExit("the writer thread dies")
        write(*args, **kwargs)

    store.write = write_or_die  # type: ignore[method-assign]
    return store


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_dead_writer_thread_is_started_again_and_loads_everything(
    tmp_path: Path, open_store: StoreFactory
) -> None:
    store = dying(open_store(tmp_path))
    intake = IntakeLog(tmp_path / "intake")
    writer = Writer(store, intake, Quarantine(tmp_path / "q.sqlite"))
    seqs = [intake.append_sync([tick(f"e{n}")], []) for n in range(5)]
    deadline = time.monotonic() + 10
    while writer._thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not writer._thread.is_alive(), "the injected failure should have killed the thread"
    assert writer.loaded_seq < seqs[-1]

    assert writer.ensure_running()
    assert writer.stats.restarts == 1
    assert writer.wait_loaded(seqs[-1], 10)
    rows = store.execute("SELECT event_id FROM events ORDER BY event_id")
    assert [r[0] for r in rows] == [f"e{n}" for n in range(5)]
    assert not writer.ensure_running()  # alive: nothing to do
    writer.stop()
    intake.close()
    store.close()
