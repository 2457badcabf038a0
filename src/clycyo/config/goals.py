"""A site's page goals, in the configuration store (SQLite), beside its sites and funnels.

A page goal is a page path pattern ("/thank-you", "/blog/**", "/product/*/buy"), shown and
filtered on as "Visit /pattern". In a pattern `*` stands for any characters but `/` and `**` for
any characters; everything else is itself. A custom event's name is a goal without being saved
here. Patterns are kept exactly as validated here (`check_pattern`); how they match pages is the
query layer's (`query/goals.py`). This module computes nothing.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Any

from clycyo.config.store import ConfigStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS page_goals (
    id INTEGER PRIMARY KEY,
    site_id INTEGER NOT NULL REFERENCES sites(id),
    pattern TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (site_id, pattern)
);
"""
PREFIX = "Visit "  # a page goal's name is PREFIX + its pattern
MAX_GOALS_PER_SITE = 100
MAX_PATTERN_CHARS = 200
MAX_ID = 2**63 - 1  # SQLite's largest integer: a larger id (typed on the command line) is none


class GoalError(ValueError):
    """A page goal that cannot be saved (the message says why)."""


@dataclass(frozen=True)
class PageGoal:
    id: int
    site_id: int
    pattern: str

    @property
    def name(self) -> str:
        return PREFIX + self.pattern


def check_pattern(pattern: str) -> str:
    """The pattern, stripped, or `GoalError` saying what is wrong with it."""
    pattern = pattern.strip()
    if not pattern.startswith("/"):
        raise GoalError("pattern: a page path starts with /")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise GoalError(f"pattern: at most {MAX_PATTERN_CHARS} characters")
    if any(c.isspace() or not c.isprintable() or c == "\\" for c in pattern):
        raise GoalError("pattern: a page path has no spaces, backslashes or control characters")
    if "***" in pattern:
        raise GoalError("pattern: * is any characters but /, ** any characters; *** means neither")
    return pattern


class PageGoalStore:
    """A site's page goals. Each call opens its own connection and closes it: a query reads
    them once (`patterns`), and nothing is left open for whichever thread comes next."""

    def __init__(self, config: ConfigStore) -> None:
        self.path = config.path

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=10, isolation_level=None)) as db:
            db.execute("PRAGMA foreign_keys = ON")
            yield db

    def add(self, site_id: int, pattern: str) -> PageGoal:
        pattern = check_pattern(pattern)
        with self._db() as db:
            db.executescript(SCHEMA)
            db.execute("BEGIN IMMEDIATE")
            try:
                saved = [g.pattern for g in _rows(db, site_id)]
                if pattern in saved:
                    raise GoalError(f"pattern: the site has the goal {PREFIX}{pattern} already")
                if len(saved) >= MAX_GOALS_PER_SITE:
                    raise GoalError(f"a site has at most {MAX_GOALS_PER_SITE} page goals")
                cursor = db.execute(
                    "INSERT INTO page_goals (site_id, pattern, created_at) VALUES (?, ?, ?)",
                    (site_id, pattern, time.time()),
                )
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        return PageGoal(int(cursor.lastrowid or 0), site_id, pattern)

    def list(self, site_id: int) -> list[PageGoal]:
        with self._db() as db:
            return _rows(db, site_id)

    def patterns(self, site_id: int) -> frozenset[str]:
        return frozenset(g.pattern for g in self.list(site_id))

    def delete(self, site_id: int, goal_id: int) -> bool:
        if not 0 < goal_id <= MAX_ID:
            return False
        with self._db() as db:
            if not _made(db):
                return False
            cursor = db.execute(
                "DELETE FROM page_goals WHERE site_id = ? AND id = ?", (site_id, goal_id)
            )
            return cursor.rowcount > 0


def _made(db: sqlite3.Connection) -> bool:
    """Whether the table exists: a folder where no goal was ever made has none."""
    found = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'page_goals'")
    return found.fetchone() is not None


def _rows(db: sqlite3.Connection, site_id: int) -> list[PageGoal]:
    if not _made(db):
        return []
    rows = db.execute(
        "SELECT id, site_id, pattern FROM page_goals WHERE site_id = ? ORDER BY id", (site_id,)
    )
    return [_goal(row) for row in rows]


def _goal(row: tuple[Any, ...]) -> PageGoal:
    return PageGoal(int(row[0]), int(row[1]), str(row[2]))
