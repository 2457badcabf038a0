"""The answers Starlette gives on its own — no route for a path, a method the route does not
take, an exception no endpoint caught — with the security headers every dashboard page carries
(`dashboard/rendering.py`), so no answer of the server is framed, sniffed or leaks a referrer.

Bodies stay as terse as Starlette's: `{"error": …}` below `/api/`, plain text elsewhere; a 500
never carries the exception's text (the server's log does). A request whose body stopped coming
(the client left, or its time ran out and the HTTP protocol answered `408`) is no error of the
server's: it is one line in the log, without a traceback, and no answer.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from clycyo.http_protocol import READ_DEADLINE
from clycyo.web.dashboard.rendering import SECURITY_HEADERS

log = logging.getLogger(__name__)


def _answer(request: Request, status: int, text: str, headers: dict[str, str]) -> Response:
    merged = {**SECURITY_HEADERS, **headers}
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": text}, status_code=status, headers=merged)
    return PlainTextResponse(text, status_code=status, headers=merged)


async def http_error(request: Request, exc: HTTPException) -> Response:
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return _answer(request, exc.status_code, exc.detail, dict(exc.headers or {}))


async def server_error(request: Request, exc: Exception) -> Response:
    return _answer(request, 500, HTTPStatus.INTERNAL_SERVER_ERROR.phrase, {})


async def client_left(request: Request, exc: ClientDisconnect) -> None:
    # The route's pattern, not the path: a path may hold a person's id.
    route = getattr(request.scope.get("route"), "path", "(no route)")
    deadline = request.scope.get("extensions", {}).get(READ_DEADLINE)
    if deadline is not None and deadline["passed"]:
        log.info(
            "%s %s: request body not complete within %g s",
            request.method,
            route,
            deadline["timeout_s"],
        )
    else:
        log.info(
            "%s %s: the client left before its request body was complete", request.method, route
        )


HANDLERS: dict[Any, Any] = {
    HTTPException: http_error,
    ClientDisconnect: client_left,
    Exception: server_error,
}
