"""Logins half done: the password was right, the two-factor code is still to come.

Such a login is no session: it is a random token in a cookie (`clycyo_login_pending`, HttpOnly,
SameSite=Strict, sent to `/login…` only) that this table maps to the login for 5 minutes, in this
process's memory. Nothing but the code form reads it, so a half-signed-in browser reaches no page
and no API; 5 wrong codes end it (the password is asked again), and a restart forgets them all.
The table is bounded: when full, the oldest entry goes. This module sets no cookie and checks no
code (`login_code.py`, `config/two_factor.py`).
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

PENDING_COOKIE = "clycyo_login_pending"
PENDING_TTL_S = 5 * 60
MAX_WRONG_CODES = 5  # per half-done login; the account's and address's limits hold besides
MAX_PENDING = 10_000


@dataclass
class PendingLogin:
    user_id: int
    email: str
    password_hash: str  # the one the password was checked against: a reset since ends it
    next_path: str
    expires_at: float  # monotonic seconds
    wrong_codes: int = 0


class PendingLogins:
    def __init__(
        self, clock: Callable[[], float] = time.monotonic, max_entries: int = MAX_PENDING
    ) -> None:
        self.clock = clock
        self.max_entries = max_entries
        self._by_token: OrderedDict[str, PendingLogin] = OrderedDict()

    def begin(self, user_id: int, email: str, password_hash: str, next_path: str) -> str:
        """A new half-done login: the token for the browser's cookie."""
        token = secrets.token_urlsafe(32)
        expires_at = self.clock() + PENDING_TTL_S
        self._by_token[token] = PendingLogin(user_id, email, password_hash, next_path, expires_at)
        while len(self._by_token) > self.max_entries:
            self._by_token.popitem(last=False)
        return token

    def get(self, token: str | None) -> PendingLogin | None:
        found = self._by_token.get(token) if token else None
        if found is not None and found.expires_at <= self.clock():
            self.end(token)
            return None
        return found

    def wrong_code(self, token: str) -> bool:
        """Count a wrong code; True when that was the last one allowed (the login is ended)."""
        found = self._by_token.get(token)
        if found is None:
            return True
        found.wrong_codes += 1
        if found.wrong_codes >= MAX_WRONG_CODES:
            self.end(token)
            return True
        return False

    def end(self, token: str | None) -> None:
        if token:
            self._by_token.pop(token, None)

    def __len__(self) -> int:
        return len(self._by_token)
