"""Numeric keys for visitors, users and visits, computed once in Python at write time.

Queries count and join persons by these integers instead of hashing id strings on every row
(hashing ten million strings costs more than the rest of a dashboard query). A visitor key and a
user key are 64-bit BLAKE2b digests, stable across engines and restarts. A visit id carries the
top 40 bits of its visitor's key above a 24-bit visit number, so an event's visitor can be read
from its `visit_id` without a join. Events outside any visit get the "outside" id of their person:
the same 40 bits above zero. This module computes keys only; it keeps no state.
"""

from __future__ import annotations

import hashlib
import math

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
