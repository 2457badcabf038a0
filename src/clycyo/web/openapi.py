"""`GET /api/openapi.json`: the OpenAPI 3.1 description of every HTTP endpoint.

The description is `openapi.json` beside this module, maintained by hand with the endpoints it
describes; the collect event's schema in it mirrors `collect/wire.py`. Two tests keep it honest:
one fails when an app route is missing from it, one when the event schema and `EventIn` disagree,
and the fuzz suite drives the server from it. This module only serves the file.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import Response


@functools.cache
def document_bytes() -> bytes:
    return resources.files("clycyo.web").joinpath("openapi.json").read_bytes()


def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(document_bytes())
    return loaded


async def openapi_json(request: Request) -> Response:
    return Response(document_bytes(), media_type="application/json")
