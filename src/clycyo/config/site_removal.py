"""Removing a site from the configuration store: its row, its keys, and everything that refers to
it (funnels, page goals, shields, annotations, segments, email report recipients, API tokens'
grants, shared links, dashboard logins' access), in one SQLite transaction, so a running server
refuses its keys from its next lookup on.

What refers to a site is found in the schema, not listed here: every table with a foreign key to
`sites` loses the site's rows, so a table added later goes too. Two of them need more than a
delete, because an empty grant list would mean more access, not less: a dashboard login whose
only site this was is removed with its sessions (a login without `user_sites` rows sees every
site), and an API token whose only site this was is revoked.

The removal is remembered in `removed_sites`: its id is never given to a new site (`add_site`),
and the event data is deleted after the configuration (`store/site_removal.py`), so a removal
whose data deletion did not finish is found again by its domain and finished. This module
deletes no event data.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass

from clycyo.config.store import ConfigError, ConfigStore, Site, normalize_domain
from clycyo.sqlite_threads import FOREIGN_KEYS, WAL, ThreadConnections, purge

# What the configuration's part of a removal reports, by kind of row (a table added later adds its
# own name).
KINDS = (
    "annotations",
    "api_token_sites",
    "api_tokens_revoked",
    "email_deliveries",
    "email_recipients",
    "email_spike_thresholds",
    "funnels",
    "logins_removed",
    "page_goals",
    "secret_keys",
    "segments",
    "shared_links",
    "shields",
    "user_sites",
)


@dataclass(frozen=True)
class RemovedSite:
    id: int
    domain: str


def remove(config: ConfigStore, domain: str) -> tuple[Site, dict[str, int]]:
    """Remove the site `domain` names from the configuration; (the site, rows removed by what
    they were). Raises `ConfigError` for an unknown domain."""
    name = normalize_domain(domain)
    site = config.site_by_domain(name)
    if site is None:
        raise ConfigError(f"no site {name}")
    with closing(ThreadConnections(config.path, WAL + FOREIGN_KEYS).get()) as db:
        db.execute("BEGIN IMMEDIATE")
        try:
            counts = _remove_rows(db, site.id, site.domain)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        # The key hashes and whatever else went must not stay readable in the write-ahead log.
        purge(db)
    return site, counts


def _remove_rows(db: sqlite3.Connection, site_id: int, domain: str) -> dict[str, int]:
    if db.execute("SELECT 1 FROM sites WHERE id = ?", (site_id,)).fetchone() is None:
        raise ConfigError(f"no site {domain}")  # removed by another process meanwhile
    # Every kind is reported, 0 where a table was never made (no token or link yet): a report's
    # shape does not depend on the folder's history.
    counts = dict.fromkeys(KINDS, 0)
    now = time.time()
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "user_sites" in tables:
        only_here = _only_here(db, "user_sites", "user_id", site_id)
        counts["logins_removed"] = len(only_here)
        for table, column in _referring(db, tables, "users"):
            if table != "user_sites":
                db.executemany(f"DELETE FROM {table} WHERE {column} = ?", only_here)
        db.executemany("DELETE FROM user_sites WHERE user_id = ?", only_here)
        db.executemany("DELETE FROM users WHERE id = ?", only_here)
    if "api_token_sites" in tables:
        only_here = _only_here(db, "api_token_sites", "token_id", site_id)
        counts["api_tokens_revoked"] = sum(
            db.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (now, token_id),
            ).rowcount
            for (token_id,) in only_here
        )
    for table, column in _referring(db, tables, "sites"):
        # Table and column names come from SQLite's own schema, never from input.
        deleted = db.execute(f"DELETE FROM {table} WHERE {column} = ?", (site_id,)).rowcount
        counts[table] = counts.get(table, 0) + deleted
    db.execute(
        "INSERT OR REPLACE INTO removed_sites (site_id, domain, removed_at) VALUES (?, ?, ?)",
        (site_id, domain, now),
    )
    db.execute("DELETE FROM sites WHERE id = ?", (site_id,))
    return counts


def _only_here(db: sqlite3.Connection, table: str, owner: str, site_id: int) -> list[tuple[int]]:
    """The owners (logins, tokens) in `table` whose one and only site is `site_id`."""
    rows = db.execute(
        f"SELECT {owner} FROM {table} GROUP BY {owner} HAVING count(*) = 1 AND max(site_id) = ?",
        (site_id,),
    )
    return [(int(row[0]),) for row in rows]


def _referring(db: sqlite3.Connection, tables: set[str], parent: str) -> list[tuple[str, str]]:
    """(table, column) of every foreign key to `parent`, in a stable order."""
    found = []
    for table in sorted(tables):
        for key in db.execute(f"PRAGMA foreign_key_list({table})"):
            # (id, seq, table, from, to, on_update, on_delete, match)
            if key[2] == parent:
                found.append((table, str(key[3])))
    return found


def unfinished(config: ConfigStore, domain: str) -> RemovedSite | None:
    """The latest removal of `domain` whose event data was not deleted to the end, if any."""
    with closing(ThreadConnections(config.path, WAL).get()) as db:
        row = db.execute(
            "SELECT site_id, domain FROM removed_sites WHERE domain = ?"
            " AND data_deleted_at IS NULL ORDER BY site_id DESC LIMIT 1",
            (normalize_domain(domain),),
        ).fetchone()
    return None if row is None else RemovedSite(int(row[0]), str(row[1]))


def data_deleted(config: ConfigStore, site_id: int) -> None:
    """Note that the removed site's event data is gone everywhere."""
    with closing(ThreadConnections(config.path, WAL).get()) as db:
        db.execute(
            "UPDATE removed_sites SET data_deleted_at = ? WHERE site_id = ?",
            (time.time(), site_id),
        )
