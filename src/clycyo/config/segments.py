"""A site's segments: named sets of filters ("Paid traffic from Germany") that the dashboard
applies in one click and the query API takes as `["is", "segment", [ID]]`.

A segment's filters are kept in the query API's shape (`["is", "visit:source", ["Google"]]`) as
JSON, each checked when saved by the query layer's own `check_filter`, so what is refused here is
refused with the same field and reason the query API gives. Its name is 1 to `MAX_NAME_CHARS`
characters with no control characters, unique per site whatever its letters' case, kept as given:
whoever shows it escapes it. `created_by` says who made it: a login's email or `cli`. Kept in the
configuration store like page goals (`config/site_rows.py`); this module runs no query.
"""

from __future__ import annotations

import builtins
import json
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from clycyo.config.annotations import MAX_CREATED_BY_CHARS, iso_utc
from clycyo.config.site_rows import MAX_ID, SiteRows, check_line
from clycyo.query.errors import QueryError
from clycyo.query.spec import SEGMENT, check_filter

SCHEMA = """
CREATE TABLE IF NOT EXISTS segments (
    id INTEGER PRIMARY KEY,
    site_id INTEGER NOT NULL REFERENCES sites(id),
    name TEXT NOT NULL,
    filters TEXT NOT NULL,
    created_at REAL NOT NULL,
    created_by TEXT NOT NULL,
    UNIQUE (site_id, name)
);
"""
MAX_NAME_CHARS = 80
MAX_PER_SITE = 100
MAX_FILTERS = 10  # as many as a dashboard view holds


class SegmentError(ValueError):
    """A segment that cannot be saved (the message names the field and says why)."""


@dataclass(frozen=True)
class Segment:
    id: int
    site_id: int
    name: str
    filters: tuple[tuple[str, str, tuple[str, ...]], ...]  # (operator, dimension, values)
    created_at: float
    created_by: str

    def query_filters(self) -> list[list[Any]]:
        """The filters in the query API's shape."""
        return [[op, dimension, list(values)] for op, dimension, values in self.filters]


def check_name(name: str) -> str:
    """The name, stripped, or `SegmentError` saying what is wrong with it."""
    return check_line(name, "name", MAX_NAME_CHARS, SegmentError)


def check_filters(
    raw: list[list[Any]], page_goals: Collection[str] | None = None
) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """The filters as the query API reads them, or `SegmentError` naming the filter
    (`filters[1][1]: unknown dimension 'visit:planet'`)."""
    if not raw:
        raise SegmentError("filters: a segment has at least one filter")
    if len(raw) > MAX_FILTERS:
        raise SegmentError(f"filters: at most {MAX_FILTERS}")
    checked = []
    for index, item in enumerate(raw):
        if not isinstance(item, list):
            raise SegmentError(f"filters[{index}]: expected [operator, dimension, [values]]")
        if len(item) == 3 and item[1] == SEGMENT:
            raise SegmentError(f"filters[{index}][1]: a segment cannot hold another segment")
        try:
            found = check_filter(item, f"filters[{index}]", page_goals)
        except QueryError as exc:
            raise SegmentError(str(exc)) from None
        checked.append((found.operator, found.target.name, found.values))
    return tuple(checked)


class SegmentStore(SiteRows):
    """Every site's segments."""

    TABLE = "segments"
    SCHEMA = SCHEMA
    COLUMNS = "id, site_id, name, filters, created_at, created_by"

    def add(
        self,
        site_id: int,
        name: str,
        filters: list[list[Any]],
        *,
        created_by: str,
        page_goals: Collection[str] | None = None,
    ) -> Segment:
        """Save `filters` as `name`; `page_goals`, the site's patterns, which an `event:goal`
        filter must name (None: any well-formed one)."""
        name = check_name(name)
        checked = check_filters(filters, page_goals)
        stored = json.dumps([[op, dim, list(values)] for op, dim, values in checked])
        now = time.time()
        maker = created_by[:MAX_CREATED_BY_CHARS]
        with self._adding() as db:
            saved = [str(row[2]) for row in self._rows(db, site_id)]
            if name.casefold() in {s.casefold() for s in saved}:
                raise SegmentError(f"name: the site has a segment named {name!r} already")
            if len(saved) >= MAX_PER_SITE:
                raise SegmentError(f"a site has at most {MAX_PER_SITE} segments")
            cursor = db.execute(
                "INSERT INTO segments (site_id, name, filters, created_at, created_by)"
                " VALUES (?, ?, ?, ?, ?)",
                (site_id, name, stored, now, maker),
            )
        return Segment(int(cursor.lastrowid or 0), site_id, name, checked, now, maker)

    def list(self, site_id: int | None = None) -> builtins.list[Segment]:
        """The site's segments (every site's with None), in the order they were made."""
        return [_segment(row) for row in self._read(site_id)]

    def find(self, site_id: int, row_id: int) -> Segment | None:
        """The site's segment of that id, or None (another site's too)."""
        with self._db() as db:
            if not self._made(db) or not 0 < row_id <= MAX_ID:
                return None
            row = db.execute(
                f"SELECT {self.COLUMNS} FROM segments WHERE site_id = ? AND id = ?",
                (site_id, row_id),
            ).fetchone()
        return None if row is None else _segment(row)


def _segment(row: tuple[Any, ...]) -> Segment:
    filters = tuple(
        (str(op), str(dimension), tuple(str(v) for v in values))
        for op, dimension, values in json.loads(row[3])
    )
    return Segment(int(row[0]), int(row[1]), str(row[2]), filters, float(row[4]), str(row[5]))


def as_row(segment: Segment, domain: str) -> dict[str, object]:
    """What `clycyo segment list --json` prints of one."""
    return {
        "id": segment.id,
        "site": domain,
        "name": segment.name,
        "filters": segment.query_filters(),
        "created_at": iso_utc(segment.created_at),
        "created_by": segment.created_by,
    }
