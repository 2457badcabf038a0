"""The SDK behind an HTTP proxy, in front of a real `clycyo serve`: the events pass through the
proxy and are stored; `NO_PROXY` sends them straight to the server.

The proxy is the SDK tests' own small forwarding proxy (sdk/python/tests/forward_proxy.py), a
real server on 127.0.0.1. Requests of the test itself (reading the events back) may go through
it too, so only its collect requests are counted.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import clycyo_sdk
from clycyo_sdk import Client
from tests.serverproc import Site

SDK_TESTS = Path(__file__).resolve().parents[2] / "sdk" / "python" / "tests"


def _load_forward_proxy() -> ModuleType:
    spec = importlib.util.spec_from_file_location("forward_proxy", SDK_TESTS / "forward_proxy.py")
    assert spec is not None and spec.loader is not None
    module = sys.modules.get("forward_proxy") or importlib.util.module_from_spec(spec)
    if "forward_proxy" not in sys.modules:
        sys.modules["forward_proxy"] = module
        spec.loader.exec_module(module)
    return module


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("http_proxy", "https_proxy", "no_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    server = _load_forward_proxy().ForwardProxy()
    yield server
    server.stop()


def collect_requests(proxy: Any) -> list[tuple[str, str]]:
    return [(method, url) for method, url in proxy.forwarded if url.endswith("/api/collect")]


def background_client(site: Site, **options: Any) -> Client:
    return Client(
        site.secret_key,
        host=site.url,
        max_retries=2,
        backoff_base_s=0.05,
        timeout_s=5.0,
        exit_flush_timeout_s=None,
        **options,
    )


def test_events_pass_through_the_proxy_of_the_environment_and_are_stored(
    server: Site, proxy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    clycyo = background_client(server)
    try:
        clycyo.track("signup", user_id="u_1")
        clycyo.identify("u_1", visitor_id="v_1", traits={"plan": "pro"})
        assert clycyo.flush(10)
    finally:
        clycyo.shutdown(5)
    assert collect_requests(proxy) == [("POST", f"{server.url}/api/collect")]
    assert clycyo.sent == 2
    assert [e["name"] for e in server.events(name="signup")] == ["signup"]


def test_no_proxy_sends_straight_to_the_server(
    server: Site, proxy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    clycyo = background_client(server)
    try:
        clycyo.track("direct", user_id="u_2")
        assert clycyo.flush(10)
    finally:
        clycyo.shutdown(5)
    assert proxy.forwarded == []
    assert [e["user_id"] for e in server.events(name="direct")] == ["u_2"]


def test_init_takes_an_explicit_proxy(server: Site, proxy: Any) -> None:
    clycyo_sdk.init(server.secret_key, server.url, proxy=proxy.url, exit_flush_timeout_s=None)
    try:
        clycyo_sdk.track("invoice.paid", user_id="u_3", revenue=("49.00", "EUR"), order_id="in_9")
        assert clycyo_sdk.flush(10)
    finally:
        clycyo_sdk.shutdown(5)
    assert collect_requests(proxy) == [("POST", f"{server.url}/api/collect")]
    assert [e["user_id"] for e in server.events(name="invoice.paid")] == ["u_3"]
