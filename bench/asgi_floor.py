"""The cheapest possible ASGI app: read the body, answer `204`. The ceiling of an ASGI server.

`bench/ingest.py` runs it under uvicorn and under Granian with the same load as the collector, so
the figures show how much of the gap to nginx belongs to the server and how much to Clycyo.

    .venv/bin/python -m uvicorn asgi_floor:app --app-dir bench --loop uvloop --http httptools
    .venv/bin/granian --interface asgi --working-dir bench asgi_floor:app
"""

from __future__ import annotations

from typing import Any

_NO_CONTENT = {"type": "http.response.start", "status": 204, "headers": []}
_EMPTY_BODY = {"type": "http.response.body", "body": b""}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body", False):
        pass
    await send(_NO_CONTENT)
    await send(_EMPTY_BODY)
