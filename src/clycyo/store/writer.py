"""The single writer: moves durable intake records into the event store, exactly once.

Every write to the event store goes through this one thread, fed by a queue (DuckDB has one
writer; ClickHouse wants large inserts). Records come from the intake log's flusher as they
become durable; when the thread starts, or finds a gap because the hand-off queue overflowed, it
reads the missing records back from the log. It batches records by count and time, drops event
ids the store already holds (the authority behind the pipeline's short memory), keeps one copy
of each order with the server's copy winning, and records the last sequence number it loaded.

Failures never lose data: a batch that fails to load stays in the log and is retried with backoff
until it succeeds; the thread survives any exception. Other writes (erasure, retention) are
submitted as jobs and run between batches, so they never race a load.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from clycyo.model import SERVER, Event, Rejection
from clycyo.store.base import EventStore
from clycyo.store.columns import fingerprint, to_arrow
from clycyo.store.derive import Deriver
from clycyo.store.intake import IntakeLog, Record
from clycyo.store.quarantine import Quarantine
from clycyo.store.seen import SeenFingerprints

log = logging.getLogger(__name__)

_HANDOFF_LIMIT = 2_000  # records waiting in memory; beyond this the writer re-reads the log


@dataclass
class WriterStats:
    stored: int = 0
    duplicates: int = 0
    superseded: int = 0
    quarantined: int = 0
    batches: int = 0
    failures: int = 0
    write_seconds: float = 0.0
    last_error: str | None = None
    latencies_s: list[float] = field(default_factory=list)


class Writer:
    def __init__(
        self,
        store: EventStore,
        intake: IntakeLog,
        quarantine: Quarantine,
        *,
        max_batch_events: int = 100_000,
        deriver: Deriver | None = None,
    ) -> None:
        self.store = store
        self.intake = intake
        self.quarantine = quarantine
        self.max_batch_events = max_batch_events
        self.deriver = deriver
        self.stats = WriterStats()
        self.fault_injection: str | None = None  # tests set this to make loads fail
        self.loaded_seq = store.loaded_seq()
        self._seen = SeenFingerprints(store.fingerprints())
        self._queue: queue.Queue[tuple[int, Record] | None] = queue.Queue(_HANDOFF_LIMIT)
        self._jobs: queue.Queue[tuple[Callable[[], Any], Future[Any]]] = queue.Queue()
        self._stopping = threading.Event()
        self._idle = threading.Condition()
        intake.handoff = self._handoff
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._thread.start()

    # Feeding

    def _handoff(self, seq: int, record: Record) -> None:
        # On overflow the gap is noticed and read back from the log.
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait((seq, record))

    def submit(self, job: Callable[[], Any]) -> Future[Any]:
        """Run `job` on the writer thread between batches (for erasure and retention)."""
        future: Future[Any] = Future()
        self._jobs.put((job, future))
        self._queue.put(None)  # wake the thread
        return future

    @property
    def lag_records(self) -> int:
        return max(0, self.intake.last_seq - self.loaded_seq)

    def wait_loaded(self, seq: int, timeout_s: float = 30.0) -> bool:
        """Block until records up to `seq` are in the store (tests and graceful shutdown)."""
        deadline = time.monotonic() + timeout_s
        with self._idle:
            while self.loaded_seq < seq:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
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
            self._load(list(self.intake.read(self.loaded_seq))[:200])

    def _run_jobs(self) -> None:
        while True:
            try:
                job, future = self._jobs.get_nowait()
            except queue.Empty:
                return
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(job())
            except Exception as exc:
                future.set_exception(exc)

    def _gather(self) -> list[tuple[int, Record]]:
        """Records to load next, in sequence order, without gaps.

        No artificial delay: whatever arrived while the previous batch was being written forms
        the next batch, so batches grow with the load and latency stays low when it is light.
        """
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        records: list[tuple[int, Record]] = []
        if first is not None:
            records.append(first)
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
        records = [(seq, r) for seq, r in records if seq > self.loaded_seq]
        if records and records[0][0] != self.loaded_seq + 1:
            # The hand-off overflowed or started late: read the gap back from disk.
            gap_end = records[0][0]
            missing = [(s, r) for s, r in self.intake.read(self.loaded_seq) if s < gap_end]
            records = missing + records
        expected = self.loaded_seq + 1
        contiguous = []
        for seq, record in records:
            if seq != expected:
                break
            contiguous.append((seq, record))
            expected += 1
        return contiguous

    def _load(self, records: list[tuple[int, Record]]) -> None:
        if not records:
            return
        if self.fault_injection is not None:
            raise RuntimeError(self.fault_injection)
        started = time.perf_counter()
        events: list[Event] = []
        seqs: list[int] = []
        rejections: list[tuple[int, int, Rejection]] = []
        for seq, record in records:
            events.extend(record.events)
            seqs.extend([seq] * len(record.events))
            rejections.extend((seq, index, r) for index, r in enumerate(record.rejections))
        kept, fingerprints, kept_seqs, superseded = self._dedupe(events, seqs)
        last_seq = records[-1][0]
        # Quarantine first: if the process dies before the store commits, the replay adds the
        # same entries again, which `Quarantine.add` ignores.
        self.quarantine.add(rejections)
        deriver = self.deriver
        derived = deriver.derive(kept) if deriver is not None else None
        try:
            self.store.write(
                to_arrow(kept, fingerprints, kept_seqs, derived.visit_ids if derived else None),
                seq=last_seq,
                superseded=superseded,
                derived=derived.tables if derived else None,
            )
        except BaseException:
            if deriver is not None:
                deriver.rollback()
            raise
        if deriver is not None:
            deriver.commit()
        self._seen.add(fingerprints)
        elapsed = time.perf_counter() - started
        stats = self.stats
        stats.stored += len(kept)
        stats.duplicates += len(events) - len(kept)
        stats.superseded += len(superseded)
        stats.quarantined += len(rejections)
        stats.batches += 1
        stats.write_seconds += elapsed
        stats.last_error = None
        with self._idle:
            self.loaded_seq = last_seq
            self._idle.notify_all()
        self.intake.loaded(last_seq)

    def _dedupe(
        self, events: list[Event], seqs: list[int]
    ) -> tuple[list[Event], list[int], list[int], list[tuple[int, str, str]]]:
        fingerprints = [fingerprint(e.site_id, e.event_id) for e in events]
        already = self._seen.contains(fingerprints)
        order_keys = [(e.site_id, e.name, e.order_id) for e in events if e.order_id is not None]
        stored_orders = self.store.orders(order_keys) if order_keys else {}
        batch_orders: dict[tuple[int, str, str], int] = {}
        kept: list[Event] = []
        kept_fps: list[int] = []
        kept_seqs: list[int] = []
        batch_fps: set[int] = set()
        superseded: list[tuple[int, str, str]] = []
        for event, fp, seen, seq in zip(events, fingerprints, already, seqs, strict=True):
            if seen or fp in batch_fps:
                continue
            if event.order_id is not None:
                key = (event.site_id, event.name, event.order_id)
                previous = batch_orders.get(key)
                if previous is not None:
                    if kept[previous].origin == SERVER or event.origin != SERVER:
                        continue
                    kept[previous] = event  # the server's copy replaces a browser copy
                    kept_fps[previous] = fp
                    kept_seqs[previous] = seq
                    batch_fps.add(fp)
                    continue
                stored_origin = stored_orders.get(key)
                if stored_origin is not None:
                    if stored_origin == SERVER or event.origin != SERVER:
                        continue
                    superseded.append(key)
                batch_orders[key] = len(kept)
            batch_fps.add(fp)
            kept.append(event)
            kept_fps.append(fp)
            kept_seqs.append(seq)
        return kept, kept_fps, kept_seqs, superseded

    def stop(self, timeout_s: float = 30.0) -> None:
        """Load everything the log holds, then stop the thread."""
        self.wait_loaded(self.intake.last_seq, timeout_s)
        self._stopping.set()
        self._queue.put(None)
        self._thread.join(timeout_s)
