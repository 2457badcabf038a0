"""A site's page goals, in the configuration store (SQLite), beside its sites and funnels.

A page goal is a page path pattern ("/thank-you", "/blog/**", "/product/*/buy"), shown and
filtered on as "Visit /pattern". In a pattern `*` stands for any characters but `/` and `**` for
any characters; everything else is itself. A custom event's name is a goal without being saved
here. Patterns are kept exactly as validated here (`check_pattern`); how they match pages is the
query layer's (`query/goals.py`). This module computes nothing.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass
from typing import Any

from clycyo.config.store import ConfigStore
from clycyo.sqlite_threads import FOREIGN_KEYS, ThreadConnections

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
    def __init__(self, config: ConfigStore) -> None:
        self.path = config.path
        self._connect = ThreadConnections(self.path, FOREIGN_KEYS).get
        self._connect().executescript(SCHEMA)

    def add(self, site_id: int, pattern: str) -> PageGoal:
        pattern = check_pattern(pattern)
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            saved = [g.pattern for g in self.list(site_id)]
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
        rows = self._connect().execute(
            "SELECT id, site_id, pattern FROM page_goals WHERE site_id = ? ORDER BY id",
            (site_id,),
        )
        return [_goal(row) for row in rows]

    def patterns(self, site_id: int) -> frozenset[str]:
        return frozenset(g.pattern for g in self.list(site_id))

    def delete(self, site_id: int, goal_id: int) -> bool:
        cursor = self._connect().execute(
            "DELETE FROM page_goals WHERE site_id = ? AND id = ?", (site_id, goal_id)
        )
        return cursor.rowcount > 0


# One store per configuration store, so a query's look-up reuses its thread's connection.
_STORES: weakref.WeakKeyDictionary[ConfigStore, PageGoalStore] = weakref.WeakKeyDictionary()


def goal_store(config: ConfigStore) -> PageGoalStore:
    store = _STORES.get(config)
    if store is None:
        store = _STORES[config] = PageGoalStore(config)
    return store


def _goal(row: tuple[Any, ...]) -> PageGoal:
    return PageGoal(int(row[0]), int(row[1]), str(row[2]))
