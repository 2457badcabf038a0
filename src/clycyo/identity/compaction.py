"""Compaction: fold the cancelled states out of `visits`.

A visit that changed has left pairs behind — a `+1` state and the `-1` row that cancels it. Queries
are exact with them (they read live states, see `persons.py`), but every pair costs scan time, so
a job on the writer thread (`Writer.submit`) deletes them now and then. A cancelled pair is dead
for good, so any pair may go at any time, whether its visit is still open or not. The same job
folds the per-batch rows of `vital_hours` into one per hour, metric and bucket. This is an
optimisation only: nothing depends on it having run. On ClickHouse the store deletes the pairs
(`store/clickhouse/maintenance.py`) and leaves `vital_hours` as it is (sums over it are exact).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from clycyo.store.base import EventStore

log = logging.getLogger(__name__)

RUN_EVERY_S = 300.0


def compact(store: EventStore) -> int:
    """Delete every cancelled pair; returns the number of rows deleted (call on the writer)."""
    if store.dialect != "duckdb":
        # ClickHouse: the store deletes the pairs (its merges must not, see its schema.py).
        compact_visits = getattr(store, "compact_visits", None)
        return int(compact_visits()) if compact_visits is not None else 0
    rows = store.execute(
        "DELETE FROM visits USING (SELECT visit_id, state FROM visits WHERE sign = -1) c"
        " WHERE visits.visit_id = c.visit_id AND visits.state = c.state"
    )
    deleted = int(rows[0][0]) if rows else 0
    folded = _fold_vital_hours(store)
    if deleted or folded:
        log.info("compaction: %d cancelled visit rows and %d vital counts folded", deleted, folded)
    return deleted


def _fold_vital_hours(store: EventStore) -> int:
    """One row per (site, hour, metric, bucket): the writer appends a row per batch."""
    cursor = store.cursor()  # type: ignore[attr-defined]
    cursor.execute("BEGIN TRANSACTION")
    try:
        cursor.execute(
            "CREATE TEMP TABLE folded AS SELECT site_id, hour, metric, bucket, sum(n) AS n"
            " FROM vital_hours GROUP BY ALL HAVING count(*) > 1"
        )
        (count,) = cursor.execute("SELECT count(*) FROM folded").fetchone()
        if count:
            cursor.execute(
                "DELETE FROM vital_hours USING folded f WHERE vital_hours.site_id = f.site_id"
                " AND vital_hours.hour = f.hour AND vital_hours.metric = f.metric"
                " AND vital_hours.bucket = f.bucket"
            ).fetchall()
            cursor.execute("INSERT INTO vital_hours SELECT * FROM folded").fetchall()
        cursor.execute("DROP TABLE folded")
        cursor.execute("COMMIT")
    except BaseException:
        cursor.execute("ROLLBACK")
        raise
    return int(count)


class CompactionSchedule:
    """Starts `compact` on the writer every `every_s` seconds, one run at a time."""

    def __init__(self, every_s: float = RUN_EVERY_S) -> None:
        self.every_s = every_s
        self.next_at_s = time.monotonic() + every_s
        self.running: Future[Any] | None = None

    def maybe_start(self, submit: Callable[[Callable[[], Any]], Future[Any]], store: Any) -> bool:
        if time.monotonic() < self.next_at_s or (self.running and not self.running.done()):
            return False
        self.next_at_s = time.monotonic() + self.every_s
        self.running = submit(lambda: compact(store))
        return True
