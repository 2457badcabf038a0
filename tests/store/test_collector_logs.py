"""The gathering of collector processes' intake logs (`store/collector_logs.py`), driven directly:
the load it hands batches to is the test's, so a log can grow during each load as a busy
collector's does."""

from __future__ import annotations

import threading
from pathlib import Path

from clycyo.store.collector_logs import CollectorLogs
from clycyo.store.intake import IntakeLog
from clycyo.store.intake_reader import ROTATE_REQUEST, IntakeReader
from clycyo.store.segments import Record
from tests.store.conftest import tick


def test_a_flush_under_steady_load_ends_once_what_came_before_is_loaded(tmp_path: Path) -> None:
    """A busy collector appends during every load: the flush loads its log as far as it
    reached when the flush began draining it and returns (a backup, an erasure or retention
    waits for it), rather than chase the log's end for as long as the load lasts."""
    folder = tmp_path / "intake" / "w1"
    collector = IntakeLog(folder)
    collector.append_sync([tick("before")], [])
    loaded: list[str] = []
    loads = 0

    def load(records: list[tuple[int, Record]], name: str, index: int) -> None:
        nonlocal loads
        loads += 1
        loaded.extend(event.event_id for _, record in records for event in record.events)
        if loads < 1_000:  # a bound, so that the flush ends even where it chases the end
            collector.append_sync([tick(f"during-{loads}")], [])  # arrived meanwhile

    stop = threading.Event()

    def answer_rotations() -> None:
        # What a collector process's tick does when the core asks for a new segment.
        while not stop.wait(0.01):
            if (folder / ROTATE_REQUEST).exists():
                collector.rotate_now()
                (folder / ROTATE_REQUEST).unlink(missing_ok=True)

    logs = CollectorLogs(load, lambda: None)
    logs.add(IntakeReader(folder, "w1"), 0, running=True)
    answering = threading.Thread(target=answer_rotations)
    answering.start()
    try:
        logs.flush(max_batch_events=25_000, timeout_s=5.0)
    finally:
        stop.set()
        answering.join()
    assert loaded[0] == "before"  # what came before the new segment is in the store
    assert loads <= 3
    # The records appended during the last load are left for the writer's next turn.
    logs.load_due(hurry=True, max_batch_events=25_000, min_interval_s=0.5)
    assert loaded == ["before"] + [f"during-{n}" for n in range(1, loads)]
    collector.close()
