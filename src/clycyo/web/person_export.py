"""`GET /api/v1/persons/{id}/export?site=DOMAIN`: everything kept about one person.

For a data-subject request (access, portability): the person as the people API resolves them
(`identity/people.py`, so export, timeline and erasure agree on who the person is), every stored
event of theirs with every column, their identity links, the Stripe ids linked to them, and the
quarantined events that name one of their ids. One JSON document; no IP address exists to export.
The store's 64-bit ids (`visit_id`) are strings, as in the timeline: beyond 2^53 a JSON number
loses digits in JavaScript.

Credentials: a secret key, an API token or a logged-in user of the site, like the people API.
A shared link (read-only, for dashboards) may not: it never sees persons.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from typing import Any

import msgspec
import pyarrow as pa
from starlette.requests import Request
from starlette.responses import JSONResponse

from clycyo.identity import people, persons
from clycyo.store.columns import COLUMNS
from clycyo.store.export import EXPORT_COLUMNS
from clycyo.web.access import ApiError, authorize_site, request_grant

MAX_EVENTS = 1_000_000
_WIDE = (pa.uint64(), pa.int64())
# Exported columns holding 64-bit integers, written as text.
_ID_COLUMNS = frozenset(c.name for c in COLUMNS if c.arrow in _WIDE) & set(EXPORT_COLUMNS)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value


def _column(name: str, value: Any) -> Any:
    if name in _ID_COLUMNS and value is not None:
        return str(value)
    return _plain(value)


def collect(runtime: Any, site_id: int, person_id: str) -> dict[str, Any] | None:
    """The export document, or None when the site has never seen the id (run in a thread)."""
    runtime.writer.catch_up(5.0)
    store = runtime.store
    person = people.resolve(store, site_id, person_id)
    if person is None:
        return None
    condition, values = people.event_rows(person)
    identity_map = persons.IDENTITY_MAP[store.dialect].replace("{site}", "?")
    columns = ", ".join(f"e.{name}" for name in EXPORT_COLUMNS)
    rows = store.execute(
        f"WITH m AS ({identity_map}) SELECT {columns} FROM events e"
        f" {people.identity_join(store.dialect)}"
        f" WHERE e.site_id = ? AND {condition} ORDER BY e.time, e.event_id LIMIT ?",
        [site_id, site_id, *values, MAX_EVENTS],
    )
    ids = person.ids()
    marks = ", ".join("?" for _ in ids)
    links = store.execute(
        "SELECT DISTINCT visitor_id, user_id, linked_at FROM identities"
        f" WHERE site_id = ? AND (user_id IN ({marks}) OR visitor_id IN ({marks}))"
        " ORDER BY linked_at, visitor_id",
        [site_id, *ids, *ids],
    )
    quarantined = runtime.quarantine.matching(site_id, ids)
    return {
        "person": {"user_id": person.user_id, "visitor_ids": list(person.visitor_ids)},
        "events": [
            {name: _column(name, value) for name, value in zip(EXPORT_COLUMNS, row, strict=True)}
            for row in rows
        ],
        "identities": [
            {"visitor_id": v, "user_id": u, "linked_at": _plain(at)} for v, u, at in links
        ],
        "stripe_ids": runtime.stripe_links.stripe_ids_of(site_id, person.user_id, ids),
        "quarantined": [
            {
                "received_at": _plain(dt.datetime.fromtimestamp(e.received_us / 1e6, dt.UTC)),
                "error": e.error,
                "payload": e.payload,
                "observed": None if e.observed is None else msgspec.to_builtins(e.observed),
            }
            for e in quarantined
        ],
        "meta": {
            "truncated": len(rows) >= MAX_EVENTS,
            "exported_at": _plain(dt.datetime.now(dt.UTC)),
        },
    }


async def export_person(request: Request) -> JSONResponse:
    runtime = request.app.state.runtime
    try:
        site = authorize_site(request)
        if request_grant(request).kind == "shared_link":
            raise ApiError(403, "authorization: a shared link cannot read persons")
    except ApiError as exc:
        return exc.response()
    person_id = request.path_params["id"]
    document = await asyncio.to_thread(collect, runtime, site.id, person_id)
    if document is None:
        return JSONResponse({"error": f"id: no person {person_id!r} on {site.domain}"}, 404)
    return JSONResponse(document)
