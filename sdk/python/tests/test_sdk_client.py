"""The Client with the in-memory transport: queueing, flush, drops, sync mode, never raising."""

from __future__ import annotations

import logging
import threading
import time
from decimal import Decimal
from typing import Any

import pytest

from clycyo_sdk import Client, Revenue
from clycyo_sdk.stats import DeliveryError
from clycyo_sdk.testing import InMemoryTransport
from clycyo_sdk.transport import Response
from sdk_doubles import BlockingTransport, MakeClient

SECRET = "s3cr3t-payload"


class ExplodingTransport:
    def send(self, body: bytes, headers: Any) -> Response:
        raise RuntimeError("no network today")

    def close(self) -> None:
        raise RuntimeError("cannot close either")


def test_track_identify_page_reach_the_collector_in_order(
    make_client: MakeClient, transport: InMemoryTransport
) -> None:
    client = make_client()
    assert client.track(
        "invoice.paid",
        user_id="u_1",
        props={"plan": "pro"},
        revenue=Revenue(Decimal("49.00"), "EUR"),
        order_id="in_1",
    )
    assert client.identify("u_1", visitor_id="v_1", traits={"email": "a@example.com"})
    assert client.page("https://example.com/pricing", visitor_id="v_1", title="Pricing")
    assert client.flush(5)
    paid, identify, page = transport.events
    assert paid["revenue"] == {"amount": "49.00", "currency": "EUR"}
    assert paid["order_id"] == "in_1"
    assert paid["props"] == {"plan": "pro"}
    assert identify == {
        "type": "identify",
        "user_id": "u_1",
        "visitor_id": "v_1",
        "traits": {"email": "a@example.com"},
        "timestamp": identify["timestamp"],
        "event_id": identify["event_id"],
    }
    assert page["type"] == "pageview"
    assert page["url"] == "https://example.com/pricing"
    assert all(isinstance(e["timestamp"], (int, float)) for e in transport.events)
    assert client.sent == 3


def test_props_are_copied_at_the_call(
    make_client: MakeClient, transport: InMemoryTransport
) -> None:
    client = make_client()
    props = {"step": 1}
    client.track("step", props=props)
    props["step"] = 2
    client.flush(5)
    assert transport.events[0]["props"] == {"step": 1}


def test_revenue_and_context_are_copied_at_the_call(make_client: MakeClient) -> None:
    # A loop that reuses its dicts must not have every event sent with the last values.
    blocking = BlockingTransport()
    client = make_client(transport=blocking, flush_at=1)
    client.track("first")
    assert blocking.entered.wait(5)  # the consumer is busy: the next events wait in the queue
    revenue: dict[str, Any] = {"currency": "EUR"}
    context = {"user_agent": "Mozilla/5.0"}
    for amount in ("19.00", "29.00"):
        revenue["amount"] = amount
        context["locale"] = amount
        client.track("purchase", revenue=revenue, context=context, order_id=amount)
    client.identify("u1", context=context)
    client.page("https://example.com/", context=context)
    revenue["amount"] = "999.00"
    context["locale"] = "changed"
    blocking.release.set()
    assert client.flush(5)
    purchases = [e for e in blocking.events if e.get("name") == "purchase"]
    assert [e["revenue"]["amount"] for e in purchases] == ["19.00", "29.00"]
    assert [e["context"]["locale"] for e in blocking.events[1:]] == ["19.00", "29.00"] + [
        "29.00"
    ] * 2


def test_events_are_batched_in_one_request(
    make_client: MakeClient, transport: InMemoryTransport
) -> None:
    client = make_client(flush_interval_s=5.0, flush_at=50)
    for i in range(50):
        client.track("bulk", props={"i": i})
    assert transport.wait_for(50, timeout_s=5)
    assert len(transport.requests) == 1  # flush_at reached long before flush_interval_s


def test_the_time_limit_sends_a_partial_batch(
    make_client: MakeClient, transport: InMemoryTransport
) -> None:
    client = make_client(flush_interval_s=0.05, flush_at=100)
    client.track("lonely")
    assert transport.wait_for(1, timeout_s=5)


def test_a_full_queue_drops_counts_and_logs_once_without_payloads(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    blocking = BlockingTransport()
    client = make_client(transport=blocking, max_queue_size=5, flush_at=1)
    caplog.set_level(logging.DEBUG, logger="clycyo_sdk")
    assert client.track("first", props={"secret": SECRET})
    assert blocking.entered.wait(5)  # the consumer holds "first" and waits in send()
    accepted = [client.track("more", props={"secret": SECRET}) for _ in range(25)]
    assert accepted == [True] * 5 + [False] * 20
    assert client.dropped == 20
    full = [r for r in caplog.records if "queue is full" in r.getMessage()]
    assert [r.levelname for r in full] == ["WARNING"] + ["DEBUG"] * 19
    assert SECRET not in caplog.text
    blocking.release.set()
    assert client.flush(5)
    assert len(blocking.events) == 6


def test_track_never_raises_whatever_it_is_given(
    make_client: MakeClient, transport: InMemoryTransport
) -> None:
    client = make_client()
    bad: list[Any] = [None, 5, "", object()]
    for name in bad:
        assert client.track(name) is True  # queued; refused in the consumer
    assert client.track("x", props=5) is False  # type: ignore[arg-type]
    assert client.track("x", revenue=("1", "EUR", "extra")) is True  # type: ignore[arg-type]
    assert client.track("x", timestamp=object()) is True  # type: ignore[arg-type]
    assert client.identify(None, traits=[1]) is False  # type: ignore[arg-type]
    assert client.track("ok")
    assert not client.flush(5)  # some events were refused as invalid
    assert [e["name"] for e in transport.events] == ["ok"]
    assert client.stats()["invalid"] == 8


def test_a_transport_that_raises_everything_never_reaches_the_caller(
    make_client: MakeClient,
) -> None:
    client = make_client(transport=ExplodingTransport(), max_retries=1, backoff_base_s=0)
    assert client.track("x")
    assert client.flush(5) is False
    assert client.failed == 1
    assert client.shutdown(2) is True  # nothing queued any more; close() raising is contained


def test_on_error_receives_lost_events(
    make_client: MakeClient, transport: InMemoryTransport
) -> None:
    lost: list[tuple[DeliveryError, list[dict[str, Any]]]] = []
    client = make_client(on_error=lambda error, events: lost.append((error, events)))
    transport.fail_next(1, status=401)
    client.track("x", user_id="u")
    assert not client.flush(5)
    assert lost[0][0].status == 401
    assert lost[0][1][0]["user_id"] == "u"


def test_flush_waits_for_retries(make_client: MakeClient, transport: InMemoryTransport) -> None:
    client = make_client(backoff_base_s=0.01, max_backoff_s=0.02)
    transport.fail_next(3, status=503)
    client.track("x")
    assert client.flush(5)
    assert len(transport.events) == 1
    assert len(transport.requests) == 4


def test_flush_times_out(make_client: MakeClient) -> None:
    blocking = BlockingTransport()
    client = make_client(transport=blocking)
    client.track("x")
    assert client.flush(0.05) is False
    blocking.release.set()
    assert client.flush(5)


def test_flush_with_nothing_queued_is_true_at_once(make_client: MakeClient) -> None:
    assert make_client().flush(0.01)


def test_shutdown_flushes_stops_the_thread_and_refuses_later_events(
    make_client: MakeClient, transport: InMemoryTransport
) -> None:
    client = make_client(flush_interval_s=10.0)
    client.track("before")
    assert client.shutdown(5)
    assert [e["name"] for e in transport.events] == ["before"]
    assert transport.closed
    assert not client._dispatcher._consumer.running
    assert client.track("after") is False
    assert client.dropped == 1
    assert client.shutdown(1)  # a second call is harmless


def test_shutdown_gives_up_pending_retries_at_its_deadline(
    make_client: MakeClient, transport: InMemoryTransport
) -> None:
    client = make_client(backoff_base_s=60.0, max_backoff_s=60.0)
    transport.fail_next(10, status=503)
    client.track("x")
    assert not client.flush(0.2)  # the first try failed; the next one is a minute away
    assert len(transport.requests) == 1
    assert client.shutdown(0.5) is False
    assert client.failed == 1


def test_batches_given_up_at_the_shutdown_deadline_are_logged_once(
    make_client: MakeClient, transport: InMemoryTransport, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(flush_at=1, backoff_base_s=60.0, max_backoff_s=60.0)
    transport.fail_next(100, status=503)
    for _ in range(5):
        client.track("x")
    assert not client.flush(0.2)
    with caplog.at_level(logging.DEBUG, logger="clycyo_sdk"):
        assert client.shutdown(2.0) is False
    given_up = [r for r in caplog.records if "shutdown deadline" in r.getMessage()]
    assert [r.levelname for r in given_up] == ["WARNING"] + ["DEBUG"] * 4
    assert client.failed == 5


def test_flush_and_shutdown_take_timeout_in_seconds_by_keyword(
    make_client: MakeClient, transport: InMemoryTransport
) -> None:
    client = make_client(flush_interval_s=10.0)
    client.track("x")
    assert client.flush(timeout=5.0)
    assert client.flush(timeout=None)  # no limit
    client.track("y")
    assert client.shutdown(timeout=5.0)
    assert [e["name"] for e in transport.events] == ["x", "y"]


def test_context_manager_shuts_down(transport: InMemoryTransport) -> None:
    with Client("sk", transport=transport, flush_interval_s=10.0) as client:
        client.track("x")
    assert len(transport.events) == 1


def test_sync_mode_sends_inline_and_never_raises(transport: InMemoryTransport) -> None:
    client = Client("sk", transport=transport, sync_mode=True, max_retries=1, backoff_base_s=0)
    assert client.track("now", user_id="u")
    assert len(transport.events) == 1  # no flush needed, no thread started
    assert not client._dispatcher._consumer.running
    transport.fail_next(2, status=503)  # the try and its one retry
    assert client.track("lost") is False
    assert client.track("") is False  # invalid, reported as not delivered
    transport.fail_next(1, status=None)
    assert client.track("after a network error")
    broken = Client("sk", transport=ExplodingTransport(), sync_mode=True, max_retries=0)
    assert broken.track("x") is False
    assert client.shutdown(1)
    assert broken.shutdown(1)
    assert client.track("after shutdown") is False


def test_rejected_events_are_not_delivered_in_sync_mode() -> None:
    transport = InMemoryTransport(validator=lambda event: "name: reserved")
    client = Client("sk", transport=transport, sync_mode=True)
    assert client.track("x") is False
    assert client.rejected == 1
    client.shutdown(1)


def test_a_disabled_client_sends_nothing(transport: InMemoryTransport) -> None:
    client = Client("", transport=transport, enabled=False)
    assert client.track("x") is False
    assert client.flush(1)
    assert client.shutdown(1)
    assert transport.requests == []
    assert client.dropped == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"secret_key": ""}, "secret_key"),
        ({"flush_at": 0}, "flush_at"),
        ({"flush_at": 501}, "flush_at"),
        ({"max_batch_bytes": 600_000}, "max_batch_bytes"),
        ({"max_queue_size": 0}, "max_queue_size"),
        ({"host": "ftp://x"}, "host"),
        ({"trusted_proxies": True}, "trusted_proxies"),
        ({"proxy_header": "x-client-ip"}, "proxy_header"),
        ({"max_retries": -1}, "max_retries"),
    ],
)
def test_bad_options_fail_at_construction(options: dict[str, Any], message: str) -> None:
    options.setdefault("secret_key", "sk")
    with pytest.raises(ValueError, match=message):
        Client(options.pop("secret_key"), **options)


def test_many_threads_track_concurrently(
    make_client: MakeClient, transport: InMemoryTransport
) -> None:
    client = make_client(flush_at=50)

    def work(n: int) -> None:
        for i in range(200):
            client.track("t", props={"thread": n, "i": i})

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert client.flush(10)
    assert len(transport.events) == 1600
    assert transport.duplicates == 0
    assert client.stats()["queued"] == 0


@pytest.mark.parametrize("key", ["sk_with space", "sk_with\ttab", "sk_with\nline", "sk_é"])
def test_a_key_no_header_can_carry_is_refused_without_quoting_it(key: str) -> None:
    with pytest.raises(ValueError, match="secret_key") as raised:
        Client(key)
    assert key not in str(raised.value)
    assert "sk_with" not in str(raised.value)


def test_a_key_given_as_the_host_is_not_quoted_in_the_error() -> None:
    # The arguments swapped: Client(host, key).
    with pytest.raises(ValueError, match="host") as raised:
        Client("http://127.0.0.1:8000", "sk_live_abcdef")
    assert "sk_live_abcdef" not in str(raised.value)


class KeyQuotingTransport:
    """Fails the way http.client does for a header it refuses: quoting the header's value."""

    def send(self, body: bytes, headers: Any) -> Response:
        raise ValueError(f"Invalid header value {headers['Authorization'].encode()!r}")

    def close(self) -> None:
        pass


def test_the_secret_key_never_reaches_logs_or_on_error(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    errors: list[DeliveryError] = []
    client = make_client(
        secret_key="sk_live_abcdef",
        transport=KeyQuotingTransport(),
        max_retries=1,
        backoff_base_s=0.0,
        on_error=lambda error, events: errors.append(error),
    )
    with caplog.at_level(logging.DEBUG, logger="clycyo_sdk"):
        client.track("signup")
        assert not client.flush(5)
    assert errors
    assert all("sk_live_abcdef" not in error.reason for error in errors)
    assert "sk_live_abcdef" not in caplog.text


def test_an_event_queued_as_shutdown_begins_is_still_delivered(make_client: MakeClient) -> None:
    blocking = BlockingTransport()
    client = make_client(transport=blocking, flush_at=1)
    client.track("first")
    assert blocking.entered.wait(5)
    stopping = threading.Thread(target=client.shutdown, kwargs={"timeout": 5.0})
    stopping.start()
    queued = client._dispatcher.queue
    deadline = time.monotonic() + 5
    while queued.qsize() < 2:  # shutdown's flush marker and stop sentinel
        assert time.monotonic() < deadline
        time.sleep(0.001)
    # What a track() in another thread puts there when it found the client still open an
    # instant before shutdown() closed it: an event behind the stop sentinel.
    queued.put({"type": "event", "name": "late", "timestamp": time.time()})
    blocking.release.set()
    stopping.join(10)
    assert [e["name"] for e in blocking.events] == ["first", "late"]


def test_oversized_events_are_logged_once_whatever_their_sizes(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(max_batch_bytes=1024)
    with caplog.at_level(logging.DEBUG, logger="clycyo_sdk"):
        for size in (2000, 3000, 4000):
            client.track("big", props={"text": "x" * size})
        assert not client.flush(5)
    dropped = [r for r in caplog.records if "dropped an invalid event" in r.getMessage()]
    assert [r.levelname for r in dropped] == ["WARNING", "DEBUG", "DEBUG"]
    assert client.stats()["invalid"] == 3
