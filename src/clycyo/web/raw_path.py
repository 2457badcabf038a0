"""Routes whose parameters may hold any character, `/` included.

Starlette matches a route against the decoded path, where `/persons/a%2Fb/timeline` has become
`/persons/a/b/timeline` and no longer names the person `a/b`. `RawPathRoute` matches the path as
the client sent it (ASGI's `raw_path`), one segment per parameter, and decodes each parameter
after matching. Without a `raw_path` (a server that does not keep it) it matches as `Route` does.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.routing import Match, Route


class RawPathRoute(Route):
    def matches(self, scope: Any) -> tuple[Match, Any]:
        raw = scope.get("raw_path") if scope["type"] == "http" else None
        if not raw:
            return super().matches(scope)
        # Some servers keep the query string in `raw_path`; the path is what comes before it.
        as_sent = raw.split(b"?", 1)[0].decode("latin-1")
        match, child = super().matches({**scope, "path": as_sent})
        if match is not Match.NONE:
            params = child["path_params"]
            for name in self.param_convertors:
                if isinstance(params[name], str):
                    params[name] = _decoded(params[name])
        return match, child


def _decoded(segment: str) -> str:
    """A path segment as sent (bytes read as Latin-1) with its %-escapes decoded, as UTF-8."""
    return unquote_to_bytes(segment.encode("latin-1")).decode("utf-8", "replace")
