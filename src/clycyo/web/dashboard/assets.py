"""The dashboard's bundled files at `/assets` (styles, script, chart library, icon).

Pages link them by versioned URLs (`rendering.asset`: `?v=` and the content's hash), so a URL
whose version is the file's current one is cached for a year as immutable; any other request for
the file (no version, or an old one) is revalidated each time. Every answer says
`X-Content-Type-Options: nosniff`, so a browser takes a file only as what its type says.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from clycyo.web.dashboard.rendering import asset_digest

IMMUTABLE = "public, max-age=31536000, immutable"


class Assets(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["X-Content-Type-Options"] = "nosniff"
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        versioned = query.get("v") == [asset_digest(path)]
        response.headers["Cache-Control"] = IMMUTABLE if versioned else "no-cache"
        return response
