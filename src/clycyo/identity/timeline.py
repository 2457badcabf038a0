"""A person's timeline: their browser and server events together, in time order (CONTRACT §6).

Events are those the query layer counts for the person (`people.event_rows`), each with its
origin, page, properties, money and the acquisition of the visit it belongs to. Only the most
recent `limit` events are returned (`meta.truncated` says so); `history` adds up all of them
(counts, visits, the first visit and the last one not direct). Read-only.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from clycyo.identity import people, persons
from clycyo.identity.keys import is_visit
from clycyo.query import dialect
from clycyo.query.builder import superseded
from clycyo.store.base import EventStore

MAX_EVENTS = 5_000
_COLUMNS = (
    "time",
    "type",
    "name",
    "origin",
    "event_id",
    "visitor_id",
    "user_id",
    "session_id",
    "url",
    "page",
    "title",
    "referrer",
    "props",
    "revenue_amount",
    "revenue_currency",
    "order_id",
    "source",
    "channel",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "country",
    "device",
    "browser",
    "os",
    "visit_id",
)


def _iso(value: dt.datetime) -> str:
    return value.isoformat().replace("+00:00", "") + "Z"


def _event(row: tuple[Any, ...]) -> dict[str, Any]:
    raw = dict(zip(_COLUMNS, row, strict=True))
    event: dict[str, Any] = {"timestamp": _iso(raw.pop("time"))}
    amount, currency = raw.pop("revenue_amount"), raw.pop("revenue_currency")
    visit_id = raw.pop("visit_id")
    event.update({k: v for k, v in raw.items() if v is not None})
    if amount is not None:
        text = (
            format(Decimal(amount).normalize(), "f") if isinstance(amount, Decimal) else str(amount)
        )
        event["revenue"] = {"amount": text, "currency": currency}
    if visit_id is not None and is_visit(int(visit_id)):
        event["visit_id"] = str(visit_id)
    return event


def timeline(
    store: EventStore, site_id: int, person_id: str, limit: int = 1_000
) -> dict[str, Any] | None:
    """The timeline `GET /api/v1/persons/{id}/timeline` answers, or None for an unknown id."""
    person = people.resolve(store, site_id, person_id)
    if person is None:
        return None
    condition, values = people.event_rows(person)
    limit = max(1, min(limit, MAX_EVENTS))
    identity_map = persons.IDENTITY_MAP[store.dialect].replace("{site}", "?")
    columns = ", ".join(f"e.{c}" for c in _COLUMNS)
    # ClickHouse keeps an order's superseded browser copy (DuckDB deletes it): leave it out.
    kept = "".join(f" AND {c}" for c in superseded(store.dialect, "events", "?"))
    rows = store.execute(
        f"WITH m AS ({identity_map}) SELECT {columns} FROM events e"
        f" {people.identity_join(store.dialect)} WHERE e.site_id = ? AND {condition}{kept}"
        " ORDER BY e.time DESC, e.event_id DESC LIMIT ?",
        [site_id, site_id, *values, *([site_id] if kept else []), limit + 1],
    )
    truncated = len(rows) > limit
    events = [_event(row) for row in reversed(rows[:limit])]
    return {
        "person": {"user_id": person.user_id, "visitor_ids": list(person.visitor_ids)},
        "events": events,
        "meta": {"truncated": truncated, "limit": limit},
    }


def history(store: EventStore, site_id: int, person_id: str) -> dict[str, Any] | None:
    """What all of a person's events add up to, however many the timeline leaves out: how many
    there are by origin, the first and last seen, their visits, and the events that opened the
    first visit and the last visit not direct (each a visit's acquisition); None for an unknown
    id. A visit opens with its first event that carries a channel, as the timeline marks it."""
    person = people.resolve(store, site_id, person_id)
    if person is None:
        return None
    condition, values = people.event_rows(person)
    identity_map = persons.IDENTITY_MAP[store.dialect].replace("{site}", "?")
    kept = "".join(f" AND {c}" for c in superseded(store.dialect, "events", "?"))
    named = ", ".join(f"e.{c} AS {c}" for c in _COLUMNS)
    plain = ", ".join(_COLUMNS)
    in_visit = dialect.of(store.dialect).in_visit("visit_id")
    mine = (
        f"WITH m AS ({identity_map}), mine AS (SELECT {named} FROM events e"
        f" {people.identity_join(store.dialect)} WHERE e.site_id = ? AND {condition}{kept}),"
        f" starts AS (SELECT {plain} FROM (SELECT {plain}, row_number() OVER (PARTITION BY"
        " visit_id ORDER BY time, event_id) AS nth FROM mine WHERE channel IS NOT NULL"
        f" AND {in_visit}) WHERE nth = 1)"
    )
    params = [site_id, site_id, *values, *([site_id] if kept else [])]
    ((events, browser, server, first_seen, last_seen, visits),) = store.execute(
        f"{mine} SELECT (SELECT count(*) FROM mine),"
        " (SELECT count(*) FROM mine WHERE origin = 'browser'),"
        " (SELECT count(*) FROM mine WHERE origin = 'server'),"
        " (SELECT min(time) FROM mine), (SELECT max(time) FROM mine),"
        " (SELECT count(*) FROM starts)",
        params,
    )
    first = store.execute(
        f"{mine} SELECT {plain} FROM starts ORDER BY time, event_id LIMIT 1", params
    )
    last = store.execute(
        f"{mine} SELECT {plain} FROM starts WHERE channel <> 'Direct'"
        " ORDER BY time DESC, event_id DESC LIMIT 1",
        params,
    )
    return {
        "events": int(events),
        "browser_events": int(browser),
        "server_events": int(server),
        "first_seen": _iso(first_seen) if events else None,
        "last_seen": _iso(last_seen) if events else None,
        "visits": int(visits),
        "first_visit": _event(first[0]) if first else None,
        "last_touch_visit": _event((last or first)[0]) if first else None,
    }
