"""Erasing a person everywhere: the event store, the derived tables, the intake log, the
quarantine, the Stripe links, and the writer's memory (CONTRACT §6, GDPR erasure).

The narrow copies (`vitals`, `pageviews`, `engagements`, `actions`) go with the events and
visits. It must run on the writer thread (`Writer.submit`), between loads, so no batch is
half-derived from what is being erased. The events deleted are exactly those the query layer
counts for the person (`people.event_rows`); visits are deleted when they belong to the
person; the user's identity links go, a shared browser's links to other users stay. The intake
log and the quarantine are cleaned by id: events naming the user, or naming one of the
person's visitor ids at a time that visitor belonged to them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from clycyo.identity import keys, people, persons
from clycyo.identity.deriver import IdentityDeriver
from clycyo.model import Event
from clycyo.store.intake import IntakeLog
from clycyo.store.quarantine import Quarantine

log = logging.getLogger(__name__)


@dataclass
class Erasure:
    events: int = 0
    visits: int = 0
    links: int = 0
    intake_events: int = 0
    quarantined: int = 0
    stripe_links: int = 0


def erase(
    store: Any,
    intake: IntakeLog,
    quarantine: Quarantine,
    *,
    deriver: IdentityDeriver | None,
    site_id: int,
    person_id: str,
    forget_order: Callable[[int, str, str], None] | None = None,
    forget_links: Callable[[int, str | None, Sequence[str]], int] | None = None,
) -> Erasure | None:
    """Erase the person `person_id` names on the site; None when the id is unknown."""
    from clycyo.store.duckdb.store import DuckDBStore

    person = people.resolve(store, site_id, person_id)
    if person is None:
        return None
    doomed, visit_ids = _doomed(store, site_id, person)
    # Web vitals outside any visit carry their visitor's "outside" id.
    visit_ids += [keys.outside_visit_id(keys.visitor_key(site_id, v)) for v in person.visitor_ids]
    event_ids = [str(row[0]) for row in doomed]
    # The copies outside the store first: if any step fails (a full disk), the store still
    # knows the person, so that the erasure, asked again, finds them and finishes.
    intake_events = intake.rewrite(_keep(person, site_id, deriver))
    quarantined = quarantine.delete_matching(site_id, person.ids())
    mine = [v for v in person.visitor_ids if _exclusive(deriver, site_id, v, person.user_id)]
    # Left behind, a link would join the next payment of the same Stripe customer to the
    # erased user again.
    stripe_links = forget_links(site_id, person.user_id, mine) if forget_links else 0
    if isinstance(store, DuckDBStore):
        report = _delete_duckdb(store, site_id, event_ids, visit_ids, person.user_id)
    else:
        erase_rows = getattr(store, "erase_rows", None)
        if erase_rows is None:
            raise NotImplementedError(f"erasure on {type(store).__name__}")
        report = Erasure(*erase_rows(site_id, event_ids, visit_ids, person.user_id))
    if forget_order is not None:
        for _, name, order_id in doomed:
            if order_id is not None:
                forget_order(site_id, name, order_id)
    report.intake_events, report.quarantined = intake_events, quarantined
    report.stripe_links = stripe_links
    if deriver is not None:
        deriver.forget(site_id, mine, [person.user_id] if person.user_id else [])
    log.info("erasure: %s", report)
    return report


_EVENT_COLUMNS = "site_id, event_id, name, order_id, visit_id, time, visitor_id, user_id"


def _doomed(
    store: Any, site_id: int, person: people.Person
) -> tuple[list[tuple[Any, ...]], list[int]]:
    """The person's (event_id, name, order_id) and visit ids, by the queries' person rule."""
    dialect = store.dialect
    condition, values = people.event_rows(person)
    identity_map = persons.IDENTITY_MAP[dialect].replace("{site}", "?")
    doomed = store.execute(
        # `actions` may still hold a browser copy of an order the events table has dropped.
        f"WITH m AS ({identity_map}) SELECT DISTINCT e.event_id, e.name, e.order_id FROM"
        f" (SELECT {_EVENT_COLUMNS} FROM events UNION ALL SELECT {_EVENT_COLUMNS} FROM actions) e"
        f" {people.identity_join(dialect)} WHERE e.site_id = ? AND {condition}",
        [site_id, site_id, *values],
    )
    visitor_keys = [keys.visitor_key(site_id, v) for v in person.visitor_ids]
    marks = ", ".join("?" for _ in visitor_keys) or "NULL"
    visit_rows = store.execute(
        f"WITH m AS ({identity_map}) SELECT DISTINCT v.visit_id FROM visits v"
        f" {persons.JOINS[dialect]['visit']} WHERE v.site_id = ? AND v.visitor_key IN ({marks})"
        " AND (m.user_id IS NULL OR m.user_id = ?)",
        [site_id, site_id, *visitor_keys, person.user_id or ""],
    )
    return doomed, [int(row[0]) for row in visit_rows]


def _delete_duckdb(
    store: Any, site_id: int, event_ids: list[str], visit_ids: list[int], user_id: str | None
) -> Erasure:
    """Delete the rows in one DuckDB transaction."""
    report = Erasure()
    cursor = store.cursor()
    cursor.register("doomed_events", pa.table({"event_id": pa.array(event_ids, pa.string())}))
    cursor.register("doomed_visits", pa.table({"visit_id": pa.array(visit_ids, pa.uint64())}))
    try:
        cursor.execute("BEGIN TRANSACTION")
        report.events = _deleted(
            cursor.execute(
                "DELETE FROM events WHERE site_id = ? AND event_id IN"
                " (SELECT event_id FROM doomed_events)",
                [site_id],
            )
        )
        cursor.execute(
            "DELETE FROM orders WHERE site_id = ? AND event_id IN"
            " (SELECT event_id FROM doomed_events)",
            [site_id],
        ).fetchall()
        # Visits, not their rows: a visit is stored as states that cancel each other.
        report.visits = _deleted(
            cursor.execute(
                "SELECT count(DISTINCT visit_id) FROM visits WHERE site_id = ? AND visit_id IN"
                " (SELECT visit_id FROM doomed_visits)",
                [site_id],
            )
        )
        cursor.execute(
            "DELETE FROM visits WHERE site_id = ? AND visit_id IN"
            " (SELECT visit_id FROM doomed_visits)",
            [site_id],
        ).fetchall()
        for narrow in ("vitals", "pageviews", "engagements"):
            # Table names from this fixed list; their rows belong to the person's visits.
            cursor.execute(
                f"DELETE FROM {narrow} WHERE site_id = ? AND visit_id IN"
                " (SELECT visit_id FROM doomed_visits)",
                [site_id],
            ).fetchall()
        cursor.execute(
            "DELETE FROM actions WHERE site_id = ? AND event_id IN"
            " (SELECT event_id FROM doomed_events)",
            [site_id],
        ).fetchall()
        if user_id is not None:
            report.links = _deleted(
                cursor.execute(
                    "DELETE FROM identities WHERE site_id = ? AND user_id = ?",
                    [site_id, user_id],
                )
            )
        cursor.execute("COMMIT")
    except BaseException:
        cursor.execute("ROLLBACK")
        raise
    finally:
        cursor.unregister("doomed_events")
        cursor.unregister("doomed_visits")
    return report


def _deleted(cursor: object) -> int:
    rows = cursor.fetchall()  # type: ignore[attr-defined]
    return int(rows[0][0]) if rows else 0


def _exclusive(
    deriver: IdentityDeriver | None, site_id: int, visitor_id: str, user: str | None
) -> bool:
    if deriver is None:
        return True
    users = deriver.links.users_of(site_id, visitor_id)
    return not users or users == [user]


def _keep(
    person: people.Person, site_id: int, deriver: IdentityDeriver | None
) -> Callable[[Event], bool]:
    user = person.user_id
    visitors = set(person.visitor_ids)

    def keep(event: Event) -> bool:
        if event.site_id != site_id:
            return True
        if user is not None and event.user_id == user:
            return False
        if event.visitor_id not in visitors:
            return True
        if user is None or deriver is None:
            return False
        owner = deriver.links.user_at(site_id, event.visitor_id, event.time_us)
        return owner is not None and owner != user

    return keep
