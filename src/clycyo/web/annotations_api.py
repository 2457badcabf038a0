"""The annotations API: `POST /api/v1/annotations`, `GET /api/v1/annotations?site=[&from=&to=]`
and `DELETE /api/v1/annotations/{id}`, so a deploy job marks each release on the chart with one
request.

Credentials are the query API's (a site's secret key, an API token of the site, or a dashboard
session with its CSRF header), checked by `authorize_site`; adding and deleting need
`Reach.ANNOTATIONS`, which a shared link never has. A post names its site in the body
(`{"site", "text", "time"?}`) and is answered `201` with the row; `time` (default now), `from`
and `to` are a day (its start in the site's time zone; `to`'s whole day is included) or an
RFC 3339 time. What is refused is a `400` naming the field. A delete finds the row by its id
alone: one of a site the credentials cannot reach is no annotation to them (`404`), as one that
never was. What a row holds and how it is checked is `config/annotations.py`'s.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from clycyo.config.annotations import AnnotationError, AnnotationStore, as_row, parse_time
from clycyo.config.site_rows import MAX_ID
from clycyo.config.store import Site
from clycyo.web import sessions
from clycyo.web.access import (
    ApiError,
    Grant,
    authorize_site,
    refusal,
    request_grant,
    request_reach,
)
from clycyo.web.json_body import BodyError, json_object

MAX_BODY_BYTES = 16 * 1024


def _store(request: Request) -> AnnotationStore:
    return AnnotationStore(request.app.state.runtime.config)


def _made_by(request: Request) -> str:
    """A login's email for a dashboard session, `api` for a key or a token."""
    if request.headers.get("authorization", "").startswith("Bearer "):
        return "api"
    session = sessions.current_session(request)
    return session.email if session is not None else "api"


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = json_object(await request.body(), MAX_BODY_BYTES)
    except BodyError as exc:
        raise AnnotationError(str(exc)) from None
    for field in ("site", "text"):
        if not isinstance(body.get(field), str) or not body[field]:
            raise AnnotationError(f"{field}: required, a string")
    if body.get("time") is not None and not isinstance(body["time"], str):
        raise AnnotationError("time: a string (2026-11-20 or 2026-11-20T14:30:00Z)")
    return body


def _refused(exc: Exception) -> JSONResponse:
    return JSONResponse({"error": str(exc)}, status_code=400)


def _credentials(request: Request) -> Grant:
    """The request's credentials, if they may add and delete annotations; raises ApiError."""
    grant = request_grant(request)
    reach = request_reach(request)
    if not grant.reaches(reach):
        raise ApiError(403, refusal(grant.kind, reach))
    return grant


async def add(request: Request) -> Response:
    try:
        _credentials(request)  # before the body is read: who may not post learns nothing more
        body = await _body(request)
        site: Site = authorize_site(request, body["site"])
        at = None if body.get("time") is None else parse_time(body["time"], site.timezone)
        made = _store(request).add(site.id, body["text"], at=at, created_by=_made_by(request))
    except ApiError as exc:
        return exc.response()
    except AnnotationError as exc:
        return _refused(exc)
    return JSONResponse(as_row(made, site.domain), status_code=201)


def _bound(given: str | None, site: Site, field: str, *, end: bool = False) -> float | None:
    if not given:
        return None
    start = parse_time(given, site.timezone, field)
    if not end or len(given.strip()) != 10:
        return start
    # A day alone as `to` is included whole: the range ends where the next day begins there
    # (23 or 25 hours later the days the clocks change).
    following = dt.date.fromisoformat(given.strip()) + dt.timedelta(days=1)
    return parse_time(following.isoformat(), site.timezone, field)


async def listed(request: Request) -> Response:
    try:
        site: Site = authorize_site(request)
        params = request.query_params
        start = _bound(params.get("from"), site, "from")
        end = _bound(params.get("to"), site, "to", end=True)
    except ApiError as exc:
        return exc.response()
    except AnnotationError as exc:
        return _refused(exc)
    rows = _store(request).between(site.id, start, end)
    return JSONResponse({"annotations": [as_row(a, site.domain) for a in rows]})


async def delete(request: Request) -> Response:
    given = request.path_params["id"]
    try:
        grant = _credentials(request)
    except ApiError as exc:
        return exc.response()
    row_id = int(given) if given.isascii() and given.isdigit() and len(given) < 20 else 0
    store = _store(request)
    found = store.find(row_id) if 0 < row_id <= MAX_ID else None
    site = None if found is None else request.app.state.runtime.directory.by_id(found.site_id)
    if found is None or site is None or not grant.may_read(found.site_id):
        return JSONResponse({"error": f"id: no annotation {given!r}"}, status_code=404)
    store.delete(found.site_id, found.id)
    return JSONResponse({"deleted": found.id, "site": site.domain})
