"""A table of rows that each belong to one site, in the configuration store: page goals, shields,
annotations, segments, email recipients.

Such a table is made by the first row added (a folder where none was ever made has none) and
read and changed on a connection of its own, opened for one call and closed after it: what
reads it (a query, the server's directory after a change) reads it once, nothing is left open
for whichever thread comes next, and a write here changes what every other connection's
`data_version` reads, so running servers see it. What a row holds and how it is checked is the
table's own module's.
"""

from __future__ import annotations

import sqlite3
import unicodedata
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any, ClassVar

from clycyo.config.store import ConfigStore

MAX_ID = 2**63 - 1  # SQLite's largest integer: a larger id (typed on the command line) is none
# What no one-line label needs: control characters (a line break too), line and paragraph
# separators.
_NOT_IN_A_LINE = frozenset({"Cc", "Zl", "Zp"})


def is_unicode(text: str) -> bool:
    """Whether `text` holds no lone surrogate (a JSON escape such as `\\ud800`, or a command
    line's bytes that are no UTF-8), which neither SQLite nor a JSON answer can hold."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_line(text: str, field: str, most: int, error: type[ValueError]) -> str:
    """`text` stripped, if it is one line of 1 to `most` characters; else `error` naming
    `field` and what is wrong."""
    text = text.strip()
    if not text:
        raise error(f"{field}: required")
    if not is_unicode(text):
        raise error(f"{field}: not valid Unicode text")
    if len(text) > most:
        raise error(f"{field}: at most {most} characters")
    if any(unicodedata.category(c) in _NOT_IN_A_LINE for c in text):
        raise error(f"{field}: one line, with no control characters")
    return text


class SiteRows:
    """The rows of `TABLE` (made by `SCHEMA`), read as `COLUMNS`, the first being `id` and the
    second `site_id`."""

    TABLE: ClassVar[str]
    SCHEMA: ClassVar[str]
    COLUMNS: ClassVar[str]

    def __init__(self, config: ConfigStore) -> None:
        self.path = config.path

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=10, isolation_level=None)) as db:
            db.execute("PRAGMA foreign_keys = ON")
            yield db

    @contextmanager
    def _adding(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, the table made if need be; undone if the block raises."""
        with self._db() as db:
            db.executescript(self.SCHEMA)
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _made(self, db: sqlite3.Connection) -> bool:
        found = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (self.TABLE,)
        )
        return found.fetchone() is not None

    def _rows(self, db: sqlite3.Connection, site_id: int | None) -> list[tuple[Any, ...]]:
        """One site's rows (every site's with None), oldest first."""
        if not self._made(db):
            return []
        # Table and column names are the class's own, never input.
        query = f"SELECT {self.COLUMNS} FROM {self.TABLE}"
        params: tuple[Any, ...] = ()
        if site_id is not None:
            query += " WHERE site_id = ?"
            params = (site_id,)
        return db.execute(query + " ORDER BY id", params).fetchall()

    def _read(self, site_id: int | None) -> list[tuple[Any, ...]]:
        with self._db() as db:
            return self._rows(db, site_id)

    def delete(self, site_id: int, row_id: int) -> bool:
        """Delete the site's row `row_id`; False if the site has none of that id."""
        if not 0 < row_id <= MAX_ID:
            return False
        with self._db() as db:
            if not self._made(db):
                return False
            cursor = db.execute(
                f"DELETE FROM {self.TABLE} WHERE site_id = ? AND id = ?", (site_id, row_id)
            )
            return cursor.rowcount > 0
