"""How long a command waits for a running server's answer: `CLYCYO_COMMAND_TIMEOUT` seconds
(60 by default), against a real socket that takes the connection and never answers."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from clycyo import local_server
from clycyo.local_server import Unreachable, call_json


@pytest.fixture
def silent() -> Iterator[str]:
    """The URL of a listener that accepts connections and says nothing."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/api/admin/query"


def test_a_command_gives_up_after_its_deadline(
    silent: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert local_server.command_timeout_s() == local_server.COMMAND_TIMEOUT_S == 60.0
    monkeypatch.setenv("CLYCYO_COMMAND_TIMEOUT", "0.5")
    started = time.monotonic()
    with pytest.raises(Unreachable, match="no answer from"):
        call_json("POST", silent, "ca_token", {"site": "a.example"})
    assert 0.4 < time.monotonic() - started < 5
    # A call given its own deadline keeps it.
    started = time.monotonic()
    with pytest.raises(Unreachable):
        call_json("POST", silent, "ca_token", {}, timeout_s=1.5)
    assert time.monotonic() - started >= 1.4


@pytest.mark.parametrize("given", ["soon", "0", "-3", "86401", "nan"])
def test_a_deadline_that_is_no_number_of_seconds_is_named(
    silent: str, monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    monkeypatch.setenv("CLYCYO_COMMAND_TIMEOUT", given)
    with pytest.raises(Unreachable, match=f"CLYCYO_COMMAND_TIMEOUT: '{given}' is not a number"):
        call_json("POST", silent, "ca_token", {})
