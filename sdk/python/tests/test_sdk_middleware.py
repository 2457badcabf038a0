"""WSGI, ASGI and Django middleware put the request's visitor in a context variable."""

from __future__ import annotations

import asyncio
import sys
import types
from collections.abc import Iterator
from typing import Any, Callable

import pytest

from clycyo_sdk import (
    ASGIMiddleware,
    DjangoMiddleware,
    RequestContext,
    WSGIMiddleware,
    current_request_context,
)
from clycyo_sdk.testing import InMemoryTransport
from sdk_doubles import MakeClient

COOKIE = "clycyo_vid=v_mid"


def test_wsgi_middleware_sets_the_context_for_the_handler_only() -> None:
    seen: list[RequestContext | None] = []

    def app(environ: Any, start_response: Callable[..., Any]) -> Iterator[bytes]:
        seen.append(current_request_context())
        start_response("200 OK", [])
        return iter([b"ok"])

    wrapped = WSGIMiddleware(app, trusted_proxies=1)
    environ = {
        "REQUEST_METHOD": "GET",
        "REMOTE_ADDR": "10.0.0.2",
        "HTTP_COOKIE": COOKIE,
        "HTTP_X_FORWARDED_FOR": "203.0.113.7",
    }
    assert list(wrapped(environ, lambda *a: None)) == [b"ok"]
    assert seen == [RequestContext(visitor_id="v_mid", ip="203.0.113.7")]
    assert current_request_context() is None


def test_asgi_middleware_sets_the_context_and_passes_other_scopes_through() -> None:
    seen: list[RequestContext | None] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(current_request_context())

    wrapped = ASGIMiddleware(app)

    async def receive() -> Any:
        return {}

    async def send(message: Any) -> None:
        pass

    http = {"type": "http", "headers": [(b"cookie", COOKIE.encode())], "client": ("10.0.0.3", 1)}
    asyncio.run(wrapped(http, receive, send))
    asyncio.run(wrapped({"type": "lifespan"}, receive, send))
    assert seen == [RequestContext(visitor_id="v_mid", ip="10.0.0.3"), None]


def test_middleware_ignores_malformed_values() -> None:
    seen: list[RequestContext | None] = []

    def app(environ: Any, start_response: Callable[..., Any]) -> list[bytes]:
        seen.append(current_request_context())
        return []

    wrapped = WSGIMiddleware(app)
    wrapped({"REQUEST_METHOD": "GET", "HTTP_COOKIE": 5, "REMOTE_ADDR": "x"}, lambda *a: None)
    assert seen == [RequestContext()]


@pytest.fixture
def fake_django(monkeypatch: pytest.MonkeyPatch) -> types.SimpleNamespace:
    settings = types.SimpleNamespace(CLYCYO_TRUSTED_PROXIES=["10.0.0.0/8"])
    conf = types.ModuleType("django.conf")
    conf.settings = settings  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "django", types.ModuleType("django"))
    monkeypatch.setitem(sys.modules, "django.conf", conf)
    return settings


def test_django_middleware_reads_its_settings_and_sets_the_context(
    fake_django: types.SimpleNamespace, make_client: MakeClient, transport: InMemoryTransport
) -> None:
    client = make_client()

    def view(request: Any) -> str:
        client.track_request(None, "signup", user_id="u_7")  # None: the current request
        return "response"

    middleware = DjangoMiddleware(view)
    request = types.SimpleNamespace(
        META={
            "REQUEST_METHOD": "POST",
            "REMOTE_ADDR": "10.0.0.2",
            "HTTP_COOKIE": COOKIE,
            "HTTP_X_FORWARDED_FOR": "203.0.113.7",
        }
    )
    assert middleware(request) == "response"
    assert client.flush(5)
    event = transport.events[0]
    assert event["visitor_id"] == "v_mid"
    assert event["context"] == {"ip": "203.0.113.7"}
    assert current_request_context() is None


def test_track_request_with_none_outside_a_request_sends_without_visitor(
    make_client: MakeClient, transport: InMemoryTransport
) -> None:
    client = make_client()
    assert client.track_request(None, "cron.ran")
    assert client.flush(5)
    assert "visitor_id" not in transport.events[0]
