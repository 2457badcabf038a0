"""The query endpoints (CONTRACT §5): `POST /api/v1/query` and the reports beside it.

`POST /api/v1/query`, `/api/v1/query/funnel`, `/api/v1/query/retention`, `/api/v1/query/journeys`
take a JSON body naming the site; `GET /api/v1/realtime?site=` takes the site in the URL. Each
checks the credentials with `authorize_site`, runs the report off the event loop (after the
events acknowledged so far are stored) and answers JSON; a bad body is a 400 naming the field.
`POST /api/admin/query` is the same query for tools holding the admin token (`clycyo query` on
the server's machine), which no site's read endpoint accepts. The work itself is
`clycyo.query.api`'s; nothing here builds SQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from clycyo.config.store import Site
from clycyo.query import api
from clycyo.query.errors import QueryError, UnknownSite
from clycyo.web.access import ApiError, authorize_site
from clycyo.web.admin_api import is_admin
from clycyo.web.json_body import BodyError, json_object

MAX_BODY_BYTES = 256 * 1024


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = json_object(await request.body(), MAX_BODY_BYTES)
    except BodyError as exc:
        raise QueryError(exc.field, exc.reason) from None
    if not isinstance(body.get("site"), str) or not body["site"]:
        raise QueryError("site", "required")
    return body


async def _answer(work: Callable[[], dict[str, Any]]) -> JSONResponse:
    try:
        return JSONResponse(await asyncio.to_thread(work))
    except QueryError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)


def _report(run: Callable[[Any, Site, dict[str, Any]], dict[str, Any]]) -> Any:
    async def endpoint(request: Request) -> JSONResponse:
        try:
            body = await _body(request)
            site = authorize_site(request, body["site"])
        except ApiError as exc:
            return exc.response()
        except QueryError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        runtime = request.app.state.runtime
        return await _answer(lambda: run(runtime, site, body))

    return endpoint


def _query(runtime: Any, site: Site, body: dict[str, Any]) -> dict[str, Any]:
    return api.run(runtime, {**body, "site": site.domain})


query = _report(_query)


async def admin_query(request: Request) -> JSONResponse:
    if not is_admin(request):
        return JSONResponse({"error": "authorization: the admin token is required"}, 401)
    try:
        body = await _body(request)
    except QueryError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    runtime = request.app.state.runtime
    try:
        return JSONResponse(await asyncio.to_thread(api.run, runtime, body))
    except UnknownSite as exc:
        # In the words of the other admin endpoints (and of `clycyo export` and `import`).
        return JSONResponse({"error": f"no site {exc.domain}"}, status_code=404)
    except QueryError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)


funnel = _report(api.funnel)
retention = _report(api.cohorts)
journeys = _report(api.paths)


async def realtime(request: Request) -> JSONResponse:
    try:
        site = authorize_site(request)
    except ApiError as exc:
        return exc.response()
    runtime = request.app.state.runtime
    return await _answer(lambda: api.now_on_site(runtime, site))
