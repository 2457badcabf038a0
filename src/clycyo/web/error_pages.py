"""The answers Starlette gives on its own — no route for a path, a method the route does not
take, an exception no endpoint caught — with the security headers every dashboard page carries
(`dashboard/rendering.py`), so no answer of the server is framed, sniffed or leaks a referrer.

Bodies stay as terse as Starlette's: `{"error": …}` below `/api/`, plain text elsewhere; a 500
never carries the exception's text (the server's log does).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from clycyo.web.dashboard.rendering import SECURITY_HEADERS


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


HANDLERS: dict[Any, Any] = {HTTPException: http_error, Exception: server_error}
