"""Who an id names: a user with all their devices, or a lone visitor (CONTRACT §6).

An id that some event or link gives as a user id is that user. Otherwise it is a visitor id: a
visitor never linked is a person of their own; a linked visitor is the person of the user it
was linked to last (a shared browser's current user). `BELONGS` is the condition that an event
row `e` (joined to the identity map `m` as the queries join it) belongs to the person, so the
timeline, erasure and the query layer agree on every event.
"""

from __future__ import annotations

from dataclasses import dataclass

from clycyo.identity import persons
from clycyo.store.base import EventStore


@dataclass(frozen=True)
class Person:
    user_id: str | None
    visitor_ids: tuple[str, ...]

    def ids(self) -> list[str]:
        return [*([self.user_id] if self.user_id else []), *self.visitor_ids]


def resolve(store: EventStore, site_id: int, person_id: str) -> Person | None:
    """The person `person_id` names on the site, or None when the site has never seen it."""
    user = _known_user(store, site_id, person_id)
    if user is None:
        rows = store.execute(
            "SELECT user_id FROM identities WHERE site_id = ? AND visitor_id = ?"
            " ORDER BY linked_at DESC, user_id DESC LIMIT 1",
            [site_id, person_id],
        )
        if rows:
            user = rows[0][0]
        elif store.execute(
            "SELECT 1 FROM events WHERE site_id = ? AND visitor_id = ? LIMIT 1",
            [site_id, person_id],
        ):
            return Person(None, (person_id,))
        else:
            return None
    visitors = store.execute(
        "SELECT DISTINCT visitor_id FROM identities WHERE site_id = ? AND user_id = ?"
        " ORDER BY visitor_id",
        [site_id, user],
    )
    return Person(user, tuple(row[0] for row in visitors))


def _known_user(store: EventStore, site_id: int, person_id: str) -> str | None:
    for table in ("identities", "events"):
        found = store.execute(
            f"SELECT 1 FROM {table} WHERE site_id = ? AND user_id = ? LIMIT 1",
            [site_id, person_id],
        )
        if found:
            return person_id
    return None


def event_rows(person: Person) -> tuple[str, list[object]]:
    """A condition on an event `e` joined to the identity map `m` (as the queries join it), and
    its parameters: the events of `person`."""
    if person.user_id is None:
        return "e.visitor_id = ? AND m.user_id IS NULL", [person.visitor_ids[0]]
    marks = ", ".join("?" for _ in person.visitor_ids) or "NULL"
    return (
        f"(e.user_id = ? OR e.visitor_id IN ({marks})) AND coalesce(m.user_id, e.user_id) = ?",
        [person.user_id, *person.visitor_ids, person.user_id],
    )


def identity_join(dialect: str) -> str:
    """How an event row `e` meets the identity map `m` (as the queries join them)."""
    return persons.JOINS[dialect]["event"]
