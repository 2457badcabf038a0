"""Two-factor sign-in for dashboard logins: TOTP secrets (RFC 6238) and one-time recovery codes.

A login with two-factor on is asked, after its password, for a 6-digit code its authenticator
app computes from a shared secret every 30 seconds, or for one of its recovery codes. A code of
the step before or after the server's is accepted too (a phone's clock drifts), and a step is
used once: the last step used is kept, and a code of that step or an earlier one is refused, so a
code seen over a shoulder or in a proxy's log cannot be sent again. Recovery codes are kept as
password hashes (`passwords.py`) and each is used once.

The secret itself is stored as it is: the server must compute codes from it, and the data folder
holds no long-lived key apart from `config.sqlite` to encrypt it with (docs/security.md). The
tables are `config/store.py`'s. This module decides nothing about HTTP or throttling.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import time
from dataclasses import dataclass

import pyotp

from clycyo.config import access
from clycyo.config.passwords import hash_password, verify_password
from clycyo.config.store import ConfigError, ConfigStore, hash_secret
from clycyo.sqlite_threads import FOREIGN_KEYS, ThreadConnections

STEP_S = 30
DIGITS = 6
DRIFT_STEPS = 1  # steps accepted before and after the server's own
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
_RECOVERY_HALF_CHARS = 5  # two halves: 10 characters, about 49 bits
ISSUER = "Clycyo"


@dataclass(frozen=True)
class TwoFactorState:
    enabled_at: float
    recovery_codes_left: int


def new_secret() -> str:
    """A fresh secret: 20 random bytes in base32 (what authenticator apps read)."""
    return base64.b32encode(secrets.token_bytes(20)).decode()


def is_secret(text: str) -> bool:
    """Whether `text` is a secret `new_secret` could have made (a form sends it back)."""
    try:
        return len(text) == 32 and len(base64.b32decode(text, casefold=False)) == 20
    except (binascii.Error, ValueError):
        return False


def provisioning_uri(secret: str, email: str) -> str:
    """The `otpauth://` URI a QR code hands to an authenticator app."""
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_S)
    return totp.provisioning_uri(name=email, issuer_name=ISSUER)


def code_step(secret: str, code: str, now_s: float | None = None) -> int | None:
    """The time step whose code `code` is, within the drift allowed, or None."""
    code = "".join(code.split())
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_S)
    current = int((time.time() if now_s is None else now_s) // STEP_S)
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        # Every step is compared, in constant time, whichever matches.
        if hmac.compare_digest(totp.generate_otp(step).encode(), code.encode()):
            found = step
    return found


def new_recovery_codes() -> list[str]:
    def half() -> str:
        return "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_HALF_CHARS))

    return [f"{half()}-{half()}" for _ in range(RECOVERY_CODE_COUNT)]


def _recovery_form(code: str) -> str:
    """A recovery code as hashed: lower case, without the dash or spaces people type."""
    return "".join(c for c in code.lower() if c.isalnum())


def hash_recovery_codes(codes: list[str]) -> list[str]:
    return [hash_password(_recovery_form(code)) for code in codes]


class TwoFactorStore:
    def __init__(self, config: ConfigStore) -> None:
        self._connect = ThreadConnections(config.path, FOREIGN_KEYS).get
        # Turning two-factor on or off ends sessions: their table must exist, as it does once a
        # server has run (a command may come first).
        self._connect().executescript(access.SCHEMA)

    def state(self, user_id: int) -> TwoFactorState | None:
        """None while two-factor is off for this login."""
        row = (
            self._connect()
            .execute(
                "SELECT t.enabled_at, (SELECT count(*) FROM recovery_codes r"
                " WHERE r.user_id = t.user_id AND r.used_at IS NULL)"
                " FROM two_factor t WHERE t.user_id = ?",
                (user_id,),
            )
            .fetchone()
        )
        return None if row is None else TwoFactorState(float(row[0]), int(row[1]))

    def turn_on(
        self,
        user_id: int,
        secret: str,
        step: int,
        recovery_hashes: list[str],
        kept_session: str | None = None,
    ) -> int:
        """Turn two-factor on with `secret`, whose code of `step` the user just typed (so that
        code is used), and end the login's sessions but `kept_session` (the cookie value of the
        one that did it), opened with the password alone. Returns the sessions ended; raises
        `ConfigError` if it is on already."""
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("SELECT 1 FROM two_factor WHERE user_id = ?", (user_id,)).fetchone():
                raise ConfigError("two-factor sign-in is on already")
            db.execute(
                "INSERT INTO two_factor (user_id, secret, enabled_at, last_step)"
                " VALUES (?, ?, ?, ?)",
                (user_id, secret, time.time(), step),
            )
            db.execute("DELETE FROM recovery_codes WHERE user_id = ?", (user_id,))
            db.executemany(
                "INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)",
                [(user_id, code_hash) for code_hash in recovery_hashes],
            )
            ended = db.execute(
                "DELETE FROM dashboard_sessions WHERE user_id = ? AND token_hash != ?",
                (user_id, hash_secret(kept_session) if kept_session else ""),
            ).rowcount
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return int(ended)

    def turn_off(self, user_id: int, *, end_sessions: bool = False) -> int | None:
        """Forget the login's secret and recovery codes; with `end_sessions` (a login that lost
        its device, which may be in someone else's hands) end its sessions too. The number of
        sessions ended, or None if two-factor was off."""
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM recovery_codes WHERE user_id = ?", (user_id,))
            removed = db.execute("DELETE FROM two_factor WHERE user_id = ?", (user_id,)).rowcount
            ended = 0
            if removed and end_sessions:
                ended = db.execute(
                    "DELETE FROM dashboard_sessions WHERE user_id = ?", (user_id,)
                ).rowcount
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return int(ended) if removed else None

    def check(self, user_id: int, code: str, now_s: float | None = None) -> str | None:
        """Use `code` (an app's code or a recovery code) to sign in: "app" or "recovery" when
        it is good and unused (it is then used up), "used" for an app's code of a step used
        already, None when it is wrong or two-factor is off. Slow for a recovery code (a
        password hash per code left): call it off the event loop."""
        row = (
            self._connect()
            .execute("SELECT secret FROM two_factor WHERE user_id = ?", (user_id,))
            .fetchone()
        )
        if row is None:
            return None
        typed = "".join(code.split())
        if typed.isdigit() and len(typed) == DIGITS:  # a recovery code may be all digits
            step = code_step(str(row[0]), typed, now_s)
            if step is None:
                return None
            # Only a later step than the last one used moves it: two posts of one code at once
            # cannot both pass.
            moved = (
                self._connect()
                .execute(
                    "UPDATE two_factor SET last_step = ? WHERE user_id = ? AND last_step < ?",
                    (step, user_id, step),
                )
                .rowcount
            )
            return "app" if moved else "used"
        return "recovery" if self._use_recovery_code(user_id, typed) else None

    def _use_recovery_code(self, user_id: int, code: str) -> bool:
        typed = _recovery_form(code)
        if len(typed) != 2 * _RECOVERY_HALF_CHARS:
            return False
        rows = (
            self._connect()
            .execute(
                "SELECT id, code_hash FROM recovery_codes WHERE user_id = ? AND used_at IS NULL",
                (user_id,),
            )
            .fetchall()
        )
        for code_id, code_hash in rows:
            if verify_password(typed, str(code_hash)):
                used = (
                    self._connect()
                    .execute(
                        "UPDATE recovery_codes SET used_at = ? WHERE id = ? AND used_at IS NULL",
                        (time.time(), code_id),
                    )
                    .rowcount
                )
                return used > 0
        return False
