"""A site's annotations: short notes pinned to an instant (a release, a campaign's start), which
the overview chart marks at their bucket. Kept in the configuration store like page goals
(`config/site_rows.py`), read for a period at a time.

An annotation's time is a UTC instant, kept as seconds since the epoch. What a person types is
read here (`parse_time`): a day alone is the start of that day in the site's time zone, a time
with an offset (`Z`, `+02:00`) that instant, and a time without one the site's local time. Its
text is at most `MAX_TEXT_CHARS` characters with no control characters (a line break included),
kept as given: whoever shows it escapes it. `created_by` says who made it: a login's email,
`api` or `cli`. This module renders nothing and knows nothing of charts.
"""

from __future__ import annotations

import builtins
import datetime as dt
import time
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from clycyo.config.site_rows import MAX_ID, SiteRows, check_line

SCHEMA = """
CREATE TABLE IF NOT EXISTS annotations (
    id INTEGER PRIMARY KEY,
    site_id INTEGER NOT NULL REFERENCES sites(id),
    at REAL NOT NULL,
    text TEXT NOT NULL,
    created_at REAL NOT NULL,
    created_by TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS annotations_by_time ON annotations (site_id, at);
"""
MAX_TEXT_CHARS = 200
MAX_CREATED_BY_CHARS = 254  # an email address's longest
# A deploy a day for years, several a day for a while: far beyond any chart, but not unbounded.
MAX_PER_SITE = 10_000
_EARLIEST = 0.0  # 1970-01-01T00:00:00Z
_LATEST = dt.datetime(9999, 1, 1, tzinfo=dt.UTC).timestamp()


class AnnotationError(ValueError):
    """An annotation that cannot be saved (the message names the field and says why)."""


@dataclass(frozen=True)
class Annotation:
    id: int
    site_id: int
    at: float  # seconds since the epoch, UTC
    text: str
    created_at: float
    created_by: str

    @property
    def time(self) -> str:
        """The instant as RFC 3339 in UTC (`2026-11-20T14:30:00Z`)."""
        return iso_utc(self.at)


def as_row(annotation: Annotation, domain: str) -> dict[str, object]:
    """What the API answers and `clycyo annotation --json` prints of one."""
    return {
        "id": annotation.id,
        "site": domain,
        "time": annotation.time,
        "text": annotation.text,
        "created_at": iso_utc(annotation.created_at),
        "created_by": annotation.created_by,
    }


def iso_utc(seconds: float) -> str:
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC).replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


def check_text(text: str) -> str:
    """The text, stripped, or `AnnotationError` saying what is wrong with it."""
    return check_line(text, "text", MAX_TEXT_CHARS, AnnotationError)


def parse_time(given: str, timezone: str, field: str = "time") -> float:
    """The instant `given` names (see the module's docstring), as seconds since the epoch; what
    is none is refused naming `field`."""
    text = given.strip()
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            moment = dt.datetime.combine(day, dt.time(), zone)
        else:
            moment = dt.datetime.fromisoformat(text)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=zone)
        seconds = moment.timestamp()
    except (ValueError, OverflowError):
        example = "such as 2026-11-20 or 2026-11-20T14:30:00Z"
        raise AnnotationError(f"{field}: {given!r} is not a day or a time ({example})") from None
    # Every instant kept must read back as a date, in UTC and in any zone (years 1 to 9999).
    if not _EARLIEST <= seconds < _LATEST:
        raise AnnotationError(f"{field}: {given!r} is not between the years 1970 and 9998")
    return seconds


class AnnotationStore(SiteRows):
    """Every site's annotations."""

    TABLE = "annotations"
    SCHEMA = SCHEMA
    COLUMNS = "id, site_id, at, text, created_at, created_by"

    def add(
        self, site_id: int, text: str, *, at: float | None = None, created_by: str
    ) -> Annotation:
        """Save a note at `at` (default: now) made by `created_by`."""
        text = check_text(text)
        now = time.time()
        moment = now if at is None else at
        with self._adding() as db:
            (count,) = db.execute(
                "SELECT count(*) FROM annotations WHERE site_id = ?", (site_id,)
            ).fetchone()
            if count >= MAX_PER_SITE:
                raise AnnotationError(f"a site has at most {MAX_PER_SITE} annotations")
            maker = created_by[:MAX_CREATED_BY_CHARS]
            cursor = db.execute(
                "INSERT INTO annotations (site_id, at, text, created_at, created_by)"
                " VALUES (?, ?, ?, ?, ?)",
                (site_id, moment, text, now, maker),
            )
        return Annotation(int(cursor.lastrowid or 0), site_id, moment, text, now, maker)

    def list(self, site_id: int) -> builtins.list[Annotation]:
        """The site's annotations, in the order they were made."""
        return [_annotation(row) for row in self._read(site_id)]

    def between(
        self,
        site_id: int,
        start: float | None = None,
        end: float | None = None,
        *,
        limit: int | None = None,
    ) -> builtins.list[Annotation]:
        """The site's annotations at `start` or later and before `end`, oldest first; with
        `limit`, only the latest that many."""
        with self._db() as db:
            if not self._made(db):
                return []
            query = f"SELECT {self.COLUMNS} FROM annotations WHERE site_id = ?"
            params: builtins.list[Any] = [site_id]
            if start is not None:
                query += " AND at >= ?"
                params.append(start)
            if end is not None:
                query += " AND at < ?"
                params.append(end)
            query += " ORDER BY at DESC, id DESC"
            if limit is not None:
                query += " LIMIT ?"
                params.append(limit)
            rows = db.execute(query, params).fetchall()
        return [_annotation(row) for row in reversed(rows)]

    def find(self, row_id: int) -> Annotation | None:
        """The annotation of that id, whichever site's."""
        with self._db() as db:
            if not self._made(db) or not 0 < row_id <= MAX_ID:
                return None
            row = db.execute(
                f"SELECT {self.COLUMNS} FROM annotations WHERE id = ?", (row_id,)
            ).fetchone()
        return None if row is None else _annotation(row)


def _annotation(row: tuple[Any, ...]) -> Annotation:
    return Annotation(
        int(row[0]), int(row[1]), float(row[2]), str(row[3]), float(row[4]), str(row[5])
    )
