"""The collect endpoints by exact path: our API and the other clients' wire formats.

Shared by the single-process server (`app.py`) and collector processes (`workers/collector.py`),
which import only this side of Clycyo: the pipeline and the intake log, not the event store.
"""

from __future__ import annotations

from typing import Any

from clycyo.collect.formats.routes import format_routes
from clycyo.collect.handler import CollectHandler
from clycyo.collect.ingest import Ingest
from clycyo.collect.proxy import ClientAddress
from clycyo.collect.ratelimit import RateLimiter
from clycyo.config.directory import SiteDirectory
from clycyo.settings import Settings


def collect_routes(
    settings: Settings, ingest: Ingest, directory: SiteDirectory, limiter: RateLimiter
) -> dict[str, Any]:
    """Exact path → plain ASGI endpoint for our collect API and the other clients' wire formats
    (shared with collector processes). They skip the framework: each layer costs requests/s."""
    client_ip = ClientAddress(settings.trusted_proxies)
    return {
        "/api/collect": CollectHandler(ingest, directory, client_ip, limiter),
        **format_routes(ingest, directory, client_ip, limiter),
    }
