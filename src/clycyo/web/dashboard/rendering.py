"""Turn a view's data into a response: HTML through Jinja2 (autoescaped) or its `.json` twin.

Both come from the same data dict, so the JSON a script reads is exactly what the page shows.
Every dashboard response carries a strict Content-Security-Policy: scripts and styles only from
this server's own files, no inline script, no frames, so a value that slipped past escaping
still could not run. This module builds no data and checks no credentials.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from clycyo.web.dashboard.labels import dimension_label, metric_label
from clycyo.web.dashboard.params import COMPARISONS, OPERATORS, PERIODS

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent.parent / "static" / "dashboard"
ASSETS_URL = "/assets"
CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Shared-link pages carry their token in the URL: never hand it to another site.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


NO_VALUE = "\N{EN DASH}"


def format_number(value: object) -> str:
    if value is None:
        return NO_VALUE
    number = float(value)  # type: ignore[arg-type]
    if math.isnan(number):
        return NO_VALUE
    for limit, suffix in ((1e9, "B"), (1e6, "M")):
        if abs(number) >= limit:
            return f"{number / limit:.1f}{suffix}"
    return f"{number:,.0f}" if number == int(number) else f"{number:,.1f}"


def format_duration(seconds: object) -> str:
    if seconds is None:
        return NO_VALUE
    total = round(float(seconds))  # type: ignore[arg-type]
    minutes, secs = divmod(total, 60)
    return f"{minutes}m {secs:02d}s" if minutes < 60 else f"{minutes // 60}h {minutes % 60:02d}m"


def format_money(value: object, currency: str = "") -> str:
    if value is None:
        return NO_VALUE
    amount = Decimal(str(value)).quantize(Decimal("0.01"))
    return f"{amount:,} {currency}".strip()


def format_change(change: object, unit: str = "count") -> str:
    """A change against the previous period: in points for a percentage, else in percent."""
    if change is None:
        return ""
    value = float(change)  # type: ignore[arg-type]
    return f"{value:+.1f} pts" if unit == "percent" else f"{value:+.0f}%"


def format_time(value: object, timezone: str = "UTC") -> str:
    """A moment (an ISO time, UTC when it names no zone) as the local time of `timezone`: the
    site's, in which the dashboard's days and hours are counted."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return str(value)
    if isinstance(value, dt.datetime):
        try:
            zone = ZoneInfo(timezone)
        except (ValueError, KeyError):
            zone = ZoneInfo("UTC")
        moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


@functools.cache
def asset_digest(name: str) -> str:
    """A bundled file's content hash, read once per process."""
    try:
        return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]
    except OSError:
        return "missing"


def asset(name: str) -> str:
    """The URL of a bundled file, versioned by its content so browsers may cache it for good."""
    return f"{ASSETS_URL}/{name}?v={asset_digest(name)}"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        number=format_number,
        duration=format_duration,
        money=format_money,
        change=format_change,
        when=format_time,
    )
    env.globals.update(
        asset=asset,
        periods=PERIODS,
        comparisons=COMPARISONS,
        operators=OPERATORS,
        dimension_label=dimension_label,
        metric_label=metric_label,
    )
    return env


ENV = _environment()


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


_json_encoder = msgspec.json.Encoder(enc_hook=_plain, decimal_format="number")


def render_html(
    request: Request, template: str, data: dict[str, Any], status: int = 200
) -> Response:
    body = ENV.get_template(template).render(request=request, **data)
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


def render_json(data: dict[str, Any], status: int = 200) -> Response:
    public = {k: v for k, v in data.items() if not k.startswith("_")}
    return Response(
        _json_encoder.encode(public),
        status_code=status,
        media_type="application/json",
        headers=SECURITY_HEADERS,
    )
