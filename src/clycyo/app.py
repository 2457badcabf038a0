"""The ASGI application: every route in one place.

The collect endpoints, `/healthz` and `/metrics` are answered by plain ASGI callables, so the hot
path pays for no framework layer; everything else (APIs, dashboard, tracker script) is a Starlette
app. `raw_routes` and `web_routes` are separate functions so the OpenAPI test can list them.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route

from clycyo.collect import http
from clycyo.collect.routes import collect_routes
from clycyo.integrations import stripe
from clycyo.runtime import Runtime
from clycyo.web import (
    admin_api,
    annotations_api,
    error_pages,
    events_api,
    maintenance_api,
    metrics,
    openapi,
    people_api,
    person_export,
    query_api,
)
from clycyo.web.dashboard.routes import dashboard_routes
from clycyo.web.raw_path import RawPathRoute
from clycyo.web.tracker_script import tracker_script
from clycyo.workers.proxy import PEER_HEADER


def raw_routes(runtime: Runtime) -> dict[str, Any]:
    """The collect endpoints and the probes, as plain ASGI endpoints."""

    async def health(scope: dict[str, Any], receive: Any, send: Any) -> None:
        report = runtime.health()
        await http.send_json(send, 200 if report["accepting"] else 503, report)

    return {
        **collect_routes(runtime.settings, runtime.ingest, runtime.directory, runtime.limiter),
        "/healthz": health,
        "/metrics": metrics.MetricsEndpoint(runtime),
    }


def web_routes() -> list[BaseRoute]:
    """Everything else, on Starlette: the read APIs, admin endpoints, tracker, dashboard."""
    return [
        Route("/api/openapi.json", openapi.openapi_json, methods=["GET"]),
        Route("/api/v1/events", events_api.list_events, methods=["GET"]),
        Route("/api/v1/query", query_api.query, methods=["POST"]),
        Route("/api/v1/query/funnel", query_api.funnel, methods=["POST"]),
        Route("/api/v1/query/retention", query_api.retention, methods=["POST"]),
        Route("/api/v1/query/journeys", query_api.journeys, methods=["POST"]),
        Route("/api/v1/realtime", query_api.realtime, methods=["GET"]),
        Route("/api/v1/persons", people_api.persons, methods=["GET"]),
        # A person id may hold a `/` (sent as %2F): these match the path as sent.
        RawPathRoute("/api/v1/persons/{id}/timeline", people_api.timeline, methods=["GET"]),
        RawPathRoute("/api/v1/persons/{id}", people_api.erase, methods=["DELETE"]),
        RawPathRoute("/api/v1/persons/{id}/export", person_export.export_person, methods=["GET"]),
        Route("/api/v1/annotations", annotations_api.add, methods=["POST"]),
        Route("/api/v1/annotations", annotations_api.listed, methods=["GET"]),
        Route("/api/v1/annotations/{id}", annotations_api.delete, methods=["DELETE"]),
        Route("/js/clycyo.js", tracker_script, methods=["GET", "HEAD"]),
        Route("/js/clycyo.{digest}.js", tracker_script, methods=["GET", "HEAD"]),
        Route(
            "/api/admin/quarantine/{entry_id}/replay",
            admin_api.replay_quarantined,
            methods=["POST"],
        ),
        Route("/api/admin/faults", admin_api.set_faults, methods=["POST"]),
        Route("/api/admin/backup", maintenance_api.backup, methods=["POST"]),
        Route("/api/admin/export", maintenance_api.export, methods=["POST"]),
        Route("/api/admin/import", maintenance_api.import_events, methods=["POST"]),
        Route("/api/admin/retention", maintenance_api.retention, methods=["POST"]),
        Route("/api/admin/sites/remove", maintenance_api.remove_site, methods=["POST"]),
        Route("/api/admin/query", query_api.admin_query, methods=["POST"]),
        *dashboard_routes(),
    ]


def build_app(runtime: Runtime) -> Any:
    raw = raw_routes(runtime)
    stripe_webhook = stripe.StripeWebhook(runtime.ingest, runtime.directory, runtime.stripe_links)
    web = Starlette(routes=web_routes(), exception_handlers=error_pages.HANDLERS)
    web.state.runtime = runtime
    maintenance: list[asyncio.Task[None]] = []

    async def lifespan(receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                maintenance.append(asyncio.create_task(runtime.maintain()))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for task in maintenance:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                await asyncio.to_thread(runtime.close)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            if scope.get("client") is None:
                # Over the core's Unix socket, a collector process names the end user.
                scope["client"] = _peer_of(scope)
            path = scope["path"]
            handler = raw.get(path)
            if handler is not None:
                await handler(scope, receive, send)
                return
            if path.startswith(stripe.PATH_PREFIX):
                await stripe_webhook(scope, receive, send)
                return
        elif kind == "lifespan":
            await lifespan(receive, send)
            return
        await web(scope, receive, send)

    return app


def _peer_of(scope: dict[str, Any]) -> tuple[str, int] | None:
    for key, value in scope["headers"]:
        if key == PEER_HEADER:
            return value.decode("latin-1"), 0
    return None
