"""A real server with demo data for the dashboard's browser tests.

One `clycyo serve` on a temporary data folder, one site filled with the demo generator's world
(sent through `POST /api/collect`, as a backend importing history would), a login for it, and a
handful of hostile events whose names, pages, props and ids carry markup that must never run.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clycyo.demo.send import post_batch, send_world
from tests.serverproc import ServerProcess, Site, clycyo

EMAIL = "owner@shop.test"
PASSWORD = "a long enough password"
DOMAIN = "shop.test"
# Each payload sets a flag if it ever runs; the tests assert the flag stays unset.
SCRIPT = "<script>window.__pwned='script'</script>"
IMG = "<img src=x onerror=\"window.__pwned='img'\">"
SVG = "<svg onload=\"window.__pwned='svg'\">"
HOSTILE_USER = f"user{SVG}"
HOSTILE_PAGE = f"/promo/{SCRIPT}"


@dataclass
class World:
    server: ServerProcess
    site: Site
    email: str = EMAIL
    password: str = PASSWORD

    @property
    def url(self) -> str:
        return self.server.url

    def query(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /api/v1/query` with the site's secret key (what a panel must agree with)."""
        status, answer = self.site.post("/api/v1/query", {"site": DOMAIN, **body}, secret=True)
        assert status == 200, answer
        return dict(answer)

    def get_json(self, path: str, token: str | None = None) -> tuple[int, Any]:
        return self.server.get(path, bearer=token)


def _hostile_events(end_ms: int) -> list[dict[str, Any]]:
    visitor = uuid.uuid4().hex
    context = {
        "ip": "85.214.1.2",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
    }
    base = {
        "origin": "browser",
        "visitor_id": visitor,
        "session_id": "hostile1",
        "context": context,
    }
    page = f"https://{DOMAIN}{HOSTILE_PAGE}?utm_source={IMG}&utm_campaign={SCRIPT}"
    return [
        {
            **base,
            "type": "pageview",
            "url": page,
            "referrer": f"https://evil.test/{SVG}",
            "timestamp": end_ms - 3_600_000,
            "event_id": uuid.uuid4().hex,
        },
        {
            **base,
            "name": f"signup{SCRIPT}",
            "url": page,
            "props": {"plan": IMG, SVG: "x"},
            "timestamp": end_ms - 3_590_000,
            "event_id": uuid.uuid4().hex,
        },
        {
            **base,
            "name": "js_error",
            "url": page,
            "props": {
                "message": f"TypeError {IMG}",
                "source": SCRIPT,
                "line": 1,
                "column": 2,
                "stack": SVG,
            },
            "timestamp": end_ms - 3_580_000,
            "event_id": uuid.uuid4().hex,
        },
        {
            **base,
            "name": "rage_click",
            "url": page,
            "props": {"selector": f"a{IMG}", "clicks": 4},
            "timestamp": end_ms - 3_570_000,
            "event_id": uuid.uuid4().hex,
        },
        {
            **base,
            "type": "identify",
            "user_id": HOSTILE_USER,
            "traits": {"name": SCRIPT},
            "timestamp": end_ms - 3_560_000,
            "event_id": uuid.uuid4().hex,
        },
        {
            "user_id": HOSTILE_USER,
            "visitor_id": visitor,
            "name": "payment",
            "order_id": f"in_{uuid.uuid4().hex[:8]}",
            "revenue": {"amount": "10.00", "currency": "USD"},
            "props": {"plan": SCRIPT},
            "timestamp": end_ms - 3_550_000,
            "event_id": uuid.uuid4().hex,
        },
    ]


def build_world(tmp: Path, *, visitors_per_day: int = 40, days: int = 30) -> World:
    server = ServerProcess(tmp / "data").start()
    site = server.add_site(DOMAIN)
    clycyo("user", "add", EMAIL, "--password-stdin", data=server.data_dir, stdin=PASSWORD + "\n")
    accepted, rejected = send_world(
        server.url,
        DOMAIN,
        site.secret_key,
        days=days,
        visitors_per_day=visitors_per_day,
        seed=11,
        progress=False,
    )
    assert rejected == 0 and accepted > 0
    end_ms = int(time.time() * 1000)
    result = post_batch(server.url, site.secret_key, _hostile_events(end_ms))
    assert not result["rejected"], json.dumps(result)
    site.events(limit="1")  # returns once everything acknowledged is in the store
    return World(server, site)
