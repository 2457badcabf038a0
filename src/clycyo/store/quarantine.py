"""The quarantine: events that failed validation, kept with their reason for inspection and replay.

SQLite in WAL mode, beside the configuration store, so `clycyo quarantine` can read it while a
server runs. Entries arrive through the intake log (the writer copies them here, before the store
records the log's records as loaded), so a rejection is as durable as an acceptance: each commit
is synced (`synchronous=FULL`), since the log's copy goes once the store has loaded it. Payloads
never hold an IP address: the collector removes `context.ip` before a rejection is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clycyo.model import Rejection
from clycyo.sqlite_threads import WAL, PendingPurge, ThreadConnections

SCHEMA = """
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY,
    site_id INTEGER NOT NULL,
    received_us INTEGER NOT NULL,
    trusted INTEGER NOT NULL,
    error TEXT NOT NULL,
    payload TEXT NOT NULL,
    replayed_us INTEGER,
    seq INTEGER,
    idx INTEGER,
    UNIQUE (seq, idx)
);
CREATE INDEX IF NOT EXISTS quarantine_site_time ON quarantine (site_id, received_us);
"""


@dataclass(frozen=True)
class Entry:
    id: int
    site_id: int
    received_us: int
    trusted: bool
    error: str
    payload: str
    replayed_us: int | None


class Quarantine:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = ThreadConnections(path, WAL).get
        self._purge = PendingPurge()  # deleted entries may still be in the write-ahead log
        self._db().executescript(SCHEMA)

    def add(self, rejections: list[tuple[int, int, Rejection]]) -> None:
        """Add (intake seq, index in record, rejection) entries; ones already added are ignored."""
        if not rejections:
            return
        db = self._db()
        db.execute("BEGIN")
        db.executemany(
            "INSERT OR IGNORE INTO quarantine (site_id, received_us, trusted, error, payload,"
            " seq, idx) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (r.site_id, r.received_us, int(r.trusted), r.error, r.payload, seq, index)
                for seq, index, r in rejections
            ],
        )
        db.execute("COMMIT")
        self._purge.retry(db)

    def entries(self, *, site_id: int | None = None, limit: int = 50) -> list[Entry]:
        where, params = ("WHERE site_id = ?", [site_id]) if site_id is not None else ("", [])
        rows = self._db().execute(
            f"SELECT * FROM quarantine {where} ORDER BY id DESC LIMIT ?", [*params, limit]
        )
        return [_entry(r) for r in rows]

    def get(self, entry_id: int) -> Entry | None:
        row = self._db().execute("SELECT * FROM quarantine WHERE id = ?", [entry_id]).fetchone()
        return None if row is None else _entry(row)

    def mark_replayed(self, entry_id: int, when_us: int) -> None:
        self._db().execute(
            "UPDATE quarantine SET replayed_us = ? WHERE id = ?", [when_us, entry_id]
        )

    def count(self, site_id: int | None = None) -> int:
        if site_id is None:
            row = self._db().execute("SELECT count(*) FROM quarantine").fetchone()
        else:
            row = (
                self._db()
                .execute("SELECT count(*) FROM quarantine WHERE site_id = ?", [site_id])
                .fetchone()
            )
        return int(row[0])

    def matching(self, site_id: int, needles: list[str], limit: int = 10_000) -> list[Entry]:
        """A site's entries whose payload names one of `needles` (a person's ids), oldest first."""
        found: dict[int, Entry] = {}
        for needle in needles:
            rows = self._db().execute(
                "SELECT * FROM quarantine WHERE site_id = ? AND instr(payload, ?) > 0"
                " ORDER BY id LIMIT ?",
                [site_id, _quoted(needle), limit],
            )
            found.update((row[0], _entry(row)) for row in rows)
        return [found[key] for key in sorted(found)][:limit]

    def delete_matching(self, site_id: int, needles: list[str]) -> int:
        """Delete a site's entries whose payload mentions any of `needles` (a person's ids)."""
        deleted = 0
        db = self._db()
        for needle in needles:
            quoted = '"' + needle.replace("\\", "\\\\").replace('"', '\\"') + '"'
            cursor = db.execute(
                "DELETE FROM quarantine WHERE site_id = ? AND instr(payload, ?) > 0",
                [site_id, quoted],
            )
            deleted += cursor.rowcount
        if deleted:
            self._purge.after_delete(db)
        return deleted

    def finish_purge(self) -> None:
        """Empty the write-ahead log of deleted entries, if a reader held it off (the server
        calls this every second)."""
        if self._purge.pending:
            self._purge.retry(self._db())

    def trim(self, site_id: int, before_us: int) -> int:
        db = self._db()
        cursor = db.execute(
            "DELETE FROM quarantine WHERE site_id = ? AND received_us < ?", [site_id, before_us]
        )
        if cursor.rowcount:
            self._purge.after_delete(db)
        return cursor.rowcount


def _quoted(needle: str) -> str:
    """An id as it appears as a JSON string in a payload."""
    return '"' + needle.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _entry(row: tuple[Any, ...]) -> Entry:
    return Entry(
        id=row[0],
        site_id=row[1],
        received_us=row[2],
        trusted=bool(row[3]),
        error=row[4],
        payload=row[5],
        replayed_us=row[6],
    )
