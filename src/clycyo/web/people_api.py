"""The people endpoints (CONTRACT §6): the list of persons, a person's timeline, and erasing a
person everywhere.

`GET /api/v1/persons?site=[&limit=&cursor=&sort=&customers=&who=&q=]` answers a page of persons
(`identity/listing.py`; what the dashboard's People page shows) and the cursor of the next page.
`GET /api/v1/persons/{id}/timeline?site=[&limit=]` answers the merged timeline of browser and
server events (the most recent `limit`, 1 to `MAX_EVENTS`); `DELETE /api/v1/persons/{id}?site=`
erases the person on the writer thread and answers `{"deleted": n}` (events deleted) once the
erasure is done everywhere, or `503` with `Retry-After` when it could not finish (a full disk):
the same request then finishes it. All check credentials with `authorize_site`; an id the site
has never seen is a 404. An id may hold a `/`, sent as `%2F` (`raw_path.py`). No SQL here.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from clycyo.identity import listing
from clycyo.identity.timeline import MAX_EVENTS
from clycyo.query import api
from clycyo.query.errors import QueryError
from clycyo.web.access import ApiError, authorize_site

log = logging.getLogger(__name__)

ERASE_TIMEOUT_S = 120.0


def _row(person: dict[str, Any]) -> dict[str, Any]:
    amount = format(Decimal(person["revenue"]).normalize(), "f")
    return {
        **{k: v for k, v in person.items() if k not in ("revenue", "currency")},
        "revenue": {"amount": amount, "currency": person["currency"]},
    }


async def persons(request: Request) -> JSONResponse:
    try:
        site = authorize_site(request)
        wanted = listing.from_params(request.query_params)
    except ApiError as exc:
        return exc.response()
    except QueryError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    runtime = request.app.state.runtime
    page = await asyncio.to_thread(api.list_persons, runtime, site, wanted)
    return JSONResponse(
        {"persons": [_row(p) for p in page.persons], "next_cursor": page.next_cursor}
    )


async def timeline(request: Request) -> JSONResponse:
    try:
        site = authorize_site(request)
        limit = int(request.query_params.get("limit", "1000"))
    except ApiError as exc:
        return exc.response()
    except ValueError:
        return JSONResponse({"error": "limit: expected an integer"}, status_code=400)
    if not 1 <= limit <= MAX_EVENTS:
        return JSONResponse({"error": f"limit: expected 1 to {MAX_EVENTS}"}, status_code=400)
    person_id = request.path_params["id"]
    runtime = request.app.state.runtime
    found = await asyncio.to_thread(api.timeline, runtime, site, person_id, limit)
    if found is None:
        return JSONResponse({"error": f"id: no person {person_id!r} on this site"}, 404)
    return JSONResponse(found)


async def erase(request: Request) -> JSONResponse:
    try:
        site = authorize_site(request)
    except ApiError as exc:
        return exc.response()
    person_id = request.path_params["id"]
    runtime = request.app.state.runtime
    future = await asyncio.to_thread(api.erase_person, runtime, site, person_id)
    try:
        report = await asyncio.wait_for(asyncio.wrap_future(future), ERASE_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        # A full disk, or a writer busy for long: asked again, the erasure finds what is left.
        reason = "it took too long" if isinstance(exc, TimeoutError) else exc.strerror or str(exc)
        log.warning("erasure of a person on site %s not finished: %s", site.id, reason)
        return JSONResponse(
            {"error": f"erasure not finished ({reason}); send the same request again later"},
            status_code=503,
            headers={"Retry-After": "30"},
        )
    if report is None:
        return JSONResponse({"error": f"id: no person {person_id!r} on this site"}, 404)
    return JSONResponse(
        {
            "deleted": report.events,
            "visits": report.visits,
            "links": report.links,
            "quarantined": report.quarantined,
            "stripe_links": report.stripe_links,
        }
    )
