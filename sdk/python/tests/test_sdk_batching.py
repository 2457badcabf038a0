"""Batching by count, bytes and time: the batcher with a scripted queue, no thread, no network."""

from __future__ import annotations

import json
import queue
from typing import Any

from clycyo_sdk.batching import ENVELOPE_BYTES, STOP, Batcher, FlushMarker
from clycyo_sdk.delivery import build_body
from sdk_doubles import FakeClock, ScriptedSource


def ev(name: str, **fields: Any) -> dict[str, Any]:
    return {"type": "event", "name": name, "event_id": name, **fields}


def batcher(clock: FakeClock, **limits: Any) -> Batcher:
    limits.setdefault("flush_at", 100)
    limits.setdefault("max_batch_bytes", 500_000)
    limits.setdefault("flush_interval_s", 0.5)
    return Batcher(clock=clock, **limits)


def names(events: list[dict[str, Any]]) -> list[str]:
    return [event["name"] for event in events]


def test_a_batch_ends_at_flush_at_events(clock: FakeClock) -> None:
    source = ScriptedSource(clock, [(clock.now, ev(f"e{i}")) for i in range(7)])
    cut = batcher(clock, flush_at=3)
    assert names(cut.next_batch(source).events) == ["e0", "e1", "e2"]
    assert names(cut.next_batch(source).events) == ["e3", "e4", "e5"]
    assert names(cut.next_batch(source).events) == ["e6"]
    assert clock.now == 1000.5  # the last one waited out flush_interval_s for company


def test_a_batch_ends_when_flush_interval_passes_after_its_first_event(clock: FakeClock) -> None:
    start = clock.now
    source = ScriptedSource(
        clock, [(start, ev("a")), (start + 0.2, ev("b")), (start + 0.6, ev("late"))]
    )
    cut = batcher(clock, flush_interval_s=0.5)
    assert names(cut.next_batch(source).events) == ["a", "b"]
    assert clock.now == start + 0.5
    assert names(cut.next_batch(source, first_wait_s=1.0).events) == ["late"]


def test_the_first_wait_is_unbounded_by_default_and_bounded_on_request(clock: FakeClock) -> None:
    source = ScriptedSource(clock)
    batch = batcher(clock).next_batch(source, first_wait_s=2.0)
    assert len(batch) == 0
    assert source.waits == [2.0]
    assert clock.now == 1002.0


def test_a_batch_never_exceeds_max_batch_bytes(clock: FakeClock) -> None:
    events = [ev(f"e{i}", props={"pad": "x" * 300}) for i in range(10)]
    source = ScriptedSource(clock, [(clock.now, event) for event in events])
    cut = batcher(clock, max_batch_bytes=1024)
    batches = []
    while True:
        batch = cut.next_batch(source, first_wait_s=0)
        if not batch.encoded:
            break
        body = build_body(batch.encoded, sent_at_ms=1_700_000_000_000.123)
        assert len(body) <= 1024
        assert batch.size_bytes >= len(body)
        batches.append(names(batch.events))
    # Nothing lost and nothing reordered: the event that did not fit opens the next batch.
    assert [name for b in batches for name in b] == [f"e{i}" for i in range(10)]
    assert [len(b) for b in batches] == [2, 2, 2, 2, 2]  # ~350 B each: a third would not fit


def test_size_accounting_matches_the_real_body(clock: FakeClock) -> None:
    source = ScriptedSource(clock, [(clock.now, ev(f"e{i}")) for i in range(5)])
    batch = batcher(clock).next_batch(source, first_wait_s=0, linger_s=0)
    body = build_body(batch.encoded, sent_at_ms=1_700_000_000_000.123)
    assert json.loads(body)["batch"] == batch.events
    # The estimate is never below the real size, and only over by the envelope's slack.
    assert len(body) <= batch.size_bytes < len(body) + ENVELOPE_BYTES


def test_an_event_larger_than_a_batch_is_dropped_as_invalid(clock: FakeClock) -> None:
    huge = ev("huge", props={"pad": "x" * 5000})
    source = ScriptedSource(clock, [(clock.now, huge), (clock.now, ev("small"))])
    batch = batcher(clock, max_batch_bytes=1024).next_batch(source, linger_s=0)
    assert names(batch.events) == ["small"]
    assert len(batch.invalid) == 1
    assert "larger than max_batch_bytes" in batch.invalid[0][1]


def test_invalid_events_are_set_aside_and_the_rest_goes_on(clock: FakeClock) -> None:
    source = ScriptedSource(clock, [(clock.now, ev("")), (clock.now, ev("ok"))])
    batch = batcher(clock).next_batch(source, linger_s=0)
    assert names(batch.events) == ["ok"]
    assert "name" in batch.invalid[0][1]


def test_a_flush_marker_ends_the_batch_at_once(clock: FakeClock) -> None:
    marker = FlushMarker(lost_before=0)
    source = ScriptedSource(
        clock, [(clock.now, ev("a")), (clock.now, marker), (clock.now, ev("after"))]
    )
    batch = batcher(clock).next_batch(source)
    assert names(batch.events) == ["a"]
    assert batch.markers == [marker]
    assert clock.now == 1000.0  # did not linger for the interval


def test_stop_ends_the_batch_and_says_so(clock: FakeClock) -> None:
    source = ScriptedSource(clock, [(clock.now, ev("a")), (clock.now, STOP)])
    batch = batcher(clock).next_batch(source)
    assert names(batch.events) == ["a"]
    assert batch.stop


def test_works_with_a_real_queue_too() -> None:
    real: queue.SimpleQueue[Any] = queue.SimpleQueue()
    for i in range(3):
        real.put(ev(f"e{i}"))
    batch = Batcher(flush_at=10, max_batch_bytes=500_000, flush_interval_s=0.01).next_batch(real)
    assert names(batch.events) == ["e0", "e1", "e2"]


def test_flush_marker_reports_losses_in_between() -> None:
    marker = FlushMarker(lost_before=2)
    marker.settle(lost_total=2)
    assert marker.wait(0)
    lossy = FlushMarker(lost_before=2)
    lossy.settle(lost_total=3)
    assert not lossy.wait(0)
    assert not FlushMarker(lost_before=0).wait(0.01)  # never settled: timed out
