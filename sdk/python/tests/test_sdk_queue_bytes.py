"""The queue's bound in bytes: large events fill it before the count bound does."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from clycyo_sdk import Client
from clycyo_sdk.event_queue import EventQueue, estimated_bytes
from clycyo_sdk.events import encode, finalize
from sdk_doubles import BlockingTransport, MakeClient

SECRET = "s3cr3t-payload"


def test_large_events_fill_the_queue_by_bytes_drop_count_and_log_once(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    blocking = BlockingTransport()
    client = make_client(transport=blocking, max_queue_bytes=64_000, flush_at=1)
    caplog.set_level(logging.DEBUG, logger="clycyo_sdk")
    assert client.track("first", props={"secret": SECRET})
    assert blocking.entered.wait(5)  # the consumer holds "first" and waits in send()
    big = {"secret": SECRET, "text": "x" * 10_000}
    accepted = [client.track("big", props=big) for _ in range(20)]
    # Six of about 10 kB fit in 64 kB; the count bound (10 000 events) is far away.
    assert accepted == [True] * 6 + [False] * 14
    assert client.dropped == 14
    full = [r for r in caplog.records if "queue is full" in r.getMessage()]
    assert [r.levelname for r in full] == ["WARNING"] + ["DEBUG"] * 13
    assert "64000 bytes" in full[0].getMessage()
    assert SECRET not in caplog.text
    # Small events still fit beside them: the bound is on bytes, not on a count of big ones.
    assert client.track("small")
    blocking.release.set()
    assert client.flush(5)
    assert len(blocking.events) == 8
    assert client._dispatcher.queue.bytes == 0  # the consumer gave back what it took
    assert all(client.track("big", props=big) for _ in range(6))  # room again once drained


def test_the_default_bound_holds_a_few_megabytes() -> None:
    client = Client("sk", transport=BlockingTransport(), flush_at=1, exit_flush_timeout_s=None)
    blocking = client.transport
    assert isinstance(blocking, BlockingTransport)
    try:
        client.track("first")
        assert blocking.entered.wait(5)
        text = "x" * 100_000
        accepted = sum(client.track("big", props={"text": text}) for _ in range(200))
        assert 70 <= accepted <= 90  # about 8 MB of them, not 200 x 100 kB
        assert client.dropped == 200 - accepted
    finally:
        blocking.release.set()
        client.shutdown(5)


@pytest.mark.parametrize(
    "event",
    [
        {"type": "event", "name": "signup", "user_id": "u_42", "timestamp": time.time()},
        {
            "type": "event",
            "name": "invoice.paid",
            "user_id": 42,
            "props": {"plan": "pro", "seats": 3, "trial": False, "coupon": None},
            "revenue": ("49.00", "EUR"),
            "order_id": "in_1Q2w3E",
            "timestamp": time.time(),
            "context": {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0 " * 10},
        },
        {"type": "identify", "user_id": "u_1", "traits": {"email": "a@example.com" * 50}},
        {"type": "event", "name": "big", "props": {f"k{i}": "v" * 100 for i in range(200)}},
        {"type": "event", "name": "nested", "props": {"a": [1, 2, {"b": ["c" * 500]}]}},
        {"type": "event", "name": "unicode", "props": {"text": "é" * 1000}},
    ],
)
def test_the_estimate_follows_the_encoded_size(event: dict[str, Any]) -> None:
    encoded = len(encode(finalize(event)))
    estimate = estimated_bytes(event)
    assert encoded / 2 <= estimate <= encoded * 2


def test_odd_values_are_estimated_without_raising() -> None:
    looped: dict[str, Any] = {}
    looped["self"] = looped
    for props in ({1: object()}, looped, {"deep": [[[[[["x" * 9999]]]]]]}):
        assert estimated_bytes({"type": "event", "name": "odd", "props": props}) > 0


def test_the_queue_gives_back_the_bytes_of_what_is_taken() -> None:
    queue = EventQueue()
    queue.put({"name": "a"}, 100)
    queue.put("marker")
    queue.put({"name": "b"}, 50)
    assert (queue.qsize(), queue.bytes) == (3, 150)
    assert queue.get() == {"name": "a"}
    assert queue.bytes == 50
    assert queue.get(block=False) == "marker"
    assert queue.get(timeout=1) == {"name": "b"}
    assert (queue.qsize(), queue.bytes) == (0, 0)


def test_a_bound_below_one_kilobyte_is_refused() -> None:
    with pytest.raises(ValueError, match="max_queue_bytes"):
        Client("sk", max_queue_bytes=100, exit_flush_timeout_s=None)
