"""The configuration store: sites, keys, dashboard users and salts, in SQLite (WAL mode).

Separate from the event store on purpose: DuckDB lets one process open its file, while the CLI
must be able to add a site or a user while a server runs. SQLite in WAL mode lets several
processes read and write safely, and `PRAGMA data_version` tells a running server cheaply that
another process changed something. Secret keys are stored as SHA-256 hashes: they are long random
tokens, so a slow password hash would add nothing but latency on every server request.
A secret key is named by `key_id`, the start of its hash: stable, shown in lists, and of no use
to anyone holding it. This module does no caching; `config/directory.py` is the server's cached
view.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from clycyo.config.roles import ADMIN, UnknownRole, check_role
from clycyo.config.site_settings import (
    DEFAULT_CURRENCY,
    DEFAULT_TIMEZONE,
    check_currency,
    check_timezone,
)
from clycyo.sqlite_threads import FOREIGN_KEYS, WAL, PendingPurge, ThreadConnections

SCHEMA = """
CREATE TABLE IF NOT EXISTS sites (
    id INTEGER PRIMARY KEY,
    domain TEXT NOT NULL UNIQUE,
    public_key TEXT NOT NULL UNIQUE,
    timezone TEXT NOT NULL DEFAULT 'UTC',
    currency TEXT NOT NULL DEFAULT 'USD',
    stripe_signing_secret TEXT,
    retention_days INTEGER,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS secret_keys (
    key_hash TEXT PRIMARY KEY,
    site_id INTEGER NOT NULL REFERENCES sites(id),
    hint TEXT NOT NULL,
    created_at REAL NOT NULL,
    revoked_at REAL
);
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_login_at REAL,
    role TEXT NOT NULL DEFAULT 'admin'
);
CREATE TABLE IF NOT EXISTS user_sites (
    user_id INTEGER NOT NULL REFERENCES users(id),
    site_id INTEGER NOT NULL REFERENCES sites(id),
    PRIMARY KEY (user_id, site_id)
);
CREATE TABLE IF NOT EXISTS salts (
    day INTEGER PRIMARY KEY,
    salt BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS two_factor (
    user_id INTEGER PRIMARY KEY REFERENCES users(id),
    secret TEXT NOT NULL,
    enabled_at REAL NOT NULL,
    last_step INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS recovery_codes (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    code_hash TEXT NOT NULL,
    used_at REAL
);
CREATE TABLE IF NOT EXISTS removed_sites (
    site_id INTEGER PRIMARY KEY,
    domain TEXT NOT NULL,
    removed_at REAL NOT NULL,
    data_deleted_at REAL
);
"""


@dataclass(frozen=True)
class Site:
    id: int
    domain: str
    public_key: str
    timezone: str = "UTC"
    currency: str = "USD"
    stripe_signing_secret: str | None = None
    retention_days: int | None = None


@dataclass(frozen=True)
class NewSite:
    site: Site
    secret_key: str  # shown once; only its hash is kept


@dataclass(frozen=True)
class SecretKey:
    """A site's secret key as lists show it: never the key, only its id and hint."""

    id: str
    site_id: int
    hint: str
    created_at: float
    revoked_at: float | None


@dataclass(frozen=True)
class User:
    id: int
    email: str
    site_ids: tuple[int, ...]  # empty: every site
    created_at: float
    last_login_at: float | None
    two_factor: bool = False  # a code from an authenticator app is asked after the password
    role: str = ADMIN  # `config/roles.py`


class ConfigError(ValueError):
    """A configuration change that cannot be made (the message says why)."""


def hash_secret(secret_key: str) -> str:
    return hashlib.sha256(secret_key.encode()).hexdigest()


KEY_ID_CHARS = 12  # of the key's SHA-256 hash: 48 bits, so two keys never share an id


def key_id(key_hash: str) -> str:
    return key_hash[:KEY_ID_CHARS]


def normalize_domain(domain: str) -> str:
    value = domain.strip().lower().rstrip(".")
    for prefix in ("https://", "http://"):
        if value.startswith(prefix):
            value = value[len(prefix) :]
    value = value.split("/", 1)[0]
    if not value or any(c in value for c in " @?#") or len(value) > 253:
        raise ConfigError(f"not a domain: {domain!r}")
    return value.removeprefix("www.")


# Columns of `users` later than its first version, with their definitions (fixed text, never input).
_USER_COLUMNS_ADDED = {"last_login_at": "REAL", "role": f"TEXT NOT NULL DEFAULT '{ADMIN}'"}


def _role(role: str) -> str:
    try:
        return check_role(role)
    except UnknownRole as exc:
        raise ConfigError(str(exc)) from None


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {str(row[1]) for row in db.execute(f"PRAGMA table_info({table})")}


_SITE_COLUMNS = "id, domain, public_key, timezone, currency, stripe_signing_secret, retention_days"


class ConfigStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        # Key hashes and salts: the folder and the file are the owner's only, whatever the umask
        # (SQLite gives its write-ahead log and index files the mode of the database file).
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
        else:
            os.chmod(path, 0o600)
        self._connect = ThreadConnections(path, WAL + FOREIGN_KEYS).get
        self._purge = PendingPurge()  # a deleted salt may still be in the write-ahead log
        with self._connect() as db:
            db.executescript(SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Bring a store made by an earlier version up to this schema: the columns `users` gained
        (a login made before roles existed is an admin, as every login then was)."""
        db = self._connect()
        if _USER_COLUMNS_ADDED.keys() <= _columns(db, "users"):
            return
        db.execute("BEGIN IMMEDIATE")  # another process may be adding them at the same moment
        try:
            present = _columns(db, "users")
            for name, definition in _USER_COLUMNS_ADDED.items():
                if name not in present:
                    db.execute(f"ALTER TABLE users ADD COLUMN {name} {definition}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def data_version(self) -> int:
        row = self._connect().execute("PRAGMA data_version").fetchone()
        return int(row[0])

    # Sites and keys

    def add_site(
        self,
        domain: str,
        *,
        stripe_signing_secret: str | None = None,
        timezone: str = DEFAULT_TIMEZONE,
        currency: str = DEFAULT_CURRENCY,
    ) -> NewSite:
        """Create a site and its first secret key; raises `InvalidSetting` or `ConfigError`."""
        domain = normalize_domain(domain)
        if not domain.isprintable():
            # Email refuses a line break in a header: a site named with one would get no report.
            raise ConfigError(f"not a domain: {domain!r} (a control character)")
        timezone = check_timezone(timezone)
        currency = check_currency(currency)
        public_key = "pk_" + secrets.token_hex(12)
        secret_key = "sk_" + secrets.token_urlsafe(32)
        now = time.time()
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            if db.execute(
                "SELECT 1 FROM removed_sites WHERE domain = ? AND data_deleted_at IS NULL",
                (domain,),
            ).fetchone():
                # Once the domain is a site again, `site remove` finds the new site and the old
                # one's data would stay for good: its removal is finished first.
                db.execute("ROLLBACK")
                raise ConfigError(
                    f"the removal of {domain} has not finished: run clycyo site remove {domain}"
                    " again, then add it"
                )
            # A removed site's id is never given again (NULL: SQLite's next id): what of it a
            # store or a process's memory may still hold must not become another site's.
            cursor = db.execute(
                "INSERT INTO sites"
                " (id, domain, public_key, timezone, currency, stripe_signing_secret, created_at)"
                " VALUES ((SELECT max(site_id) + 1 FROM removed_sites WHERE site_id >="
                " (SELECT coalesce(max(id), 0) FROM sites)), ?, ?, ?, ?, ?, ?)",
                (domain, public_key, timezone, currency, stripe_signing_secret, now),
            )
            site_id = int(cursor.lastrowid or 0)
            db.execute(
                "INSERT INTO secret_keys (key_hash, site_id, hint, created_at) VALUES (?, ?, ?, ?)",
                (hash_secret(secret_key), site_id, secret_key[:7], now),
            )
            db.execute("COMMIT")
        except sqlite3.IntegrityError:
            db.execute("ROLLBACK")
            raise ConfigError(f"site {domain} exists already") from None
        site = Site(site_id, domain, public_key, timezone, currency, stripe_signing_secret)
        return NewSite(site, secret_key)

    def add_secret_key(self, site_id: int) -> str:
        secret_key = "sk_" + secrets.token_urlsafe(32)
        self._connect().execute(
            "INSERT INTO secret_keys (key_hash, site_id, hint, created_at) VALUES (?, ?, ?, ?)",
            (hash_secret(secret_key), site_id, secret_key[:7], time.time()),
        )
        return secret_key

    def revoke_secret_key(self, secret_key: str) -> bool:
        cursor = self._connect().execute(
            "UPDATE secret_keys SET revoked_at = ? WHERE key_hash = ? AND revoked_at IS NULL",
            (time.time(), hash_secret(secret_key)),
        )
        return cursor.rowcount > 0

    def secret_keys(self, site_id: int | None = None) -> list[SecretKey]:
        """The secret keys of one site (or every site), revoked ones too, oldest first."""
        query = "SELECT key_hash, site_id, hint, created_at, revoked_at FROM secret_keys"
        params: tuple[object, ...] = ()
        if site_id is not None:
            query += " WHERE site_id = ?"
            params = (site_id,)
        rows = self._connect().execute(query + " ORDER BY created_at, key_hash", params)
        return [SecretKey(key_id(r[0]), int(r[1]), r[2], r[3], r[4]) for r in rows]

    def revoke_secret_key_by_id(
        self, key_id_: str, *, site_ids: list[int] | None = None, force: bool = False
    ) -> SecretKey:
        """Revoke a live key by its id (with `site_ids`, only a key of one of those sites).

        A site's last live secret key is kept unless `force`: without one, its backends' events
        and the query API stop until a new key is made, so the safe order is add, deploy,
        revoke. Raises `ConfigError` saying why nothing was revoked.
        """
        key_id_ = key_id_.strip().lower()
        if len(key_id_) != KEY_ID_CHARS or any(c not in "0123456789abcdef" for c in key_id_):
            raise ConfigError(f"no such live secret key: {key_id_!r}")
        db = self._connect()
        # One transaction: two revocations at once cannot both see the other key still live.
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute(
                "SELECT key_hash, site_id FROM secret_keys"
                " WHERE substr(key_hash, 1, ?) = ? AND revoked_at IS NULL",
                (KEY_ID_CHARS, key_id_),
            ).fetchone()
            if row is None or (site_ids is not None and int(row[1]) not in site_ids):
                raise ConfigError(self._not_live(db, key_id_, site_ids))
            (live,) = db.execute(
                "SELECT count(*) FROM secret_keys WHERE site_id = ? AND revoked_at IS NULL",
                (row[1],),
            ).fetchone()
            if live <= 1 and not force:
                raise ConfigError(
                    f"secret key {key_id_} is the site's last live one: add a new key first"
                    " (clycyo key add), or revoke it anyway with --force"
                )
            db.execute(
                "UPDATE secret_keys SET revoked_at = ? WHERE key_hash = ?", (time.time(), row[0])
            )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return next(k for k in self.secret_keys(int(row[1])) if k.id == key_id_)

    @staticmethod
    def _not_live(db: sqlite3.Connection, key_id_: str, site_ids: list[int] | None) -> str:
        """Why `key_id_` names no live key: revoked already (only said of a key of `site_ids`,
        so a page never learns of another site's keys), or unknown."""
        rows = db.execute(
            "SELECT site_id FROM secret_keys WHERE substr(key_hash, 1, ?) = ?",
            (KEY_ID_CHARS, key_id_),
        ).fetchall()
        if any(site_ids is None or int(site_id) in site_ids for (site_id,) in rows):
            return f"secret key {key_id_} is already revoked"
        return f"no such live secret key: {key_id_}"

    def update_site(self, site_id: int, **fields: object) -> None:
        """Change some of a site's settings at once; raises `InvalidSetting` or `ConfigError`."""
        allowed = {"timezone", "currency", "stripe_signing_secret", "retention_days"}
        unknown = set(fields) - allowed
        if unknown:
            raise ConfigError(f"unknown site settings: {', '.join(sorted(unknown))}")
        if "timezone" in fields:
            fields["timezone"] = check_timezone(str(fields["timezone"]))
        if "currency" in fields:
            fields["currency"] = check_currency(str(fields["currency"]))
        db = self._connect()
        # One transaction: a running server never sees half of a change.
        db.execute("BEGIN IMMEDIATE")
        try:
            for name, value in fields.items():
                # Column names come from the fixed set above, never from input.
                db.execute(f"UPDATE sites SET {name} = ? WHERE id = ?", (value, site_id))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def sites(self) -> list[Site]:
        rows = self._connect().execute(f"SELECT {_SITE_COLUMNS} FROM sites ORDER BY id")
        return [Site(*row) for row in rows]

    def site_by_domain(self, domain: str) -> Site | None:
        return self._one_site("domain = ?", normalize_domain(domain))

    def site_by_id(self, site_id: int) -> Site | None:
        return self._one_site("id = ?", site_id)

    def site_by_public_key(self, public_key: str) -> Site | None:
        return self._one_site("public_key = ?", public_key)

    def site_by_secret_key(self, secret_key: str) -> Site | None:
        row = (
            self._connect()
            .execute(
                "SELECT site_id FROM secret_keys WHERE key_hash = ? AND revoked_at IS NULL",
                (hash_secret(secret_key),),
            )
            .fetchone()
        )
        return None if row is None else self.site_by_id(int(row[0]))

    def _one_site(self, where: str, value: object) -> Site | None:
        row = (
            self._connect()
            .execute(f"SELECT {_SITE_COLUMNS} FROM sites WHERE {where}", (value,))
            .fetchone()
        )
        return None if row is None else Site(*row)

    # Dashboard users

    def add_user(
        self,
        email: str,
        password_hash: str,
        site_ids: list[int] | None = None,
        role: str = ADMIN,
    ) -> int:
        email = email.strip()
        if "@" not in email or len(email) > 254:
            raise ConfigError(f"not an email address: {email!r}")
        role = _role(role)
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            cursor = db.execute(
                "INSERT INTO users (email, password_hash, created_at, role) VALUES (?, ?, ?, ?)",
                (email, password_hash, time.time(), role),
            )
            user_id = int(cursor.lastrowid or 0)
            for site_id in site_ids or []:
                db.execute("INSERT INTO user_sites VALUES (?, ?)", (user_id, site_id))
            db.execute("COMMIT")
        except sqlite3.IntegrityError:
            db.execute("ROLLBACK")
            raise ConfigError(f"user {email} exists already") from None
        return user_id

    def user_by_email(self, email: str) -> tuple[int, str] | None:
        row = (
            self._connect()
            .execute("SELECT id, password_hash FROM users WHERE email = ?", (email.strip(),))
            .fetchone()
        )
        return None if row is None else (int(row[0]), str(row[1]))

    def user_email(self, email: str) -> str | None:
        """A login's email as stored (found as `email` is, whatever its case), or None."""
        row = (
            self._connect()
            .execute("SELECT email FROM users WHERE email = ?", (email.strip(),))
            .fetchone()
        )
        return None if row is None else str(row[0])

    def users(self) -> list[User]:
        rows = self._connect().execute(
            "SELECT u.id, u.email, group_concat(s.site_id), u.created_at, u.last_login_at,"
            " EXISTS (SELECT 1 FROM two_factor t WHERE t.user_id = u.id), u.role"
            " FROM users u LEFT JOIN user_sites s ON s.user_id = u.id GROUP BY u.id ORDER BY u.id"
        )
        return [
            User(
                int(r[0]),
                r[1],
                tuple(sorted(int(s) for s in str(r[2]).split(","))) if r[2] else (),
                r[3],
                r[4],
                bool(r[5]),
                str(r[6]),
            )
            for r in rows
        ]

    def set_user_role(self, email: str, role: str) -> bool:
        """Give a login `role`; False when it had it already. Its sessions keep going and act
        in the new role from their next request (sessions read the role each time). Raises
        `ConfigError` for an unknown email or role."""
        role = _role(role)
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT role FROM users WHERE email = ?", (email.strip(),)).fetchone()
            if row is None:
                raise ConfigError(f"no user {email.strip()}")
            if row[0] != role:
                db.execute("UPDATE users SET role = ? WHERE email = ?", (role, email.strip()))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return bool(row[0] != role)

    def user_site_ids(self, user_id: int) -> list[int] | None:
        """The sites a user may see; None means every site (a user added without `--site`)."""
        rows = (
            self._connect()
            .execute("SELECT site_id FROM user_sites WHERE user_id = ?", (user_id,))
            .fetchall()
        )
        return [int(r[0]) for r in rows] or None

    # Salts

    def salts(self) -> dict[int, bytes]:
        """The salts kept (servers read them every second, and so finish a purge put off)."""
        db = self._connect()
        self._purge.retry(db)
        rows = db.execute("SELECT day, salt FROM salts")
        return {int(day): bytes(salt) for day, salt in rows}

    def save_salt(self, day: int, salt: bytes, *, keep_days: int = 2) -> bytes:
        """Store a new day's salt unless another process did first; returns the salt in force."""
        db = self._connect()
        db.execute("INSERT OR IGNORE INTO salts (day, salt) VALUES (?, ?)", (day, salt))
        if db.execute("DELETE FROM salts WHERE day <= ?", (day - keep_days,)).rowcount:
            self._purge.after_delete(db)  # a salt past its days must not stay readable on disk
        row = db.execute("SELECT salt FROM salts WHERE day = ?", (day,)).fetchone()
        return bytes(row[0])
