"""`GET /api/v1/events`: a site's raw stored events, newest first (for debugging and exports).

Props come back as text values, as they are stored (numbers and booleans sent in props are kept
as their text, `3` as "3" and `true` as "true", so every prop has one type for filtering);
traits come back as the object that was sent.

Reads wait until every event acknowledged before the request is in the store, so a client that
sent events and then asks for them sees them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from clycyo.web.access import ApiError, authorize_site

_COLUMNS = (
    "event_id, time, received_at, origin, type, name, visitor_id, user_id, session_id, url, "
    "hostname, page, title, referrer, referrer_host, source, channel, utm_source, utm_medium, "
    "utm_campaign, utm_term, utm_content, click_id, country, region, city, browser, "
    "browser_version, os, os_version, device, locale, screen, props, revenue_amount, "
    "revenue_currency, order_id, traits"
)
_NAMES = [c.strip() for c in _COLUMNS.split(",")]
MAX_LIMIT = 1_000_000


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value


async def list_events(request: Request) -> JSONResponse:
    runtime = request.app.state.runtime
    try:
        site = authorize_site(request)
        limit = int(request.query_params.get("limit", "1000"))
    except ApiError as exc:
        return exc.response()
    except ValueError:
        return JSONResponse({"error": "limit: expected an integer"}, status_code=400)
    limit = max(1, min(limit, MAX_LIMIT))
    name = request.query_params.get("name")
    where = "site_id = ?"
    params: list[object] = [site.id]
    if name:
        where += " AND name = ?"
        params.append(name)

    def read() -> list[tuple[Any, ...]]:
        runtime.writer.catch_up(5.0)
        return runtime.store.execute(  # type: ignore[no-any-return]
            f"SELECT {_COLUMNS} FROM events WHERE {where} ORDER BY time DESC, event_id LIMIT ?",
            [*params, limit],
        )

    rows = await asyncio.to_thread(read)
    events = [{n: _plain(v) for n, v in zip(_NAMES, row, strict=True)} for row in rows]
    for event in events:
        if event["traits"] is not None:
            event["traits"] = json.loads(event["traits"])
    return JSONResponse({"events": events})
