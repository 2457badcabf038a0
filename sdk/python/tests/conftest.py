"""Fixtures of the SDK tests; the doubles themselves live in `sdk_doubles`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from clycyo_sdk import Client
from clycyo_sdk.testing import InMemoryTransport
from sdk_doubles import Collector, FakeClock, MakeClient


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
