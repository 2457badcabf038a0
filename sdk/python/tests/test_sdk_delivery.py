"""Delivering a batch: retries, Retry-After, give-up, 413 splitting, the collector's answer.

Driven through the in-memory transport with a fake pause: no thread, no network, no waiting.
"""

from __future__ import annotations

import gzip
import json
import logging
from typing import Any

import pytest

from clycyo_sdk.delivery import USER_AGENT, Delivery
from clycyo_sdk.events import encode, finalize
from clycyo_sdk.retry import RetryPolicy
from clycyo_sdk.stats import DeliveryError, Stats
from clycyo_sdk.testing import InMemoryTransport
from clycyo_sdk.transport import Response

SECRET = "s3cr3t-payload"  # a value that must never show up in a log line


class FakePause:
    def __init__(self, allow: int = 1000) -> None:
        self.delays: list[float] = []
        self.allow = allow

    def __call__(self, delay_s: float) -> bool:
        self.delays.append(delay_s)
        return len(self.delays) <= self.allow


def batch(count: int = 3) -> tuple[list[dict[str, Any]], list[bytes]]:
    events = [
        finalize({"type": "event", "name": f"e{i}", "props": {"secret": SECRET}})
        for i in range(count)
    ]
    return events, [encode(event) for event in events]


def make(
    transport: Any, pause: FakePause, *, max_retries: int = 5, use_gzip: bool = True, **kw: Any
) -> tuple[Delivery, Stats]:
    stats = Stats(kw.pop("on_error", None))
    delivery = Delivery(
        transport,
        secret_key="sk_test",
        stats=stats,
        pause=pause,
        policy=RetryPolicy(max_retries=max_retries, backoff_base_s=0.5, max_backoff_s=4.0),
        use_gzip=use_gzip,
        wall_clock=kw.pop("wall_clock", lambda: 1_800_000_000.0),
        rand=lambda: 1.0,
    )
    return delivery, stats


def test_a_batch_is_posted_gzipped_with_the_headers_and_envelope() -> None:
    transport, pause = InMemoryTransport(), FakePause()
    delivery, stats = make(transport, pause)
    events, encoded = batch(2)
    assert delivery.deliver(events, encoded)
    request = transport.requests[0]
    assert request.headers == {
        "Authorization": "Bearer sk_test",
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
        "User-Agent": USER_AGENT,
    }
    assert USER_AGENT.startswith("clycyo-sdk-python/")
    assert json.loads(gzip.decompress(request.body)) == {
        "batch": events,
        "sent_at": 1_800_000_000_000,
    }
    assert stats.snapshot()["sent"] == 2


def test_without_gzip_the_body_is_plain_json() -> None:
    transport = InMemoryTransport()
    delivery, _ = make(transport, FakePause(), use_gzip=False)
    assert delivery.deliver(*batch(1))
    assert "Content-Encoding" not in transport.requests[0].headers
    assert json.loads(transport.requests[0].body)["batch"][0]["name"] == "e0"


@pytest.mark.parametrize("status", [None, 408, 429, 500, 502, 503])
def test_retryable_failures_are_retried_until_delivered(status: int | None) -> None:
    transport, pause = InMemoryTransport(), FakePause()
    transport.fail_next(2, status=status)
    delivery, stats = make(transport, pause)
    assert delivery.deliver(*batch(3))
    assert len(transport.requests) == 3
    assert pause.delays == [0.5, 1.0]  # rand=1.0: the top of each jitter range
    assert len(transport.events) == 3
    assert stats.snapshot()["failed"] == 0


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 301])
def test_other_statuses_are_not_retried_and_logged_once(
    status: int, caplog: pytest.LogCaptureFixture
) -> None:
    transport, pause = InMemoryTransport(), FakePause()
    transport.fail_next(2, status=status)
    lost: list[tuple[DeliveryError, list[dict[str, Any]]]] = []
    delivery, stats = make(transport, pause, on_error=lambda e, evs: lost.append((e, evs)))
    caplog.set_level(logging.WARNING, logger="clycyo_sdk")
    assert not delivery.deliver(*batch(3))
    assert not delivery.deliver(*batch(3))
    assert len(transport.requests) == 2
    assert pause.delays == []
    assert stats.snapshot()["failed"] == 6
    assert [r.levelname for r in caplog.records] == ["ERROR"]  # the second time at DEBUG
    assert f"HTTP {status}" in caplog.text
    assert SECRET not in caplog.text
    assert lost[0][0].status == status
    assert len(lost[0][1]) == 3


def test_retry_after_is_honoured() -> None:
    transport, pause = InMemoryTransport(), FakePause()
    transport.fail_next(1, status=429, retry_after="7")
    delivery, _ = make(transport, pause)
    assert delivery.deliver(*batch(1))
    assert pause.delays == [pytest.approx(7.7)]  # 7 s plus up to 10 % jitter (rand=1.0)


def test_gives_up_after_max_retries_and_reports_the_events(
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport, pause = InMemoryTransport(), FakePause()
    transport.fail_next(100, status=503)
    lost: list[tuple[DeliveryError, list[dict[str, Any]]]] = []
    delivery, stats = make(
        transport, pause, max_retries=3, on_error=lambda e, evs: lost.append((e, evs))
    )
    assert not delivery.deliver(*batch(2))
    assert len(transport.requests) == 4  # the first try and 3 retries
    assert pause.delays == [0.5, 1.0, 2.0]
    assert stats.snapshot()["failed"] == 2
    assert "gave up" in lost[0][0].reason
    assert [e["name"] for e in lost[0][1]] == ["e0", "e1"]
    assert SECRET not in caplog.text


def test_backoff_never_waits_beyond_the_cap() -> None:
    transport, pause = InMemoryTransport(), FakePause()
    transport.fail_next(8, status=None)
    delivery, _ = make(transport, pause, max_retries=10)
    assert delivery.deliver(*batch(1))
    assert pause.delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0]


def test_a_refused_pause_gives_up_at_once() -> None:
    transport, pause = InMemoryTransport(), FakePause(allow=1)
    transport.fail_next(5, status=503)
    delivery, stats = make(transport, pause)
    assert not delivery.deliver(*batch(2))
    assert len(transport.requests) == 2
    assert stats.snapshot()["failed"] == 2


def test_sent_at_is_stamped_per_attempt_and_event_ids_stay() -> None:
    now = [1_800_000_000.0]
    transport, pause = InMemoryTransport(), FakePause()
    transport.fail_next(1, status=503)
    delivery, _ = make(transport, pause, wall_clock=lambda: now.__getitem__(0))

    def advance(delay_s: float) -> bool:
        now[0] += 10
        return pause(delay_s)

    delivery._pause = advance
    assert delivery.deliver(*batch(2))
    first, second = (request.payload for request in transport.requests)
    assert second["sent_at"] - first["sent_at"] == 10_000
    assert [e["event_id"] for e in first["batch"]] == [e["event_id"] for e in second["batch"]]


def test_413_halves_the_batch_until_it_fits() -> None:
    class SmallCollector(InMemoryTransport):
        def send(self, body: bytes, headers: Any) -> Response:
            if len(json.loads(gzip.decompress(body))["batch"]) > 2:
                return Response(413, {}, b'{"error": "too large"}')
            return super().send(body, headers)

    transport = SmallCollector()
    delivery, stats = make(transport, FakePause())
    assert delivery.deliver(*batch(5))
    assert [e["name"] for e in transport.events] == ["e0", "e1", "e2", "e3", "e4"]
    assert stats.snapshot()["failed"] == 0


def test_413_for_a_single_event_is_final() -> None:
    transport = InMemoryTransport()
    transport.fail_next(1, status=413)
    delivery, stats = make(transport, FakePause())
    assert not delivery.deliver(*batch(1))
    assert stats.snapshot()["failed"] == 1


def test_rejected_and_duplicate_events_are_counted_and_logged_without_payloads(
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport = InMemoryTransport(
        validator=lambda event: "revenue.currency: bad" if event["name"] == "e1" else None
    )
    lost: list[tuple[DeliveryError, list[dict[str, Any]]]] = []
    delivery, stats = make(transport, FakePause(), on_error=lambda e, evs: lost.append((e, evs)))
    caplog.set_level(logging.WARNING, logger="clycyo_sdk")
    events, encoded = batch(3)
    assert delivery.deliver(events, encoded)
    assert delivery.deliver(events, encoded)  # all three again: duplicates now, e1 still bad
    counts = stats.snapshot()
    assert (counts["sent"], counts["duplicates"], counts["rejected"]) == (2, 2, 2)
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert "'e1'" in caplog.text
    assert "revenue.currency: bad" in caplog.text
    assert SECRET not in caplog.text
    assert lost[0][0].reason == "rejected: revenue.currency: bad"
    assert lost[0][1] == [events[1]]


class Answering(InMemoryTransport):
    """Answers every request with the given body, as a collector that judged the events."""

    def __init__(self, answer: dict[str, Any]) -> None:
        super().__init__()
        self.answer = answer

    def send(self, body: bytes, headers: Any) -> Response:
        super().send(body, headers)
        return Response(200, {}, json.dumps(self.answer).encode())


def test_ignored_events_are_counted_and_logged_once_at_info(
    caplog: pytest.LogCaptureFixture,
) -> None:
    answer = {"accepted": 1, "duplicates": 0, "ignored": 2, "rejected": []}
    lost: list[Any] = []
    delivery, stats = make(Answering(answer), FakePause(), on_error=lambda e, evs: lost.append(e))
    caplog.set_level(logging.DEBUG, logger="clycyo_sdk")
    assert delivery.deliver(*batch(3))
    assert delivery.deliver(*batch(3))
    counts = stats.snapshot()
    assert (counts["sent"], counts["ignored"], counts["rejected"], counts["failed"]) == (2, 4, 0, 0)
    assert [r.levelname for r in caplog.records] == ["INFO", "DEBUG"]
    assert "ignored 2 event(s)" in caplog.text
    assert SECRET not in caplog.text
    assert lost == []  # not an error: on_error is not called


def test_without_accepted_in_the_answer_the_rest_counts_as_sent() -> None:
    answer = {"duplicates": 1, "ignored": 1, "rejected": [{"index": 0, "error": "name: bad"}]}
    delivery, stats = make(Answering(answer), FakePause())
    assert delivery.deliver(*batch(5))
    counts = stats.snapshot()
    assert [counts[k] for k in ("sent", "duplicates", "ignored", "rejected")] == [2, 1, 1, 1]


def test_an_unreadable_2xx_answer_counts_the_batch_as_accepted() -> None:
    class Blank(InMemoryTransport):
        def send(self, body: bytes, headers: Any) -> Response:
            super().send(body, headers)
            return Response(202, {}, b"")

    delivery, stats = make(Blank(), FakePause())
    assert delivery.deliver(*batch(4))
    assert stats.snapshot()["sent"] == 4


def test_a_crashing_on_error_callback_stays_inside(caplog: pytest.LogCaptureFixture) -> None:
    transport = InMemoryTransport()
    transport.fail_next(1, status=400)

    def explode(error: DeliveryError, events: list[dict[str, Any]]) -> None:
        raise RuntimeError("boom")

    delivery, _ = make(transport, FakePause(), on_error=explode)
    assert not delivery.deliver(*batch(1))
    assert "on_error callback raised" in caplog.text
