"""One SQLite connection per thread for a file several threads use (`sqlite3` connections belong
to the thread that opened them), each opened the same way: autocommit (transactions are explicit
`BEGIN`s), a 10 s wait for a lock, and the owner's pragmas."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

# A file several processes open, each commit synced: what was committed (a key printed to its
# owner, a rejection whose other copy is gone) survives a power cut. Writes are few.
WAL = ("journal_mode=WAL", "synchronous=FULL")
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
