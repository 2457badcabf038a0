"""A site's email reports in the configuration store: who gets them, the traffic-spike
threshold, and what was sent.

Three lists per site, as Plausible's email reports: `weekly` and `monthly` reports and `spike`
notifications, each of at most `MAX_RECIPIENTS` addresses (checked by `check_address`, kept with
the domain in lower case). A recipient keeps the time it was added: a report is due to it only
for a period whose sending time came after that (`mail/scheduler.py`), so an address added on a
Wednesday gets next Monday's report, not last week's at once. The spike threshold is the number
of current visitors (the last 5 minutes, as the Realtime page counts them) at which a
notification is sent. `email_deliveries` remembers each message sent, by site, kind, period and
address, so a restart neither sends one twice nor skips one. The tables are kept as page goals'
are (`config/site_rows.py`) and go with their site (`config/site_removal.py`). This module sends
nothing.
"""

from __future__ import annotations

import builtins
import re
import time
from dataclasses import dataclass
from typing import Any

from clycyo.config.site_rows import SiteRows

SCHEMA = """
CREATE TABLE IF NOT EXISTS email_recipients (
    id INTEGER PRIMARY KEY,
    site_id INTEGER NOT NULL REFERENCES sites(id),
    list TEXT NOT NULL,
    address TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (site_id, list, address)
);
CREATE TABLE IF NOT EXISTS email_spike_thresholds (
    site_id INTEGER PRIMARY KEY REFERENCES sites(id),
    visitors INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS email_deliveries (
    site_id INTEGER NOT NULL REFERENCES sites(id),
    kind TEXT NOT NULL,
    period TEXT NOT NULL,
    address TEXT NOT NULL,
    sent_at REAL NOT NULL,
    PRIMARY KEY (site_id, kind, period, address)
);
"""
LISTS = ("weekly", "monthly", "spike")
MAX_RECIPIENTS = 20  # per list and site
MAX_ADDRESS_CHARS = 254  # RFC 5321's path limit, less the brackets
MAX_THRESHOLD = 1_000_000
KEEP_DELIVERIES_S = 400 * 86400  # longer than any period a report is due for
# An address as SMTP carries it without extensions: printable ASCII, no spaces, quotes,
# brackets or separators (so it cannot break a header), and a domain of dotted labels.
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}")
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


class RecipientError(ValueError):
    """An address or threshold that cannot be saved (the message says why)."""


@dataclass(frozen=True)
class Recipient:
    id: int
    site_id: int
    list: str
    address: str
    created_at: float


def check_address(text: str) -> str:
    """The address as it is kept (the domain in lower case), or `RecipientError`."""
    address = text.strip()
    if len(address) > MAX_ADDRESS_CHARS:
        raise RecipientError(f"address: at most {MAX_ADDRESS_CHARS} characters")
    local, at, domain = address.rpartition("@")
    labels = domain.split(".")
    if (
        not at
        or _LOCAL.fullmatch(local) is None
        or local.startswith(".")
        or local.endswith(".")
        or ".." in local
        or len(labels) < 2
        or not all(_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise RecipientError(f"address: {text!r} is not an email address (such as ann@example.com)")
    return f"{local}@{domain.lower()}"


def check_list(name: str) -> str:
    if name not in LISTS:
        raise RecipientError(f"no list {name!r}: one of {', '.join(LISTS)}")
    return name


def check_threshold(text: str | int) -> int:
    value = str(text).strip()
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_THRESHOLD:
        raise RecipientError(
            f"threshold: {text!r} is not a number of current visitors from 1 to {MAX_THRESHOLD}"
        )
    return int(value)


class EmailReportStore(SiteRows):
    """Every site's email report recipients, spike thresholds and deliveries."""

    TABLE = "email_recipients"
    SCHEMA = SCHEMA
    COLUMNS = "id, site_id, list, address, created_at"

    def add(
        self, site_id: int, list_name: str, address: str, *, added_at: float | None = None
    ) -> Recipient:
        """Put `address` on the list, as of `added_at` (epoch seconds; default now)."""
        list_name = check_list(list_name)
        address = check_address(address)
        now = time.time() if added_at is None else added_at
        with self._adding() as db:
            saved = [row[3] for row in self._rows(db, site_id) if row[2] == list_name]
            if address in saved:
                raise RecipientError(f"{list_name}: {address} is on the list already")
            if len(saved) >= MAX_RECIPIENTS:
                raise RecipientError(f"a list has at most {MAX_RECIPIENTS} addresses")
            cursor = db.execute(
                "INSERT INTO email_recipients (site_id, list, address, created_at)"
                " VALUES (?, ?, ?, ?)",
                (site_id, list_name, address, now),
            )
        return Recipient(int(cursor.lastrowid or 0), site_id, list_name, address, now)

    def list(self, site_id: int, list_name: str | None = None) -> builtins.list[Recipient]:
        """A site's recipients (of one list), oldest first."""
        rows = [_recipient(row) for row in self._read(site_id)]
        return [r for r in rows if list_name is None or r.list == list_name]

    def site_ids(self) -> builtins.list[int]:
        """The sites with a recipient on any list."""
        return sorted({r.site_id for r in map(_recipient, self._read(None))})

    def threshold(self, site_id: int) -> int | None:
        """The site's spike threshold in current visitors, None when it has none."""
        with self._db() as db:
            if not self._made(db):
                return None
            row = db.execute(
                "SELECT visitors FROM email_spike_thresholds WHERE site_id = ?", (site_id,)
            ).fetchone()
        return None if row is None else int(row[0])

    def set_threshold(self, site_id: int, visitors: str | int) -> int:
        value = check_threshold(visitors)
        with self._adding() as db:
            db.execute(
                "INSERT INTO email_spike_thresholds (site_id, visitors) VALUES (?, ?)"
                " ON CONFLICT (site_id) DO UPDATE SET visitors = excluded.visitors",
                (site_id, value),
            )
        return value

    def clear_threshold(self, site_id: int) -> bool:
        """Take the site's spike threshold away (no more spike notices); False when it had none."""
        with self._db() as db:
            if not self._made(db):
                return False
            gone = db.execute("DELETE FROM email_spike_thresholds WHERE site_id = ?", (site_id,))
            return gone.rowcount > 0

    def delivered(self, site_id: int, kind: str, period: str) -> set[str]:
        """The addresses a message of `kind` for `period` went to."""
        with self._db() as db:
            if not self._made(db):
                return set()
            rows = db.execute(
                "SELECT address FROM email_deliveries WHERE site_id = ? AND kind = ?"
                " AND period = ?",
                (site_id, kind, period),
            )
            return {str(row[0]) for row in rows}

    def last_sent(self, site_id: int, kind: str) -> dict[str, float]:
        """When a message of `kind` last went to each address (epoch seconds)."""
        with self._db() as db:
            if not self._made(db):
                return {}
            rows = db.execute(
                "SELECT address, max(sent_at) FROM email_deliveries"
                " WHERE site_id = ? AND kind = ? GROUP BY address",
                (site_id, kind),
            )
            return {str(address): float(sent_at) for address, sent_at in rows}

    def record(self, site_id: int, kind: str, period: str, address: str, sent_at: float) -> None:
        """Note that the message went (and forget deliveries too old to matter)."""
        with self._adding() as db:
            db.execute(
                "INSERT OR REPLACE INTO email_deliveries (site_id, kind, period, address,"
                " sent_at) VALUES (?, ?, ?, ?, ?)",
                (site_id, kind, period, address, sent_at),
            )
            db.execute(
                "DELETE FROM email_deliveries WHERE site_id = ? AND kind = ? AND sent_at < ?",
                (site_id, kind, sent_at - KEEP_DELIVERIES_S),
            )


def _recipient(row: tuple[Any, ...]) -> Recipient:
    return Recipient(int(row[0]), int(row[1]), str(row[2]), str(row[3]), float(row[4]))
