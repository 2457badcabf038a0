"""Endpoints for tools on the server's own machine (`clycyo quarantine replay`, …).

They accept only the admin token the server wrote into its data folder at start (see
`local_server.py`), so reaching them needs read access to that folder, not just the network.
"""

from __future__ import annotations

import hmac
import os

from starlette.requests import Request
from starlette.responses import JSONResponse

from clycyo.collect.replay import ReplayError, replay_entry
from clycyo.store.intake import IntakeUnavailable


def is_admin(request: Request) -> bool:
    expected = request.app.state.runtime.admin_token
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    return bool(expected) and hmac.compare_digest(given.encode(), str(expected).encode())


async def replay_quarantined(request: Request) -> JSONResponse:
    if not is_admin(request):
        return JSONResponse({"error": "authorization: the admin token is required"}, 401)
    try:
        entry_id = int(request.path_params["entry_id"])
        if not 0 < entry_id < 2**63:  # SQLite's integers; anything else names no entry
            return JSONResponse({"error": f"entry: no entry {entry_id}"}, 404)
        body = await replay_entry(request.app.state.runtime, entry_id)
    except ValueError:
        return JSONResponse({"error": "entry: expected an integer id"}, 400)
    except ReplayError as exc:
        return JSONResponse({"error": exc.message}, exc.status)
    except IntakeUnavailable as exc:
        headers = {"Retry-After": str(exc.retry_after_s)}
        return JSONResponse({"error": exc.reason}, 503, headers=headers)
    return JSONResponse(body)


async def set_faults(request: Request) -> JSONResponse:
    """Switch simulated faults on or off (only when started with CLYCYO_FAULT_INJECTION=1).

    Body: `{"intake": "reason" | null, "writer": "reason" | null}`: the intake log fails its
    writes like a full disk, or the writer fails its loads like an unreachable store.
    """
    if not is_admin(request):
        return JSONResponse({"error": "authorization: the admin token is required"}, 401)
    if os.environ.get("CLYCYO_FAULT_INJECTION") != "1":
        return JSONResponse({"error": "fault injection is off on this server"}, 404)
    runtime = request.app.state.runtime
    body = await request.json()
    if "intake" in body:
        runtime.intake.fault_injection = body["intake"]
    if "writer" in body:
        runtime.writer.fault_injection = body["writer"]
    return JSONResponse(
        {"intake": runtime.intake.fault_injection, "writer": runtime.writer.fault_injection}
    )
