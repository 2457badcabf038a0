"""The single writer: moves durable intake records into the event store, exactly once.

Every write to the event store goes through this one thread, fed by a queue (DuckDB has one
writer; ClickHouse wants large inserts). Records come from the intake log's flusher as they
become durable; when the thread starts, or finds a gap because the hand-off queue overflowed, it
reads the missing records back from the log. It batches records by count and time, drops event
ids the store already holds (the authority behind the pipeline's short memory), keeps one copy
of each order with the server's copy winning, and records the last sequence number it loaded.

Failures never lose data: a batch that fails to load stays in the log and is retried with backoff
until it succeeds; the thread survives any exception. A batch the store refuses because of some
events' values (`refusals.py`), or on which the writer's own work (dedupe, the deriver, the Arrow
conversion) fails twice in a row the same way, is not retried as it was, since it would fail the
same way for ever: `narrowing.py` stores it without the events at fault, which go to the
quarantine with the error. The writer does that work (`_prepare`, `_store`) for it.
Other writes (erasure, retention) are submitted as jobs and run between batches, so they never
race a load. The intake logs of collector processes (`serve --workers`) are polled through
`collector_logs.py` and loaded here too.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, NamedTuple

import pyarrow as pa

from clycyo.model import Event, Rejection
from clycyo.observability import WRITE_SECONDS
from clycyo.store.base import LOCAL_SOURCE, EventStore
from clycyo.store.collector_logs import CollectorLogs
from clycyo.store.columns import to_arrow
from clycyo.store.dedupe import Batch, Dedupe
from clycyo.store.derive import Deriver
from clycyo.store.intake import IntakeLog
from clycyo.store.intake_reader import IntakeReader
from clycyo.store.narrowing import Gone, Narrowing
from clycyo.store.quarantine import Quarantine
from clycyo.store.refusals import internal_error
from clycyo.store.segments import DAMAGED, Record

log = logging.getLogger(__name__)

_HANDOFF_LIMIT = 2_000  # records waiting in memory; beyond this the writer re-reads the log
# Events waiting in memory: beyond this too the writer re-reads the log, so a writer that falls
# behind costs disk reads later, not memory now.
_HANDOFF_EVENTS = 50_000
# Quiet for this long after a load, the writer lets the store tidy up (`EventStore.settle`).
_SETTLE_AFTER_S = 5.0


@dataclass
class WriterStats:
    stored: int = 0
    duplicates: int = 0
    superseded: int = 0
    quarantined: int = 0
    refused: int = 0  # events the store refused, quarantined (also counted in `quarantined`)
    # Events the writer's own work failed on (a bug), quarantined (also in `quarantined`).
    internal_errors: int = 0
    damaged: int = 0  # intake records that could not be read back (see `segments.DAMAGED`)
    batches: int = 0
    failures: int = 0
    restarts: int = 0  # times the thread had died and was started again
    write_seconds: float = 0.0
    last_error: str | None = None


class _Prepared(NamedTuple):
    """A load as the writer's own work leaves it, ready to be written."""

    batch: Batch  # what dedupe keeps of it
    table: pa.Table  # `batch.events` as stored
    derived: dict[str, pa.Table] | None


class Writer:
    def __init__(
        self,
        store: EventStore,
        intake: IntakeLog,
        quarantine: Quarantine,
        *,
        max_batch_events: int = 25_000,
        min_interval_s: float = 0.5,
        deriver: Deriver | None = None,
    ) -> None:
        self.store = store
        self.intake = intake
        self.quarantine = quarantine
        self.max_batch_events = max_batch_events
        self.min_interval_s = min_interval_s
        self.deriver = deriver
        self.stats = WriterStats()
        self.fault_injection: str | None = None  # tests set this to make loads fail
        self.loaded_seq = store.loaded_seq()
        intake.resume(self.loaded_seq)
        self.dedupe = Dedupe(store)
        self._queue: queue.Queue[tuple[int, Record] | None] = queue.Queue(_HANDOFF_LIMIT)
        self._queued_events = 0
        self._queued_lock = threading.Lock()
        self._last_load_at = 0.0  # time.monotonic() when the last load started
        self._settled = True  # no load since the store last settled
        self._hurry = threading.Event()  # someone waits in wait_loaded: no pause before a load
        self._narrowing = Narrowing(quarantine, self._store, self._rehearse)
        # Logs of collector processes, polled (the local log is handed over as it is written).
        self._collector_logs = CollectorLogs(self._load, self._notify_idle)
        self._jobs: queue.Queue[tuple[Callable[[], Any], Future[Any]]] = queue.Queue()
        self._stopping = threading.Event()
        self._idle = threading.Condition()
        intake.handoff = self._handoff
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._thread.start()

    # Feeding

    def _handoff(self, seq: int, record: Record) -> None:
        # On overflow the gap is noticed and read back from the log.
        size = len(record.events)
        with self._queued_lock:
            if self._queued_events and self._queued_events + size > _HANDOFF_EVENTS:
                return
            self._queued_events += size
        try:
            self._queue.put_nowait((seq, record))
        except queue.Full:
            with self._queued_lock:
                self._queued_events -= size

    def add_reader(self, reader: IntakeReader, *, running: bool = True) -> None:
        """Also load a collector process's intake log (from where the store left it); `running`
        is False for a log no collector of this run writes (one left by an earlier run)."""
        self._collector_logs.add(reader, self.store.loaded_seq(reader.name), running=running)
        self._queue.put(None)

    @property
    def reader_loaded(self) -> dict[str, int]:
        """The last record of each collector log the store holds, by the log's name."""
        return self._collector_logs.loaded

    def flush_collector_logs(self, timeout_s: float = 5.0) -> None:
        """Have every collector start a new segment, load all that came before, and delete the
        old segments (`CollectorLogs.flush`). Run on the writer thread (in erasure and retention
        jobs) so that what is erased or expired does not linger in a collector's log."""
        self._collector_logs.flush(max_batch_events=self.max_batch_events, timeout_s=timeout_s)

    def catch_up(self, timeout_s: float = 5.0) -> bool:
        """Block until everything acknowledged before the call, by any process, is in the store.

        Queries call this first, so a client that sent events and then reads sees them.
        """
        deadline = time.monotonic() + timeout_s
        targets = self._collector_logs.ends()
        if not self.wait_loaded(self.intake.last_seq, timeout_s):
            return False
        with self._idle:
            while not self._collector_logs.reached(targets):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._hurry.set()
                self._idle.wait(min(left, 0.02))
        return True

    def submit(self, job: Callable[[], Any]) -> Future[Any]:
        """Run `job` on the writer thread between batches (for erasure and retention)."""
        future: Future[Any] = Future()
        self._jobs.put((job, future))
        self._queue.put(None)  # wake the thread
        return future

    @property
    def lag_records(self) -> int:
        """Records not yet loaded: exact for the local log, at least one per collector log that
        has unread bytes."""
        behind = max(0, self.intake.last_seq - self.loaded_seq)
        return behind + self._collector_logs.behind()

    @property
    def lag_bytes(self) -> int:
        """Bytes of collector logs not yet read (the local log is counted in records)."""
        return self._collector_logs.lag_bytes()

    def wait_loaded(self, seq: int, timeout_s: float = 30.0) -> bool:
        """Block until records up to `seq` are in the store (tests and graceful shutdown)."""
        deadline = time.monotonic() + timeout_s
        with self._idle:
            while self.loaded_seq < seq:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._hurry.set()
                self._idle.wait(min(left, 0.1))
        return True

    # The thread

    def _run(self) -> None:
        backoff_s = 0.05
        while not self._stopping.is_set():
            try:
                self._cycle()
                backoff_s = 0.05
            except Exception as exc:
                self.stats.failures += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("store writer: load failed; retrying in %.1f s", backoff_s)
                self._stopping.wait(backoff_s)
                backoff_s = min(backoff_s * 2, 5.0)

    def _cycle(self) -> None:
        self._run_jobs()
        records = self._gather()
        if records:
            self._load(records)
        elif self.loaded_seq < self.intake.last_seq:
            self._load(self._read_back())  # records the hand-off never held (a replay)
        hurry = self._hurry.is_set()
        self._collector_logs.load_due(
            hurry=hurry, max_batch_events=self.max_batch_events, min_interval_s=self.min_interval_s
        )
        if hurry and self._collector_logs.readers:
            self._hurry.clear()  # whoever still waits sets it again
        if not self._settled and time.monotonic() - self._last_load_at > _SETTLE_AFTER_S:
            self._settled = True
            self.store.settle()

    def _notify_idle(self) -> None:
        with self._idle:
            self._idle.notify_all()

    def _run_jobs(self) -> None:
        ran = False
        while True:
            try:
                job, future = self._jobs.get_nowait()
            except queue.Empty:
                break
            if not future.set_running_or_notify_cancel():
                continue
            ran = True
            try:
                future.set_result(job())
            except Exception as exc:
                future.set_exception(exc)
        if ran:
            self._forget_handoff()

    def _forget_handoff(self) -> None:
        """Drop the records held in memory: a job (erasure, retention) may have rewritten the log,
        and what is loaded next must be what the log now says, read back from disk."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        with self._queued_lock:
            self._queued_events = 0

    def _gather(self) -> list[tuple[int, Record]]:
        """Records to load next, in sequence order, without gaps.

        An idle writer loads a record as soon as it arrives, so latency stays low when the load
        is light. Under sustained load a load starts at most every `min_interval_s`: each load
        has a fixed cost (an Arrow table, a transaction, the derived tables), so fewer, larger
        loads leave more of the machine to the requests (measured: 35 µs of CPU per event in
        loads of 2,500 events, 25 µs in loads of 10,000). Larger loads hold more memory while
        they last, and what they held stays with the process: with a pause of a second, the
        server after `make run`'s demo held about 520 MB against 400 MB with half a second.
        A writer with a full load waiting, or behind the log, does not pause: the pause is
        there to gather small loads, never to hold the store back. A caller of `wait_loaded`
        cuts the pause short.
        """
        try:
            # With collector logs to poll, wake often; otherwise the hand-off wakes the thread.
            first = self._queue.get(timeout=0.02 if self._collector_logs.readers else 0.2)
        except queue.Empty:
            return []
        records: list[tuple[int, Record]] = []
        if first is not None:
            records.append(first)
            with self._queued_lock:
                waiting = self._queued_events
            behind = first[0] != self.loaded_seq + 1  # records to read back from the log first
            if waiting < self.max_batch_events and not behind:
                self._pause()  # a writer that has a full load or more waiting does not pause
        events = sum(len(r.events) for _, r in records)
        while events < self.max_batch_events:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                break  # a job is waiting; load what we have first
            records.append(item)
            events += len(item[1].events)
        with self._queued_lock:
            self._queued_events -= events
        records = [(seq, r) for seq, r in records if seq > self.loaded_seq]
        if records and records[0][0] != self.loaded_seq + 1:
            # The hand-off overflowed or started late: read the gap back from disk, a batch's
            # worth at a time (what lies beyond is read back by the next loads).
            records = self._read_back(before_seq=records[0][0]) + records
        expected = self.loaded_seq + 1
        contiguous = []
        for seq, record in records:
            if seq != expected:
                break
            contiguous.append((seq, record))
            expected += 1
        return contiguous

    def _read_back(self, before_seq: int | None = None) -> list[tuple[int, Record]]:
        """The records after the last one loaded, from the log on disk: a load's worth of events
        at most, and none from `before_seq` on."""
        records: list[tuple[int, Record]] = []
        budget = self.max_batch_events
        for seq, record in self.intake.read(self.loaded_seq):
            if (before_seq is not None and seq >= before_seq) or budget <= 0:
                break
            records.append((seq, record))
            budget -= len(record.events)
        return records

    def _pause(self) -> None:
        wait_s = self._last_load_at + self.min_interval_s - time.monotonic()
        if wait_s > 0:
            self._hurry.wait(wait_s)
        self._hurry.clear()

    def _load(
        self,
        records: list[tuple[int, Record]],
        source: str = LOCAL_SOURCE,
        source_index: int = 0,
    ) -> None:
        """Store the records of one intake log (`source`), without the events that make the
        load fail (`Narrowing.store`); `source_index` keeps the stored `seq` column unique
        across logs."""
        if not records:
            return
        if self.fault_injection is not None:
            raise RuntimeError(self.fault_injection)
        started = time.perf_counter()
        self._last_load_at = time.monotonic()
        self._settled = False
        events, seqs, places, rejections = _unpack(records, source_index)
        last_seq = records[-1][0]
        # Quarantine first: if the process dies before the store commits, the replay adds the
        # same entries again, which `Quarantine.add` ignores.
        self.quarantine.add(rejections)
        stored = self._narrowing.store(
            events, seqs, places, first_seq=records[0][0], last_seq=last_seq, source=source
        )
        elapsed = time.perf_counter() - started
        WRITE_SECONDS.observe(elapsed)
        stats = self.stats
        stats.duplicates += stored.written - len(stored.kept)
        stats.superseded += len(stored.gone)
        stats.quarantined += len(rejections) + stored.refused + stored.internal
        stats.refused += stored.refused
        stats.internal_errors += stored.internal
        stats.damaged += _report_damaged(records, source)
        stats.batches += 1
        stats.write_seconds += elapsed
        stats.last_error = None
        stats.stored += len(stored.kept)  # last: whoever sees these counted sees the whole load
        if source != LOCAL_SOURCE:
            return
        with self._idle:
            self.loaded_seq = last_seq
            self._idle.notify_all()
        self.intake.loaded(last_seq)

    def _prepare(self, events: list[Event], seqs: list[int]) -> _Prepared:
        """The writer's own work on a load before the store is written: the duplicates and
        orders settled, the derived rows made (the deriver's changes staged: the caller commits
        or rolls them back), the Arrow tables built. Any failure rolls the deriver back; one that
        is neither the store's nor a refusal of a value is raised as an `InternalError`."""
        deriver = self.deriver
        try:
            batch = self.dedupe.batch(events, seqs)
            derived = deriver.derive(batch.events, batch.links) if deriver is not None else None
            table = to_arrow(
                batch.events,
                batch.fingerprints,
                batch.seqs,
                derived.visit_ids if derived else None,
            )
            tables = derived.all_tables(table) if derived else None
        except Exception as exc:
            if deriver is not None:
                deriver.rollback()
            internal = internal_error(exc)
            if internal is None:
                raise
            raise internal from exc
        except BaseException:
            if deriver is not None:
                deriver.rollback()
            raise
        return _Prepared(batch, table, tables)

    def _store(
        self, events: list[Event], seqs: list[int], last_seq: int, source: str, *, keep: bool = True
    ) -> tuple[list[Event], Gone]:
        """Store `events` as one load reaching `last_seq` of log `source`; the events kept and
        the orders whose stored copies went. With `keep` false, only rehearse it: nothing
        stays."""
        batch, table, derived = self._prepare(events, seqs)
        deriver = self.deriver
        try:
            self.store.write(
                table,
                seq=last_seq,
                superseded=batch.superseded,
                derived=derived,
                source=source,
                replaced=batch.replaced,
                keep=keep,
                amended=batch.amended,
            )
        except BaseException:
            if deriver is not None:
                deriver.rollback()
            raise
        gone = [*batch.superseded, *batch.replaced]
        if not keep:
            if deriver is not None:
                deriver.rollback()
            return batch.events, gone
        if deriver is not None:
            deriver.commit()
        self.dedupe.remember(batch.fingerprints)
        return batch.events, gone

    def _rehearse(self, events: list[Event], seqs: list[int]) -> None:
        """The writer's own work alone on `events`, undone: the store is not written."""
        self._prepare(events, seqs)
        if self.deriver is not None:
            self.deriver.rollback()

    def ensure_running(self) -> bool:
        """Start the thread again if something escaped its retry loop; True if it had died."""
        if self._thread.is_alive() or self._stopping.is_set():
            return False
        log.error("store writer: the thread had stopped; starting it again")
        self.stats.restarts += 1
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._thread.start()
        return True

    def stop(self, timeout_s: float = 30.0) -> None:
        """Load everything the logs hold, then stop the thread."""
        self.catch_up(timeout_s)
        self._stopping.set()
        self._queue.put(None)
        self._thread.join(timeout_s)


def _unpack(
    records: list[tuple[int, Record]], source_index: int
) -> tuple[list[Event], list[int], list[int], list[tuple[int, int, Rejection]]]:
    """The events of `records`, each event's stored `seq`, each event's index in its record,
    and the records' rejections as quarantine entries."""
    events: list[Event] = []
    seqs: list[int] = []
    places: list[int] = []
    rejections: list[tuple[int, int, Rejection]] = []
    for seq, record in records:
        events.extend(record.events)
        seqs.extend([(source_index << 48) | seq] * len(record.events))
        places.extend(range(len(record.events)))
        unique_seq = (source_index << 48) | seq
        rejections.extend((unique_seq, index, r) for index, r in enumerate(record.rejections))
    return events, seqs, places, rejections


def _report_damaged(records: list[tuple[int, Record]], source: str) -> int:
    """Log the records of `records` that could not be read back from disk; how many they are."""
    damaged = [seq for seq, record in records if record is DAMAGED]
    if damaged:
        log.error(
            "intake log %s: %d record(s) damaged on disk, numbered %s: their events are lost;"
            " the records after them are loaded",
            source,
            len(damaged),
            ", ".join(map(str, damaged[:10])) + (", …" if len(damaged) > 10 else ""),
        )
    return len(damaged)
