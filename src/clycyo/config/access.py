"""Credentials besides site keys: dashboard sessions, API tokens and shared links, in SQLite.

The tables live in the same `config.sqlite` as sites and users (created here with
`CREATE TABLE IF NOT EXISTS`), so the CLI can issue or revoke a token while a server runs and the
server sees it on the next request. Every credential is a long random token kept only as its
SHA-256 hash: a copy of the database grants nothing. This module decides nothing about HTTP
(cookies, headers, CSRF): `web/access.py` and `web/sessions.py` do.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from clycyo.config.roles import ADMIN
from clycyo.config.store import ConfigError, ConfigStore, hash_secret
from clycyo.sqlite_threads import FOREIGN_KEYS, ThreadConnections

SCHEMA = """
CREATE TABLE IF NOT EXISTS dashboard_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS api_tokens (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    revoked_at REAL
);
CREATE TABLE IF NOT EXISTS api_token_sites (
    token_id INTEGER NOT NULL REFERENCES api_tokens(id),
    site_id INTEGER NOT NULL REFERENCES sites(id),
    PRIMARY KEY (token_id, site_id)
);
CREATE TABLE IF NOT EXISTS shared_links (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    site_id INTEGER NOT NULL REFERENCES sites(id),
    label TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    revoked_at REAL
);
"""

SESSION_TTL_S = 14 * 24 * 3600
API_TOKEN_PREFIX = "ct_"
SHARED_LINK_PREFIX = "sh_"


@dataclass(frozen=True)
class DashboardSession:
    user_id: int
    email: str
    csrf_token: str
    expires_at: float
    role: str = ADMIN  # the login's role as of this request (`config/roles.py`)

    @property
    def changes_sites(self) -> bool:
        """Whether the login may change its sites (settings, funnels, credentials)."""
        return self.role == ADMIN


@dataclass(frozen=True)
class ApiToken:
    id: int
    hint: str
    label: str
    site_ids: tuple[int, ...]
    created_at: float
    revoked_at: float | None


@dataclass(frozen=True)
class SharedLink:
    id: int
    hint: str
    site_id: int
    label: str
    created_at: float
    revoked_at: float | None


class AccessStore:
    def __init__(self, config: ConfigStore) -> None:
        self.path = config.path  # the users and sites tables exist once ConfigStore opened it
        self._connect = ThreadConnections(self.path, FOREIGN_KEYS).get
        self._connect().executescript(SCHEMA)

    # Dashboard sessions

    def open_session(
        self, user_id: int, password_hash: str | None = None, *, second_factor: bool = False
    ) -> tuple[str, DashboardSession]:
        """A new session for a user who just logged in: (cookie value, session).

        With `password_hash`, the hash the password was checked against: `ConfigError` (no
        session) if the login was removed or its password changed since, so a login checked
        just before a reset or a removal cannot outlive it. Without `second_factor` (a code
        checked, `config/two_factor.py`), a login with two-factor on gets no session either,
        even one turned on while its password was being checked.
        """
        token = secrets.token_urlsafe(32)
        csrf_token = secrets.token_urlsafe(24)
        now = time.time()
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM dashboard_sessions WHERE expires_at < ?", (now,))
            opened = db.execute(
                "INSERT INTO dashboard_sessions SELECT :token, id, :csrf, :now, :expires FROM users"
                " WHERE id = :user AND (:hash IS NULL OR password_hash = :hash)"
                " AND (:second OR id NOT IN (SELECT user_id FROM two_factor))",
                {
                    "token": hash_secret(token),
                    "csrf": csrf_token,
                    "now": now,
                    "expires": now + SESSION_TTL_S,
                    "user": user_id,
                    "hash": password_hash,
                    "second": second_factor,
                },
            ).rowcount
            if opened:
                db.execute("UPDATE users SET last_login_at = ? WHERE id = ?", (now, user_id))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        if opened < 1:
            raise ConfigError("the login was removed, or its password or two-factor changed")
        return token, self.session(token)  # type: ignore[return-value]

    def session(self, token: str) -> DashboardSession | None:
        row = (
            self._connect()
            .execute(
                "SELECT s.user_id, u.email, s.csrf_token, s.expires_at, u.role"
                " FROM dashboard_sessions s"
                " JOIN users u ON u.id = s.user_id WHERE s.token_hash = ? AND s.expires_at > ?",
                (hash_secret(token), time.time()),
            )
            .fetchone()
        )
        if row is None:
            return None
        return DashboardSession(int(row[0]), str(row[1]), row[2], row[3], str(row[4]))

    def close_session(self, token: str) -> None:
        self._connect().execute(
            "DELETE FROM dashboard_sessions WHERE token_hash = ?", (hash_secret(token),)
        )

    # Logins: the change and the end of their sessions in one transaction, so a running
    # server refuses the old sessions from its next request on (sessions are never cached).

    def set_password(self, email: str, password_hash: str) -> int:
        """Give a login a new password and end its sessions; the number of sessions ended.
        Raises `ConfigError` for an unknown email."""
        return self._change_user(email, password_hash)

    def remove_user(self, email: str) -> int:
        """Remove a login, its site grants and its sessions; the number of sessions ended.
        Raises `ConfigError` for an unknown email."""
        return self._change_user(email, None)

    def _change_user(self, email: str, password_hash: str | None) -> int:
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT id FROM users WHERE email = ?", (email.strip(),)).fetchone()
            if row is None:
                raise ConfigError(f"no user {email.strip()}")
            user_id = int(row[0])
            ended = db.execute(
                "DELETE FROM dashboard_sessions WHERE user_id = ?", (user_id,)
            ).rowcount
            if password_hash is None:
                db.execute("DELETE FROM user_sites WHERE user_id = ?", (user_id,))
                db.execute("DELETE FROM recovery_codes WHERE user_id = ?", (user_id,))
                db.execute("DELETE FROM two_factor WHERE user_id = ?", (user_id,))
                db.execute("DELETE FROM users WHERE id = ?", (user_id,))
            else:
                db.execute(
                    "UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id)
                )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return int(ended)

    # API tokens

    def add_api_token(self, site_ids: list[int], label: str = "") -> tuple[str, ApiToken]:
        """A new token that may read `site_ids` (at least one): (token, shown once; record)."""
        if not site_ids:
            raise ValueError("an API token needs at least one site")
        token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            cursor = db.execute(
                "INSERT INTO api_tokens (token_hash, hint, label, created_at) VALUES (?, ?, ?, ?)",
                (hash_secret(token), token[:7], label, time.time()),
            )
            token_id = int(cursor.lastrowid or 0)
            for site_id in sorted(set(site_ids)):
                db.execute("INSERT INTO api_token_sites VALUES (?, ?)", (token_id, site_id))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return token, self._api_tokens("t.id = ?", token_id)[0]

    def api_token(self, token: str) -> ApiToken | None:
        """The live (unrevoked) token record for a presented token."""
        found = self._api_tokens("t.token_hash = ? AND t.revoked_at IS NULL", hash_secret(token))
        return found[0] if found else None

    def api_tokens(self, site_id: int | None = None) -> list[ApiToken]:
        if site_id is None:
            return self._api_tokens("1 = ?", 1)
        return self._api_tokens(
            "t.id IN (SELECT token_id FROM api_token_sites WHERE site_id = ?)", site_id
        )

    def revoke_api_token(self, token_id: int, site_ids: list[int] | None = None) -> bool:
        """Revoke by id; with `site_ids`, only a token scoped within those sites."""
        found = self._api_tokens("t.id = ? AND t.revoked_at IS NULL", token_id)
        if not found or (site_ids is not None and not set(found[0].site_ids) <= set(site_ids)):
            return False
        self._connect().execute(
            "UPDATE api_tokens SET revoked_at = ? WHERE id = ?", (time.time(), token_id)
        )
        return True

    def _api_tokens(self, where: str, value: object) -> list[ApiToken]:
        # `where` is one of the fixed conditions above, never input.
        rows = (
            self._connect()
            .execute(
                "SELECT t.id, t.hint, t.label, group_concat(s.site_id), t.created_at, t.revoked_at"
                " FROM api_tokens t LEFT JOIN api_token_sites s ON s.token_id = t.id"
                f" WHERE {where} GROUP BY t.id ORDER BY t.id",
                (value,),
            )
            .fetchall()
        )
        return [
            ApiToken(
                int(r[0]),
                r[1],
                r[2],
                tuple(sorted(int(s) for s in str(r[3]).split(","))) if r[3] else (),
                r[4],
                r[5],
            )
            for r in rows
        ]

    # Shared links

    def add_shared_link(self, site_id: int, label: str = "") -> tuple[str, SharedLink]:
        token = SHARED_LINK_PREFIX + secrets.token_urlsafe(24)
        cursor = self._connect().execute(
            "INSERT INTO shared_links (token_hash, hint, site_id, label, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (hash_secret(token), token[:7], site_id, label, time.time()),
        )
        return token, self._shared_links("id = ?", int(cursor.lastrowid or 0))[0]

    def shared_link(self, token: str) -> SharedLink | None:
        found = self._shared_links("token_hash = ? AND revoked_at IS NULL", hash_secret(token))
        return found[0] if found else None

    def shared_links(self, site_id: int) -> list[SharedLink]:
        return self._shared_links("site_id = ?", site_id)

    def revoke_shared_link(self, link_id: int, site_ids: list[int] | None = None) -> bool:
        found = self._shared_links("id = ? AND revoked_at IS NULL", link_id)
        if not found or (site_ids is not None and found[0].site_id not in site_ids):
            return False
        self._connect().execute(
            "UPDATE shared_links SET revoked_at = ? WHERE id = ?", (time.time(), link_id)
        )
        return True

    def _shared_links(self, where: str, value: object) -> list[SharedLink]:
        rows = self._connect().execute(
            "SELECT id, hint, site_id, label, created_at, revoked_at FROM shared_links"
            f" WHERE {where} ORDER BY id",
            (value,),
        )
        return [SharedLink(int(r[0]), r[1], int(r[2]), r[3], r[4], r[5]) for r in rows]
