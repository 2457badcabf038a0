"""The ASGI application: every route in one place.

The collect endpoints and `/healthz` are answered by plain ASGI callables, so the hot path pays
for no framework layer; everything else (APIs, dashboard, tracker script) is a Starlette app.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route

from clycyo.collect import http
from clycyo.collect.formats.routes import format_routes
from clycyo.collect.handler import CollectHandler
from clycyo.collect.proxy import ClientAddress
from clycyo.integrations import stripe
from clycyo.runtime import Runtime
from clycyo.web import admin_api, events_api
from clycyo.web.tracker_script import tracker_script


def build_app(runtime: Runtime) -> Any:
    client_ip = ClientAddress(runtime.settings.trusted_proxies)
    collect = CollectHandler(runtime.ingest, runtime.directory, client_ip)
    # Raw ASGI endpoints by exact path: our collect API and the other clients' wire formats.
    raw_routes: dict[str, Any] = {
        "/api/collect": collect,
        **format_routes(runtime.ingest, runtime.directory, client_ip),
    }
    stripe_webhook = stripe.StripeWebhook(runtime.ingest, runtime.directory, runtime.stripe_links)
    web = Starlette(
        routes=[
            Route("/api/v1/events", events_api.list_events, methods=["GET"]),
            Route("/js/clycyo.js", tracker_script, methods=["GET", "HEAD"]),
            Route("/js/clycyo.{digest}.js", tracker_script, methods=["GET", "HEAD"]),
            Route(
                "/api/admin/quarantine/{entry_id}/replay",
                admin_api.replay_quarantined,
                methods=["POST"],
            ),
            Route("/api/admin/faults", admin_api.set_faults, methods=["POST"]),
        ]
    )
    web.state.runtime = runtime
    maintenance: list[asyncio.Task[None]] = []

    async def health(send: Any) -> None:
        report = runtime.health()
        await http.send_json(send, 200 if report["accepting"] else 503, report)

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
            path = scope["path"]
            handler = raw_routes.get(path)
            if handler is not None:
                await handler(scope, receive, send)
                return
            if path.startswith(stripe.PATH_PREFIX):
                await stripe_webhook(scope, receive, send)
                return
            if path == "/healthz":
                await health(send)
                return
        elif kind == "lifespan":
            await lifespan(receive, send)
            return
        await web(scope, receive, send)

    return app
