"""A site's page goals, in the configuration store (SQLite), beside its sites and funnels.

A page goal is a page path pattern ("/thank-you", "/blog/**", "/product/*/buy"), shown and
filtered on as "Visit /pattern". In a pattern `*` stands for any characters but `/` and `**` for
any characters; everything else is itself. A custom event's name is a goal without being saved
here. Patterns are kept exactly as validated here (`check_pattern`); `page_regex` is what a
pattern means, the one expression both the query layer (`query/goals.py`) and the page rules of
a site's shields (`pipeline/shields.py`) match pages with.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from clycyo.config.site_rows import SiteRows

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


def page_regex(pattern: str) -> str:
    """The anchored regular expression of a page pattern (RE2 and Python's `re` read it alike):
    `**` is `.*`, `*` is `[^/]*`, every other character itself (escaped as `re` escapes it)."""
    parts = (re.escape(part).replace(r"\*", "[^/]*") for part in pattern.split("**"))
    return "^" + ".*".join(parts) + "$"


class PageGoalStore(SiteRows):
    """A site's page goals, read once per query (`patterns`)."""

    TABLE = "page_goals"
    SCHEMA = SCHEMA
    COLUMNS = "id, site_id, pattern"

    def add(self, site_id: int, pattern: str) -> PageGoal:
        pattern = check_pattern(pattern)
        with self._adding() as db:
            saved = [str(row[2]) for row in self._rows(db, site_id)]
            if pattern in saved:
                raise GoalError(f"pattern: the site has the goal {PREFIX}{pattern} already")
            if len(saved) >= MAX_GOALS_PER_SITE:
                raise GoalError(f"a site has at most {MAX_GOALS_PER_SITE} page goals")
            cursor = db.execute(
                "INSERT INTO page_goals (site_id, pattern, created_at) VALUES (?, ?, ?)",
                (site_id, pattern, time.time()),
            )
        return PageGoal(int(cursor.lastrowid or 0), site_id, pattern)

    def list(self, site_id: int) -> list[PageGoal]:
        return [_goal(row) for row in self._read(site_id)]

    def patterns(self, site_id: int) -> frozenset[str]:
        return frozenset(g.pattern for g in self.list(site_id))


def _goal(row: tuple[Any, ...]) -> PageGoal:
    return PageGoal(int(row[0]), int(row[1]), str(row[2]))
