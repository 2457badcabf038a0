"""Fixtures of the SDK tests; the doubles themselves live in `sdk_doubles`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from clycyo_sdk import Client
from clycyo_sdk.testing import InMemoryTransport
from sdk_doubles import Collector, FakeClock, MakeClient


@pytest.fixture(autouse=True)
def _no_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client reads the standard proxy variables: a developer's own must not route these
    tests' requests to 127.0.0.1 through their proxy. Proxy tests set their own."""
    for name in ("http_proxy", "https_proxy", "no_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    yield server
    server.stop()


@pytest.fixture
def transport() -> InMemoryTransport:
    return InMemoryTransport()


@pytest.fixture
def make_client(transport: InMemoryTransport) -> Iterator[MakeClient]:
    """Build clients (in-memory by default) that are shut down after the test."""
    clients: list[Client] = []

    def make(**options: Any) -> Client:
        if "transport" not in options:
            options["transport"] = transport
        options.setdefault("flush_interval_s", 0.01)
        options.setdefault("exit_flush_timeout_s", None)
        client = Client(options.pop("secret_key", "sk_test"), **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.shutdown(timeout=2.0)
