"""The module-level shortcuts on the default client."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

import clycyo_sdk
from clycyo_sdk import default_client
from clycyo_sdk.testing import InMemoryTransport


@pytest.fixture(autouse=True)
def no_default_client() -> Iterator[None]:
    clycyo_sdk.shutdown(1)
    default_client._warned.clear()
    yield
    clycyo_sdk.shutdown(1)


def test_before_init_calls_do_nothing_and_warn_once(caplog: pytest.LogCaptureFixture) -> None:
    assert clycyo_sdk.get_client() is None
    assert clycyo_sdk.track("x") is False
    assert clycyo_sdk.identify("u") is False
    assert clycyo_sdk.page("https://x.test/") is False
    assert clycyo_sdk.flush() is True
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "init()" in warnings[0].getMessage()


def test_init_then_shortcuts(transport: InMemoryTransport) -> None:
    client = clycyo_sdk.init("sk_test", transport=transport, flush_interval_s=0.01)
    assert clycyo_sdk.get_client() is client
    assert clycyo_sdk.track("signup", user_id="u", props={"a": 1})
    assert clycyo_sdk.identify("u", visitor_id="v")
    assert clycyo_sdk.page("https://x.test/", visitor_id="v")
    assert clycyo_sdk.flush(5)
    assert [e["type"] for e in transport.events] == ["event", "identify", "pageview"]
    assert clycyo_sdk.shutdown(5)
    assert clycyo_sdk.get_client() is None


def test_shortcuts_take_timeout(transport: InMemoryTransport) -> None:
    assert clycyo_sdk.flush(timeout=1.0) is True  # before init() too
    clycyo_sdk.init("sk_test", transport=transport, flush_interval_s=10.0)
    clycyo_sdk.track("x")
    assert clycyo_sdk.flush(timeout=5.0)
    assert clycyo_sdk.shutdown(timeout=5.0)
    assert [e["name"] for e in transport.events] == ["x"]
    assert clycyo_sdk.get_client() is None


def test_init_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch, transport: InMemoryTransport
) -> None:
    monkeypatch.setenv("CLYCYO_SECRET_KEY", "sk_env")
    monkeypatch.setenv("CLYCYO_HOST", "https://stats.example.com")
    client = clycyo_sdk.init(transport=transport)
    assert client.host == "https://stats.example.com"
    client.track("x")
    assert client.flush(5)
    assert transport.requests[0].headers["Authorization"] == "Bearer sk_env"


def test_init_without_a_key_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLYCYO_SECRET_KEY", raising=False)
    with pytest.raises(ValueError, match="secret_key"):
        clycyo_sdk.init()


def test_a_second_init_replaces_and_flushes_the_first(transport: InMemoryTransport) -> None:
    first = clycyo_sdk.init("sk_1", transport=transport, flush_interval_s=10.0)
    clycyo_sdk.track("to-first")
    second = clycyo_sdk.init("sk_2", transport=InMemoryTransport())
    assert clycyo_sdk.get_client() is second
    assert [e["name"] for e in transport.events] == ["to-first"]
    assert first.track("late") is False


def test_version() -> None:
    assert clycyo_sdk.__version__ == clycyo_sdk.VERSION
    assert clycyo_sdk.VERSION.count(".") == 2
