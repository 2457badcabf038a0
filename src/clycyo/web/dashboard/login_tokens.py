"""Tokens the login form hands out and checks: its CSRF token and the known-browser token.

Both are signed with HMAC-SHA256 under a secret this process draws at start, so the server can
tell a token it made from one a client made up, without storing either:
- the **CSRF token** (`issued.nonce.mac`) is put in the form and in a cookie; a post must carry
  the same token in both, signed here and less than an hour old. A cookie and a field that
  merely match (`csrf=abc`, cookie `abc`) are refused.
- the **known-browser token** is given to a browser when it logs in, as a cookie bound to that
  account; `login_throttle.py` lets it skip the account's delay, so failures a stranger causes do
  not keep the owner's usual browser out. It grants nothing else: the password is still checked.
  A login with a two-factor code gets a token of its own kind, and only that kind skips the
  delay of wrong codes: a browser that logged in with the password alone (before two-factor was
  on, with a password since stolen, say) is slowed there as any other.

A restart draws a new secret: open login forms then ask to be sent again, and known browsers are
known again after their next login. This module reads no form and sets no cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

CSRF_TTL_S = 3600
KNOWN_BROWSER_TTL_S = 365 * 24 * 3600


class LoginTokens:
    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    def _mac(self, purpose: str, text: str) -> str:
        digest = hmac.new(self._secret, f"{purpose}\0{text}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def csrf_token(self, now_s: float | None = None) -> str:
        issued = str(int(time.time() if now_s is None else now_s))
        nonce = secrets.token_urlsafe(16)
        return f"{issued}.{nonce}.{self._mac('login-csrf', f'{issued}.{nonce}')}"

    def csrf_valid(self, token: str, now_s: float | None = None) -> bool:
        issued, _, rest = token.partition(".")
        nonce, _, mac = rest.partition(".")
        if not (issued.isdigit() and nonce and mac):
            return False
        expected = self._mac("login-csrf", f"{issued}.{nonce}")
        if not hmac.compare_digest(mac.encode(), expected.encode()):
            return False
        age_s = (time.time() if now_s is None else now_s) - int(issued)
        return 0 <= age_s <= CSRF_TTL_S

    def known_browser(self, email: str, *, second_factor: bool = False) -> str:
        """The token of a browser that logged in to `email`, with a two-factor code or not."""
        return self._mac("known-browser-code" if second_factor else "known-browser", email)

    def is_known_browser(
        self, token: str | None, email: str, *, second_factor: bool = False
    ) -> bool:
        """Whether `token` is a known browser's of `email`; with `second_factor`, of one that
        logged in with a code (a password alone, perhaps a stolen one before two-factor was
        turned on, does not make a browser known to the code form)."""
        if not token:
            return False
        kinds = (True,) if second_factor else (False, True)
        found = [
            hmac.compare_digest(
                str(token).encode(), self.known_browser(email, second_factor=k).encode()
            )
            for k in kinds
        ]
        return any(found)
