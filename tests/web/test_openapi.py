"""The OpenAPI description covers every route the app serves, and matches the wire format."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.routing import Mount, Route

from clycyo.app import raw_routes, web_routes
from clycyo.collect.wire import BodyIn, EventIn
from clycyo.integrations import stripe
from clycyo.runtime import Runtime, Settings
from clycyo.web import openapi
from tests.serverproc import Site

DOCUMENT = openapi.document()


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    opened = Runtime.open(Settings(data_dir=tmp_path / "data"))
    yield opened
    opened.close()


def described(path: str, method: str) -> bool:
    return method.lower() in DOCUMENT["paths"].get(path, {})


def test_every_route_is_described(runtime: Runtime) -> None:
    missing = []
    for path in raw_routes(runtime):
        method = "get" if path in ("/healthz", "/metrics") else "post"
        if not described(path, method):
            missing.append(f"{method.upper()} {path}")
    if not described(stripe.PATH_PREFIX + "{domain}", "post"):
        missing.append("POST " + stripe.PATH_PREFIX + "{domain}")
    for route in web_routes():
        if isinstance(route, Mount):
            if not any(p.startswith(route.path + "/") for p in DOCUMENT["paths"]):
                missing.append(f"GET {route.path}/…")
            continue
        assert isinstance(route, Route)
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            if not described(path, method):
                missing.append(f"{method} {path}")
    assert missing == [], "add these to src/clycyo/web/openapi.json"


@pytest.mark.parametrize("struct", [EventIn, BodyIn])
def test_the_event_schema_mirrors_the_wire_format(struct: type) -> None:
    schema = DOCUMENT["components"]["schemas"][struct.__name__]
    assert set(schema["properties"]) == set(struct.__struct_fields__)


def test_the_document_is_served(server: Site) -> None:
    status, body = server.server.get("/api/openapi.json")
    assert status == 200
    assert body["openapi"].startswith("3.1")
    assert "/api/collect" in body["paths"]
