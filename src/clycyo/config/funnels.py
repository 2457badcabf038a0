"""Saved funnel definitions per site, in the configuration store (SQLite).

A funnel is a name and an ordered list of steps; a step is a pageview of a page or an event of a
name, optionally narrowed by filters in the query API's shape. Steps are kept as JSON exactly as
validated here, so the query layer receives only well-formed steps. This module computes nothing.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from clycyo.config.store import ConfigStore
from clycyo.sqlite_threads import FOREIGN_KEYS, ThreadConnections

SCHEMA = """
CREATE TABLE IF NOT EXISTS funnels (
    id INTEGER PRIMARY KEY,
    site_id INTEGER NOT NULL REFERENCES sites(id),
    name TEXT NOT NULL,
    steps TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""
MIN_STEPS, MAX_STEPS = 2, 8
MAX_NAME_CHARS = 100
MAX_VALUE_CHARS = 500
STEP_KINDS = ("pageview", "event")
FILTER_OPERATORS = ("is", "is_not", "contains")


class FunnelError(ValueError):
    """A funnel definition that cannot be saved (the message says which part and why)."""


@dataclass(frozen=True)
class Step:
    kind: str  # "pageview" (match: a page path) or "event" (match: an event name)
    match: str
    filters: tuple[tuple[str, str, str], ...] = ()  # (op, dimension, value)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "match": self.match, "filters": [list(f) for f in self.filters]}

    @property
    def label(self) -> str:
        base = f"Visit {self.match}" if self.kind == "pageview" else self.match
        extra = ", ".join(
            f"{d.split(':')[-1]} {op.replace('_', ' ')} {v}" for op, d, v in self.filters
        )
        return f"{base} ({extra})" if extra else base


@dataclass(frozen=True)
class Funnel:
    id: int
    site_id: int
    name: str
    steps: tuple[Step, ...]


def check_step(kind: str, match: str, filters: list[tuple[str, str, str]]) -> Step:
    if kind not in STEP_KINDS:
        raise FunnelError(f"step kind: expected one of {', '.join(STEP_KINDS)}")
    match = match.strip()
    if not match or len(match) > MAX_VALUE_CHARS:
        raise FunnelError("step: a page or an event name is required")
    if kind == "pageview" and not match.startswith("/"):
        raise FunnelError(f"step {match!r}: a page path starts with /")
    for op, dimension, value in filters:
        if op not in FILTER_OPERATORS or ":" not in dimension or not value:
            raise FunnelError(
                f"step {match!r}: a filter needs an operator, a dimension and a value"
            )
    return Step(kind, match, tuple(filters))


class FunnelStore:
    def __init__(self, config: ConfigStore) -> None:
        self.path = config.path
        self._connect = ThreadConnections(self.path, FOREIGN_KEYS).get
        self._connect().executescript(SCHEMA)

    def add(self, site_id: int, name: str, steps: list[Step]) -> Funnel:
        name = name.strip()
        if not name or len(name) > MAX_NAME_CHARS:
            raise FunnelError(f"name: 1 to {MAX_NAME_CHARS} characters")
        if not MIN_STEPS <= len(steps) <= MAX_STEPS:
            raise FunnelError(f"steps: a funnel has {MIN_STEPS} to {MAX_STEPS} steps")
        text = json.dumps([s.as_dict() for s in steps])
        cursor = self._connect().execute(
            "INSERT INTO funnels (site_id, name, steps, created_at) VALUES (?, ?, ?, ?)",
            (site_id, name, text, time.time()),
        )
        return Funnel(int(cursor.lastrowid or 0), site_id, name, tuple(steps))

    def list(self, site_id: int) -> list[Funnel]:
        rows = self._connect().execute(
            "SELECT id, site_id, name, steps FROM funnels WHERE site_id = ? ORDER BY id", (site_id,)
        )
        return [_funnel(row) for row in rows]

    def get(self, site_id: int, funnel_id: int) -> Funnel | None:
        row = (
            self._connect()
            .execute(
                "SELECT id, site_id, name, steps FROM funnels WHERE site_id = ? AND id = ?",
                (site_id, funnel_id),
            )
            .fetchone()
        )
        return None if row is None else _funnel(row)

    def delete(self, site_id: int, funnel_id: int) -> bool:
        cursor = self._connect().execute(
            "DELETE FROM funnels WHERE site_id = ? AND id = ?", (site_id, funnel_id)
        )
        return cursor.rowcount > 0


def _funnel(row: tuple[Any, ...]) -> Funnel:
    steps = tuple(
        Step(s["kind"], s["match"], tuple((f[0], f[1], f[2]) for f in s.get("filters", [])))
        for s in json.loads(row[3])
    )
    return Funnel(int(row[0]), int(row[1]), str(row[2]), steps)
