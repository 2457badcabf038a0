"""`GET /js/clycyo.js`: the browser tracker, built at setup and served with caching headers.

Pages embed the fixed URL, so it is cached for a day and revalidated by its ETag (a content hash);
`/js/clycyo.<hash>.js` names one exact build and may be cached forever. The script is read once
per process.
"""

from __future__ import annotations

import functools
import hashlib
from importlib import resources

from starlette.requests import Request
from starlette.responses import Response

_MISSING = "/* The tracker is not built in this installation: run `make setup`. */\n"


@functools.cache
def _script() -> tuple[bytes, str]:
    path = resources.files("clycyo.web") / "static" / "clycyo.js"
    try:
        body = path.read_bytes()
    except FileNotFoundError:
        return b"", ""
    return body, hashlib.sha256(body).hexdigest()[:16]


def script_hash() -> str:
    """The current build's content hash (for the immutable URL and install snippets)."""
    return _script()[1]


async def tracker_script(request: Request) -> Response:
    body, digest = _script()
    if not body:
        return Response(_MISSING, status_code=503, media_type="application/javascript")
    requested = request.path_params.get("digest")
    if requested is not None and requested != digest:
        return Response("/* no such build */\n", 404, media_type="application/javascript")
    etag = f'"{digest}"'
    headers = {
        "ETag": etag,
        "Cache-Control": "public, max-age=31536000, immutable"
        if requested
        else "public, max-age=86400, stale-while-revalidate=604800",
        "Access-Control-Allow-Origin": "*",
        "Cross-Origin-Resource-Policy": "cross-origin",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/javascript; charset=utf-8", headers=headers)
