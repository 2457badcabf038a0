"""The paths the foreign wire formats answer, for `app.py` to dispatch on."""

from __future__ import annotations

from typing import Any

from clycyo.collect.formats import plausible, posthog, segment
from clycyo.collect.formats.endpoint import FormatEndpoint
from clycyo.collect.ingest import Ingest
from clycyo.collect.ratelimit import RateLimiter
from clycyo.config.directory import SiteDirectory


def format_routes(
    ingest: Ingest, directory: SiteDirectory, client_ip: Any, limiter: RateLimiter | None = None
) -> dict[str, FormatEndpoint]:
    """Path → ASGI endpoint for every foreign format (both with and without a trailing slash)."""
    table: dict[str, FormatEndpoint] = {}
    for module in (segment, posthog, plausible):
        endpoint = FormatEndpoint(module.FORMAT, ingest, directory, client_ip, limiter)
        for path in module.PATHS:
            table[path.rstrip("/")] = endpoint
            table[path.rstrip("/") + "/"] = endpoint
    return table
