"""The collector processes' intake logs (`serve --workers N`), as the writer gathers them.

Each collector process writes an intake log of its own; the core's writer loads them beside its
own log. This keeps, for each of those logs, its reader (`intake_reader.py`), the last record of
it the store holds, whether a process of this run writes it and when it was last loaded; it
decides which log is due for a load, and flushes them all for erasure and retention. It never
writes to the store itself: every batch it reads goes to the writer's load (`Load`), and it runs
on the writer thread only.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from clycyo.store.intake_reader import IntakeReader, Position
from clycyo.store.segments import Record

# Stores records of one collector's log: the records, the log's name, and its index (which keeps
# the stored `seq` column unique across logs).
Load = Callable[[list[tuple[int, Record]], str, int], None]

# Bytes an event takes in an intake log, at the least (a bare server event about 60, with props
# and context about 150): a collector's log a load's worth of this behind holds a full load or
# more, which the writer loads without waiting for its interval.
_LOG_BYTES_PER_EVENT = 100


class CollectorLogs:
    def __init__(self, load: Load, polled: Callable[[], None]) -> None:
        """`load` stores a batch; `polled` is called after each log's turn in `load_due` (the
        writer wakes whoever waits for what is loaded)."""
        self._load = load
        self._polled = polled
        self.readers: dict[str, IntakeReader] = {}
        self.loaded: dict[str, int] = {}  # each log's last record in the store
        self._stopped: set[str] = set()  # logs no process of this run writes
        self._loaded_at: dict[str, float] = {}  # time.monotonic() of each one's last load

    def add(self, reader: IntakeReader, loaded_seq: int, *, running: bool) -> None:
        """Load `reader`'s log from after `loaded_seq`; `running` is False for a log no collector
        of this run writes (one left by an earlier run)."""
        self.loaded[reader.name] = loaded_seq
        self.readers[reader.name] = reader
        if not running:
            self._stopped.add(reader.name)

    def ends(self) -> dict[str, Position]:
        """Where each log ends now (for `reached`)."""
        return {name: reader.end() for name, reader in list(self.readers.items())}

    def reached(self, ends: dict[str, Position]) -> bool:
        """Whether the store holds every log up to `ends`."""
        return all(self.readers[name].reached(end) for name, end in ends.items())

    def behind(self) -> int:
        """The number of logs that have unread bytes."""
        return sum(1 for reader in list(self.readers.values()) if reader.lag_bytes() > 0)

    def lag_bytes(self) -> int:
        """Bytes of the logs not yet read."""
        return sum(reader.lag_bytes() for reader in list(self.readers.values()))

    def load_due(self, *, hurry: bool, max_batch_events: int, min_interval_s: float) -> None:
        """Load a batch of each log that is due (every log, in a `hurry`)."""
        for index, reader in enumerate(list(self.readers.values()), start=1):
            name = reader.name
            if not (hurry or self._due(reader, max_batch_events, min_interval_s)):
                continue
            polled, position = reader.poll(self.loaded[name], max_batch_events)
            if polled:
                self._loaded_at[name] = time.monotonic()
                self._load(polled, name, index)
                self.loaded[name] = polled[-1][0]
            reader.advance(position)
            if polled:
                reader.loaded(polled[-1][0])
            self._polled()

    def _due(self, reader: IntakeReader, max_batch_events: int, min_interval_s: float) -> bool:
        """Whether a collector's log is to be loaded now: as with the local log, a load at most
        every `min_interval_s` gathers what arrived meanwhile (loads of a few hundred events, one
        per poll, cost the writer several times as much per event), unless a full load waits."""
        since = time.monotonic() - self._loaded_at.get(reader.name, 0.0)
        if since >= min_interval_s:
            return True
        return reader.lag_bytes() >= max_batch_events * _LOG_BYTES_PER_EVENT

    def flush(self, *, max_batch_events: int, timeout_s: float) -> None:
        """Have every collector start a new segment, load all that came before, and delete the
        old segments, so that what is erased or expired does not linger in a collector's log.

        A log whose collector does not answer within `timeout_s` gets its next segment started
        on its behalf, if no process holds its writer lock (none runs; and none starts until
        that is done). A new segment beside the one a live collector still writes would be read
        instead of it, so the records written there after would never be loaded: a log whose
        collector runs but does not answer keeps its old segment, and this raises `TimeoutError`
        once the rest is done (an erasure answers 503 and is asked again)."""
        # A collector that has not started yet has no log: nothing of it to flush.
        readers = {name: r for name, r in self.readers.items() if r.exists()}
        if not readers:
            return
        before = {
            name: reader.end().first_seq
            for name, reader in readers.items()
            if name not in self._stopped
        }
        for name in before:
            readers[name].request_rotation()
        deadline = time.monotonic() + timeout_s
        waiting = set(before)
        while waiting and time.monotonic() < deadline:
            waiting = {
                n
                for n in waiting
                if readers[n].end().first_seq == before[n] and readers[n].rotation_requested()
            }
            if waiting:
                time.sleep(0.05)
        slow = set()
        for index, (name, reader) in enumerate(list(self.readers.items()), start=1):
            if name not in readers:
                continue
            self._drain(name, reader, index, max_batch_events)
            if name not in waiting and name not in self._stopped:
                reader.loaded(self.loaded[name])
                continue
            with reader.writer_stopped() as stopped:
                if not stopped:
                    slow.add(name)
                else:
                    # A collector that died mid-write left a torn record: what the old
                    # segments hold must not stay on disk until it starts again.
                    reader.cut_torn_tail()
                    if reader.lag_bytes() == 0:
                        reader.rotate_for_stopped_writer(self.loaded[name] + 1)
                        self._drain(name, reader, index, max_batch_events)
                reader.loaded(self.loaded[name])
        if slow:
            names = ", ".join(sorted(slow))
            raise TimeoutError(f"collector logs {names}: no new segment within {timeout_s:g} s")

    def _drain(self, name: str, reader: IntakeReader, index: int, max_batch_events: int) -> None:
        """Load the log up to where it ends now. Only that far: a collector under steady load
        appends while this loads, and chasing the end would hold the writer (and the backup,
        erasure or retention waiting for it) for as long as the load lasts."""
        until = reader.end()
        while True:
            polled, position = reader.poll(self.loaded[name], max_batch_events)
            if polled:
                self._load(polled, name, index)
                self.loaded[name] = polled[-1][0]
            reader.advance(position)
            if not polled or reader.reached(until):
                return
