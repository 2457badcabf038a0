"""Daily salts for cookieless visitor hashes.

A salt is 16 random bytes made for one UTC day; the ring keeps today's and yesterday's (so a visit
that crosses midnight keeps its hash) and forgets older ones, which makes a hash impossible to
recompute after 48 hours. Salts are never derived from a long-lived secret. Persisting them (so a
restart does not change today's hashes) is the job of the configuration store; this module only
holds them and decides which are current.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

US_PER_DAY = 86_400_000_000
KEEP_DAYS = 2


class SaltRing:
    def __init__(
        self,
        salts: dict[int, bytes] | None = None,
        *,
        on_new: Callable[[int, bytes], bytes] | None = None,
    ) -> None:
        # day number (days since epoch, UTC) -> salt
        self._salts: dict[int, bytes] = dict(salts or {})
        self._on_new = on_new
        self._lock = threading.Lock()

    def for_time(self, time_us: int) -> tuple[bytes, bytes | None]:
        """The salt of the day of `time_us` and the previous day's salt, if it is still kept."""
        day = time_us // US_PER_DAY
        salt = self._salts.get(day)
        if salt is None:
            salt = self._rotate(day)
        return salt, self._salts.get(day - 1)

    def _rotate(self, day: int) -> bytes:
        with self._lock:
            salt = self._salts.get(day)
            if salt is not None:
                return salt
            salt = os.urandom(16)
            if self._on_new is not None:
                # Another process may have made today's salt first; theirs is the one in force.
                salt = self._on_new(day, salt)
            self._salts[day] = salt
            for old in [d for d in self._salts if d < day - (KEEP_DAYS - 1)]:
                del self._salts[old]
            return salt

    def replace(self, salts: dict[int, bytes]) -> None:
        """Adopt salts another process created (the configuration store is the source of truth)."""
        with self._lock:
            self._salts = dict(salts)

    def days(self) -> list[int]:
        return sorted(self._salts)
