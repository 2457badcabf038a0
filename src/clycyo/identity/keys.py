"""Numeric keys for visitors, users and visits, computed once in Python at write time.

Queries count and join persons by these integers instead of hashing id strings on every row
(hashing ten million strings costs more than the rest of a dashboard query). A visitor key and a
user key are 64-bit BLAKE2b digests, stable across engines and restarts. A visit id carries the
top 40 bits of its visitor's key above a 24-bit visit number, so an event's visitor can be read
from its `visit_id` without a join. Events outside any visit get the "outside" id of their person:
the same 40 bits above zero. This module computes keys; its one piece of state is `KeyCache`,
the writer's memo of recent ones.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import numpy as np

VISIT_BITS = 24  # low bits of a visit id: which of the visitor's visits (never 0 for a visit)
_VISIT_MASK = (1 << VISIT_BITS) - 1
_MINUTE_US = 60_000_000


def _digest(site_id: int, kind: str, value: str) -> int:
    raw = f"{site_id}\x00{kind}\x00{value}".encode()
    return int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "little")


def visitor_key(site_id: int, visitor_id: str) -> int:
    return _digest(site_id, "v", visitor_id)


def user_key(site_id: int, user_id: str) -> int:
    return _digest(site_id, "u", user_id)


def page_key(page: str) -> int:
    """A page path as a number: grouping numbers is several times faster than grouping text."""
    return int.from_bytes(hashlib.blake2b(page.encode(), digest_size=8).digest(), "little")


_LOG_STEP = math.log(1.01)
ZERO_BUCKET = -32768


def vital_bucket(value: float) -> int:
    """The 1 %-wide logarithmic bucket of a web vital's value (0 and below: `ZERO_BUCKET`)."""
    if value <= 0:
        return ZERO_BUCKET
    return max(-32000, min(32000, round(math.log(value) / _LOG_STEP)))


def vital_buckets(values: Sequence[float]) -> list[int]:
    """`vital_bucket` of each value; the logarithms are Python's (`math.log`), so the buckets
    are exactly those of `vital_bucket` (NumPy's `rint` rounds halves to even, as `round`)."""
    log = math.log
    logs = np.array([log(v) if v > 0 else 0.0 for v in values], dtype=np.float64)
    buckets = np.clip(np.rint(logs / _LOG_STEP), -32000, 32000).astype(np.int64)
    buckets[np.array(values, dtype=np.float64) <= 0] = ZERO_BUCKET
    return buckets.tolist()  # type: ignore[no-any-return]


def bucket_value(bucket: int) -> float:
    """The value a bucket stands for (its centre, within half a percent of every member)."""
    return 0.0 if bucket == ZERO_BUCKET else math.exp(bucket * _LOG_STEP)


def person_bits(key: int) -> int:
    """The 40 bits of a visitor or user key that visit ids carry (what queries count)."""
    return key >> VISIT_BITS


def outside_visit_id(key: int) -> int:
    """The `visit_id` of a person's events that belong to no visit."""
    return (key >> VISIT_BITS) << VISIT_BITS


def is_visit(visit_id: int) -> bool:
    return visit_id & _VISIT_MASK != 0


def new_visit_id(visitor: int, started_us: int, taken: set[int]) -> int:
    """A visit id for a visit of `visitor` starting at `started_us`, unlike every id in `taken`.

    The visit number is the start minute (a 32-year cycle): a visitor's visits start at least
    30 minutes apart, except where a change of user splits one, and `taken` (the visitor's visits
    around that time) settles those.
    """
    number = (started_us // _MINUTE_US) % _VISIT_MASK + 1
    base = outside_visit_id(visitor)
    candidate = base | number
    while candidate in taken:
        number = number % _VISIT_MASK + 1
        candidate = base | number
    return candidate


class KeyCache:
    """Visitor and user keys computed lately: the writer needs the same few thousand again and
    again, and a digest costs more than a dictionary lookup. Bounded by starting afresh."""

    def __init__(self, limit: int = 200_000) -> None:
        self.limit = limit
        self._visitors: dict[tuple[int, str], int] = {}
        self._users: dict[tuple[int, str], int] = {}

    def visitor(self, ref: tuple[int, str]) -> int:
        key = self._visitors.get(ref)
        if key is None:
            if len(self._visitors) >= self.limit:
                self._visitors.clear()
            key = self._visitors[ref] = visitor_key(*ref)
        return key

    def user(self, ref: tuple[int, str]) -> int:
        key = self._users.get(ref)
        if key is None:
            if len(self._users) >= self.limit:
                self._users.clear()
            key = self._users[ref] = user_key(*ref)
        return key
