"""One SQLite connection per thread for a file several threads use (`sqlite3` connections belong
to the thread that opened them), each opened the same way: autocommit (transactions are explicit
`BEGIN`s), a 10 s wait for a lock, and the owner's pragmas."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

# A file several processes open, each commit synced: what was committed (a key printed to its
# owner, a rejection whose other copy is gone) survives a power cut. Writes are few. What is
# deleted is overwritten with zeros (`secure_delete`), and `purge` then empties the
# write-ahead log of the pages that held it: a salt past its day, an erased person's
# rejections, must not stay readable in the file's free space or in old log frames.
WAL = ("journal_mode=WAL", "synchronous=FULL", "secure_delete=ON")
FOREIGN_KEYS = ("foreign_keys=ON",)


class ThreadConnections:
    def __init__(self, path: Path, pragmas: tuple[str, ...] = ()) -> None:
        self.path = path
        self.pragmas = pragmas
        self._local = threading.local()

    def get(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            for pragma in self.pragmas:
                db.execute(f"PRAGMA {pragma}")
            self._local.db = db
        return db


def purge(db: sqlite3.Connection) -> bool:
    """Fold the write-ahead log into the file and empty it (after deleting what must not stay
    on disk); False when a reader in another process still needs the log (see `PendingPurge`)."""
    # Without waiting: a reader elsewhere can hold the log for long, and callers include the
    # event loop (a day's first event saves its salt).
    timeout_ms = db.execute("PRAGMA busy_timeout").fetchone()[0]
    db.execute("PRAGMA busy_timeout = 0")
    try:
        busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        db.execute(f"PRAGMA busy_timeout = {int(timeout_ms)}")
    if busy:
        file = db.execute("PRAGMA database_list").fetchone()[2]
        log.info("%s: its write-ahead log is in use; emptied at the next purge", file)
    return not busy


class PendingPurge:
    """A purge owed after a deletion that must leave the disk: tried at once, and again at each
    `retry` (the store's next reads and writes) while a reader elsewhere holds the log."""

    def __init__(self) -> None:
        self.pending = False

    def after_delete(self, db: sqlite3.Connection) -> None:
        self.pending = True
        self.retry(db)

    def retry(self, db: sqlite3.Connection) -> None:
        if self.pending and purge(db):
            self.pending = False
