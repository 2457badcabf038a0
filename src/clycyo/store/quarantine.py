"""The quarantine: events that failed validation, kept with their reason for inspection and replay.

SQLite in WAL mode, beside the configuration store, so `clycyo quarantine` can read it while a
server runs. Entries arrive through the intake log (the writer copies them here, before the store
records the log's records as loaded), so a rejection is as durable as an acceptance: each commit
is synced (`synchronous=FULL`), since the log's copy goes once the store has loaded it. Payloads
never hold an IP address: the collector removes `context.ip` before a rejection is recorded. A
browser event's entry keeps, beside its payload, what its request showed (`model.Observed`: the
bot verdict, device, country, cookieless visitor hash), never the request's address or user agent.
An entry whose replay was asked for (`replay_asked`) and that fails again stays one entry, with
the latest reason and a count of its attempts, instead of a new entry per try.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from clycyo.model import Observed, Rejection
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
    attempts INTEGER NOT NULL DEFAULT 1,
    last_rejected_us INTEGER,
    replay_asked_us INTEGER,
    observed TEXT,
    UNIQUE (seq, idx)
);
CREATE INDEX IF NOT EXISTS quarantine_site_time ON quarantine (site_id, received_us);
"""
# Columns added since the first schema, in the order CREATE TABLE has them (`SELECT *` reads
# them by position), for files made before.
_ADDED_COLUMNS = (
    ("attempts", "INTEGER NOT NULL DEFAULT 1"),
    ("last_rejected_us", "INTEGER"),
    ("replay_asked_us", "INTEGER"),
    ("observed", "TEXT"),
)
# The few entries being replayed, which every rejection is checked against.
_REPLAYING_INDEX = (
    "CREATE INDEX IF NOT EXISTS quarantine_replaying ON quarantine (site_id)"
    " WHERE replay_asked_us IS NOT NULL"
)


def _columns(db: sqlite3.Connection) -> set[str]:
    return {row[1] for row in db.execute("PRAGMA table_info(quarantine)")}


@dataclass(frozen=True)
class Entry:
    id: int
    site_id: int
    received_us: int
    trusted: bool
    error: str
    payload: str
    replayed_us: int | None
    attempts: int = 1  # times it was rejected: once, and once more for each failed replay
    last_rejected_us: int | None = None  # the latest of them, after a failed replay
    # What a browser event's request showed; None for a server event, and for a browser event
    # kept by a version before this was kept.
    observed: Observed | None = None


class Quarantine:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = ThreadConnections(path, WAL).get
        self._purge = PendingPurge()  # deleted entries may still be in the write-ahead log
        db = self._db()
        db.executescript(SCHEMA)
        if not {name for name, _ in _ADDED_COLUMNS} <= _columns(db):
            db.execute("BEGIN IMMEDIATE")
            present = _columns(db)  # another process may have added them meanwhile
            for name, kind in _ADDED_COLUMNS:
                if name not in present:
                    db.execute(f"ALTER TABLE quarantine ADD COLUMN {name} {kind}")
            db.execute("COMMIT")
        db.execute(_REPLAYING_INDEX)

    def add(self, rejections: list[tuple[int, int, Rejection]]) -> None:
        """Add (intake seq, index in record, rejection) entries; ones already added are ignored
        (the log is replayed after a crash). The rejection of an entry's replay (the entry's
        payload, with a replay asked for and not done) is one more attempt of that entry."""
        if not rejections:
            return
        db = self._db()
        db.execute("BEGIN")
        for seq, index, r in rejections:
            if db.execute(
                "SELECT 1 FROM quarantine WHERE seq = ? AND idx = ?", [seq, index]
            ).fetchone():
                continue
            replayed = db.execute(
                "SELECT id FROM quarantine WHERE replay_asked_us IS NOT NULL AND site_id = ?"
                " AND replayed_us IS NULL AND trusted = ? AND payload = ? ORDER BY id LIMIT 1",
                [r.site_id, int(r.trusted), r.payload],
            ).fetchone()
            if replayed is None:
                observed = None if r.observed is None else _encode(r.observed).decode()
                db.execute(
                    "INSERT INTO quarantine (site_id, received_us, trusted, error, payload,"
                    " seq, idx, observed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        r.site_id,
                        r.received_us,
                        int(r.trusted),
                        r.error,
                        r.payload,
                        seq,
                        index,
                        observed,
                    ],
                )
                continue
            # The entry takes this rejection's place in the log, so that adding it again after
            # a crash is ignored like any other.
            db.execute(
                "UPDATE quarantine SET error = ?, attempts = attempts + 1, last_rejected_us = ?,"
                " replay_asked_us = NULL, seq = ?, idx = ? WHERE id = ?",
                [r.error, r.received_us, seq, index, replayed[0]],
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

    def replay_asked(self, entry_id: int, when_us: int) -> None:
        """An entry is about to be replayed: if its payload is rejected again, that is one more
        attempt of this entry, not a new one (whichever process loads the rejection)."""
        self._db().execute(
            "UPDATE quarantine SET replay_asked_us = ? WHERE id = ?", [when_us, entry_id]
        )

    def restate_payload(self, entry_id: int, payload: str) -> None:
        """Keep an entry's payload in the form rejections take now: one kept by an earlier
        version may differ from its replay's in form only, and a failed replay must find it."""
        self._db().execute("UPDATE quarantine SET payload = ? WHERE id = ?", [payload, entry_id])

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
        """A site's entries whose payload (or observed visitor hash) names one of `needles` (a
        person's ids), oldest first."""
        found: dict[int, Entry] = {}
        for needle in needles:
            rows = self._db().execute(
                f"SELECT * FROM quarantine WHERE site_id = ? AND {_NAMES} ORDER BY id LIMIT ?",
                [site_id, _quoted(needle), _quoted(needle), limit],
            )
            found.update((row[0], _entry(row)) for row in rows)
        return [found[key] for key in sorted(found)][:limit]

    def delete_matching(self, site_id: int, needles: list[str]) -> int:
        """Delete a site's entries whose payload (or observed visitor hash) mentions any of
        `needles` (a person's ids)."""
        deleted = 0
        db = self._db()
        for needle in needles:
            quoted = _quoted(needle)
            cursor = db.execute(
                f"DELETE FROM quarantine WHERE site_id = ? AND {_NAMES}", [site_id, quoted, quoted]
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
            "DELETE FROM quarantine WHERE site_id = ?"
            " AND coalesce(last_rejected_us, received_us) < ?",
            [site_id, before_us],
        )
        if cursor.rowcount:
            self._purge.after_delete(db)
        return cursor.rowcount


_encode = msgspec.json.encode
_decode_observed = msgspec.json.Decoder(Observed).decode
# An entry that names a person's id (quoted as JSON): in its payload, or as its visitor hash.
_NAMES = "(instr(payload, ?) > 0 OR instr(coalesce(observed, ''), ?) > 0)"


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
        attempts=row[9],
        last_rejected_us=row[10],
        observed=None if row[12] is None else _decode_observed(row[12]),
    )
