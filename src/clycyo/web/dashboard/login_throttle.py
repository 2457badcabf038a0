"""How often a login may be tried: per client address, and per account with a growing delay.

Two limits, because guessing comes in two shapes:
- **per address** (an IPv6 client by its /64, as the collector's rate limit counts it): 20 failed
  logins in 15 minutes, whatever the emails, then that address waits until its window ends. One
  password tried against many logins stops here.
- **per account** (the email tried): the first 5 failures in a row cost nothing; after that each
  attempt must wait twice as long as the last since the latest failure (1 s, 2 s, 4 s … at most
  15 minutes). An attempt made during the wait is refused before the password is checked, so it
  costs the attacker a request and teaches nothing. The delay is never a lock: it ends by itself,
  and a browser that logged in to that account before (`login_tokens.py`'s known-browser token)
  skips it, so a stranger failing on purpose cannot keep the owner out.

Both tables are bounded. When one is full, the entries that hold no limit (fewer failures than
the thresholds) are dropped first, oldest first, and entries that do only after those: a flood of
junk emails or forged addresses pushes out other junk, not a victim's delay. State lives in this
process's memory; a restart forgets it. This module decides; `login.py` answers.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

ADDRESS_MAX_FAILURES = 20
ADDRESS_WINDOW_S = 15 * 60
ACCOUNT_FREE_FAILURES = 5
ACCOUNT_MAX_DELAY_S = 15 * 60
ACCOUNT_MEMORY_S = 24 * 3600  # an account's failures are forgotten after this long without one
MAX_ENTRIES = 50_000  # per table


@dataclass
class _Failures:
    count: int
    first_at: float  # monotonic seconds
    last_at: float


class _Table:
    """Failures by key, in two LRU orders: entries under `heavy_at` failures are evicted first."""

    def __init__(self, heavy_at: int, max_entries: int) -> None:
        self.heavy_at = heavy_at
        self.max_entries = max_entries
        self._light: OrderedDict[str, _Failures] = OrderedDict()
        self._heavy: OrderedDict[str, _Failures] = OrderedDict()

    def get(self, key: str) -> _Failures | None:
        return self._light.get(key) or self._heavy.get(key)

    def forget(self, key: str) -> None:
        self._light.pop(key, None)
        self._heavy.pop(key, None)

    def add(self, key: str, now_s: float, fresh: Callable[[_Failures], bool]) -> _Failures:
        """One more failure of `key`; its earlier ones count only while `fresh` says so."""
        found = self.get(key)
        self.forget(key)
        if found is None or not fresh(found):
            found = _Failures(0, now_s, now_s)
        found.count += 1
        found.last_at = now_s
        (self._heavy if found.count >= self.heavy_at else self._light)[key] = found
        while len(self) > self.max_entries:
            (self._light or self._heavy).popitem(last=False)
        return found

    def __len__(self) -> int:
        return len(self._light) + len(self._heavy)


class LoginThrottle:
    """The two limits of one server's login form; `clock` is monotonic seconds."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, max_entries: int = MAX_ENTRIES
    ) -> None:
        self.clock = clock
        self._addresses = _Table(ADDRESS_MAX_FAILURES, max_entries)
        self._accounts = _Table(ACCOUNT_FREE_FAILURES, max_entries)

    def _address_fresh(self, failures: _Failures) -> bool:
        return self.clock() - failures.first_at < ADDRESS_WINDOW_S

    def _account_fresh(self, failures: _Failures) -> bool:
        return self.clock() - failures.last_at < ACCOUNT_MEMORY_S

    def wait_s(self, address: str | None, email: str, *, known_browser: bool) -> int:
        """Seconds before this address may try this account (0: it may now)."""
        now = self.clock()
        waits = [0.0]
        by_address = self._addresses.get(address) if address else None
        full = by_address is not None and by_address.count >= ADDRESS_MAX_FAILURES
        if by_address is not None and full and self._address_fresh(by_address):
            waits.append(by_address.first_at + ADDRESS_WINDOW_S - now)
        by_account = self._accounts.get(email)
        if by_account and self._account_fresh(by_account) and not known_browser:
            waits.append(by_account.last_at + account_delay_s(by_account.count) - now)
        return math.ceil(max(waits))

    def failed(self, address: str | None, email: str) -> None:
        now = self.clock()
        if address:
            self._addresses.add(address, now, self._address_fresh)
        self._accounts.add(email, now, self._account_fresh)

    def succeeded(self, email: str) -> None:
        # Only the account's count: a success on the attacker's own login must not wipe the
        # failures their address made guessing at others.
        self._accounts.forget(email)

    def tracked(self) -> tuple[int, int]:
        """Entries held: (addresses, accounts)."""
        return len(self._addresses), len(self._accounts)


def account_delay_s(failures: int) -> float:
    """The wait after `failures` failures in a row on one account."""
    if failures < ACCOUNT_FREE_FAILURES:
        return 0.0
    return float(min(2 ** (failures - ACCOUNT_FREE_FAILURES), ACCOUNT_MAX_DELAY_S))
