"""The people endpoints (CONTRACT §6): a person's timeline, and erasing a person everywhere.

`GET /api/v1/persons/{id}/timeline?site=` answers the merged timeline of browser and server
events; `DELETE /api/v1/persons/{id}?site=` erases the person on the writer thread and answers
`{"deleted": n}` (events deleted) once the erasure is done everywhere. Both check credentials
with `authorize_site`; an id the site has never seen is a 404. No SQL here.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse

from clycyo.query import api
from clycyo.web.access import ApiError, authorize_site

ERASE_TIMEOUT_S = 120.0


async def timeline(request: Request) -> JSONResponse:
    try:
        site = authorize_site(request)
        limit = int(request.query_params.get("limit", "1000"))
    except ApiError as exc:
        return exc.response()
    except ValueError:
        return JSONResponse({"error": "limit: expected an integer"}, status_code=400)
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
    report = await asyncio.wait_for(asyncio.wrap_future(future), ERASE_TIMEOUT_S)
    if report is None:
        return JSONResponse({"error": f"id: no person {person_id!r} on this site"}, 404)
    return JSONResponse(
        {
            "deleted": report.events,
            "visits": report.visits,
            "links": report.links,
            "quarantined": report.quarantined,
        }
    )
