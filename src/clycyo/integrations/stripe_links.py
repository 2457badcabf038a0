"""What Clycyo must remember between Stripe deliveries, in SQLite (WAL mode) in the data folder.

- Which person a Stripe object belongs to: a customer (`cus_…`), subscription (`sub_…`) or payment
  intent (`pi_…`) is linked to the user id and visitor id that a Checkout Session or metadata
  named, so a later renewal or refund that carries only the object's id joins that person. The
  links are personal data: `forget_person` erases them with the person's events.
- How much of each charge's refunds has been counted, for API versions whose `charge.refunded`
  no longer lists the refunds and only gives the cumulative `amount_refunded`.
- Which invoice each payment intent paid, for API versions whose charges no longer name their
  invoice (2025 on): a refund then names it from its payment intent. No person in it.

Every write commits before it returns (synchronous=FULL): the webhook answers 200 only after,
and Stripe does not redeliver what it was told succeeded. This module does no HTTP and no
event translation.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from clycyo.sqlite_threads import WAL, PendingPurge

FILE_NAME = "stripe.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS stripe_people (
    site_id INTEGER NOT NULL,
    stripe_id TEXT NOT NULL,
    user_id TEXT,
    visitor_id TEXT,
    updated_at REAL NOT NULL,
    PRIMARY KEY (site_id, stripe_id)
);
CREATE INDEX IF NOT EXISTS stripe_people_user ON stripe_people (site_id, user_id);
CREATE INDEX IF NOT EXISTS stripe_people_visitor ON stripe_people (site_id, visitor_id);
CREATE TABLE IF NOT EXISTS stripe_refunds (
    site_id INTEGER NOT NULL,
    refund_key TEXT NOT NULL,
    charge_id TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    PRIMARY KEY (site_id, refund_key)
);
CREATE INDEX IF NOT EXISTS stripe_refunds_charge ON stripe_refunds (site_id, charge_id);
CREATE TABLE IF NOT EXISTS stripe_invoices (
    site_id INTEGER NOT NULL,
    payment_intent TEXT NOT NULL,
    invoice TEXT NOT NULL,
    PRIMARY KEY (site_id, payment_intent)
);
"""


@dataclass(frozen=True)
class Person:
    user_id: str | None = None
    visitor_id: str | None = None

    def __bool__(self) -> bool:
        return bool(self.user_id or self.visitor_id)


class StripeLinks:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # One connection behind a lock: webhooks are few, and transactions must not interleave.
        self._db = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
        for pragma in WAL:
            self._db.execute(f"PRAGMA {pragma}")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()
        self._purge = PendingPurge()  # erased links may still be in the write-ahead log

    @classmethod
    def in_folder(cls, data_dir: Path) -> StripeLinks:
        return cls(data_dir / FILE_NAME)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # People

    def remember(self, site_id: int, stripe_ids: Iterable[str | None], person: Person) -> None:
        """Link each Stripe object to the person; a known id keeps what the new link lacks."""
        rows = [
            (site_id, i, person.user_id, person.visitor_id, time.time()) for i in stripe_ids if i
        ]
        if not rows or not person:
            return
        with self._lock:
            self._db.executemany(
                "INSERT INTO stripe_people (site_id, stripe_id, user_id, visitor_id, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (site_id, stripe_id) DO UPDATE SET"
                " user_id = COALESCE(excluded.user_id, user_id),"
                " visitor_id = COALESCE(excluded.visitor_id, visitor_id),"
                " updated_at = excluded.updated_at",
                rows,
            )
            self._purge.retry(self._db)

    def person(self, site_id: int, stripe_ids: Sequence[str | None]) -> Person:
        """The person linked to the first of `stripe_ids` that has a link (or an empty one)."""
        with self._lock:
            for stripe_id in stripe_ids:
                if not stripe_id:
                    continue
                row = self._db.execute(
                    "SELECT user_id, visitor_id FROM stripe_people"
                    " WHERE site_id = ? AND stripe_id = ?",
                    (site_id, stripe_id),
                ).fetchone()
                if row is not None:
                    return Person(row[0], row[1])
        return Person()

    def stripe_ids_of(
        self, site_id: int, user_id: str | None, visitor_ids: Sequence[str]
    ) -> list[str]:
        """The Stripe ids (customers, sessions) linked to this person, for a data export."""
        with self._lock:
            rows = self._db.execute(
                "SELECT stripe_id FROM stripe_people WHERE site_id = ? AND (user_id = ?"
                f" OR visitor_id IN ({', '.join('?' for _ in visitor_ids) or 'NULL'}))"
                " ORDER BY stripe_id",
                (site_id, user_id, *visitor_ids),
            ).fetchall()
        return [str(row[0]) for row in rows]

    def forget_person(self, site_id: int, user_id: str | None, visitor_ids: Sequence[str]) -> int:
        """Erase every link to this person (a user id and/or visitor ids); how many went.

        A visitor id's link to another user stays: on a shared browser that link is theirs."""
        with self._lock:
            deleted = 0
            if user_id:
                deleted += self._db.execute(
                    "DELETE FROM stripe_people WHERE site_id = ? AND user_id = ?",
                    (site_id, user_id),
                ).rowcount
            for visitor_id in visitor_ids:
                deleted += self._db.execute(
                    "DELETE FROM stripe_people WHERE site_id = ? AND visitor_id = ?"
                    " AND user_id IS NULL",
                    (site_id, visitor_id),
                ).rowcount
            if deleted:
                self._purge.after_delete(self._db)
            return deleted

    def forget_site(self, site_id: int) -> int:
        """Erase everything kept for a site (its removal); how many rows went."""
        with self._lock:
            deleted = sum(
                self._db.execute(f"DELETE FROM {table} WHERE site_id = ?", (site_id,)).rowcount
                for table in ("stripe_people", "stripe_refunds", "stripe_invoices")
            )
            if deleted:
                self._purge.after_delete(self._db)
            return deleted

    # Invoices

    def remember_invoice(
        self, site_id: int, invoice: str, payment_intents: Iterable[str | None]
    ) -> None:
        """Note that the payment intents belong to the invoice (a payment intent pays one)."""
        rows = [(site_id, intent, invoice) for intent in payment_intents if intent]
        if not rows:
            return
        with self._lock:
            self._db.executemany(
                "INSERT INTO stripe_invoices (site_id, payment_intent, invoice) VALUES (?, ?, ?)"
                " ON CONFLICT (site_id, payment_intent) DO UPDATE SET invoice = excluded.invoice",
                rows,
            )

    def invoice_of(self, site_id: int, payment_intent: str | None) -> str | None:
        """The invoice the payment intent paid, if a delivery named it."""
        if not payment_intent:
            return None
        with self._lock:
            row = self._db.execute(
                "SELECT invoice FROM stripe_invoices WHERE site_id = ? AND payment_intent = ?",
                (site_id, payment_intent),
            ).fetchone()
        return None if row is None else str(row[0])

    # Refunds

    def record_refunds(
        self, site_id: int, charge_id: str, refunds: Iterable[tuple[str, int]]
    ) -> None:
        """Note refunds known by id, so a later cumulative-only delivery does not count them."""
        with self._lock:
            self._db.executemany(
                "INSERT OR IGNORE INTO stripe_refunds"
                " (site_id, refund_key, charge_id, amount_minor) VALUES (?, ?, ?, ?)",
                [(site_id, key, charge_id, amount) for key, amount in refunds],
            )

    def refund_delta(
        self, site_id: int, charge_id: str, refunded_minor: int
    ) -> tuple[str, int] | None:
        """(key, amount) of the refund that brings the charge to `refunded_minor` in total.

        The key names the total reached, so a redelivery gets the same key and amount back (and
        its event is then a duplicate); None when that total was counted already.
        """
        key = f"{charge_id}@{refunded_minor}"
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    "SELECT amount_minor FROM stripe_refunds WHERE site_id = ? AND refund_key = ?",
                    (site_id, key),
                ).fetchone()
                if row is not None:
                    return key, int(row[0])
                (counted,) = self._db.execute(
                    "SELECT COALESCE(SUM(amount_minor), 0) FROM stripe_refunds"
                    " WHERE site_id = ? AND charge_id = ?",
                    (site_id, charge_id),
                ).fetchone()
                delta = refunded_minor - int(counted)
                if delta <= 0:
                    return None
                self._db.execute(
                    "INSERT INTO stripe_refunds (site_id, refund_key, charge_id, amount_minor)"
                    " VALUES (?, ?, ?, ?)",
                    (site_id, key, charge_id, delta),
                )
                return key, delta
            finally:
                self._db.execute("COMMIT")
