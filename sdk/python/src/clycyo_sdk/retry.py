"""When a batch is tried again, and how long to wait first.

Pure policy: it never sleeps, reads no clock of its own and does no I/O, so tests check it with
plain numbers. Only failures that may pass are retried (network errors, 408, 429, 5xx); every
other answer is final. Retrying is safe because each event carries its `event_id`, which the
collector counts once.
"""

from __future__ import annotations

import email.utils
import math
import random
from dataclasses import dataclass
from typing import Callable

RETRYABLE_STATUSES = frozenset({408, 429})


def is_retryable(status: int | None) -> bool:
    """`status` None means the request failed before any answer (a network error)."""
    return status is None or status in RETRYABLE_STATUSES or 500 <= status <= 599


def parse_retry_after(value: str | None, *, now_s: float) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:  # Python < 3.10 returns None instead of raising
            return None
        seconds = when.timestamp() - now_s
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with jitter; `Retry-After` sets a floor on the wait.

    The n-th retry (n from 0) waits a random time between half and all of
    `min(max_backoff_s, backoff_base_s * 2**n)`: the jitter keeps many processes that failed
    together from returning together. With the defaults a batch is retried for about two minutes,
    long enough to ride out a collector restart.
    """

    max_retries: int = 10
    backoff_base_s: float = 0.5
    max_backoff_s: float = 30.0
    max_retry_after_s: float = 120.0  # a Retry-After beyond this is read as this

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if self.backoff_base_s < 0 or self.max_backoff_s < 0 or self.max_retry_after_s < 0:
            raise ValueError("backoff times must be >= 0")

    def delay_s(
        self,
        retry_number: int,
        *,
        retry_after_s: float | None = None,
        rand: Callable[[], float] = random.random,
    ) -> float:
        # The exponent is capped so that 2**n stays a small float however long the outage.
        ceiling_s = min(self.max_backoff_s, self.backoff_base_s * 2.0 ** min(retry_number, 32))
        jitter = rand()
        delay_s = ceiling_s / 2 + jitter * ceiling_s / 2
        if retry_after_s is not None:
            # Up to 10 % on top, so that clients told the same time do not all come back at once.
            floor_s = min(retry_after_s, self.max_retry_after_s) * (1 + 0.1 * jitter)
            delay_s = max(delay_s, floor_s)
        return delay_s
