"""The SDK rides out a collector that stops and crashes mid-stream: nothing lost, nothing doubled.

Several application threads track events through one `Client` while the real `clycyo serve`
behind it is stopped gracefully, restarted, killed with `kill -9` and restarted again. Every
event whose `track()` was accepted before `flush()` returned True must then be stored exactly
once. This holds only if both halves keep their promises: the SDK retries every batch that got
no 2xx (the connection refused while the server is down, reset by the kill), and the server
stores a retried batch that it had already made durable (answered or not) once, by `event_id`.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping

from clycyo_sdk import Client, HTTPTransport, Response
from clycyo_sdk.transport import collect_url
from tests.serverproc import ServerProcess

THREADS = 4
EVENT = "restart.tick"


class WatchedTransport(HTTPTransport):
    """The SDK's own HTTP transport, telling the test when a request is on the wire."""

    def __init__(self, url: str) -> None:
        super().__init__(url, timeout_s=5.0)
        self.outstanding = threading.Event()

    def send(self, body: bytes, headers: Mapping[str, str]) -> Response:
        self.outstanding.set()
        try:
            return super().send(body, headers)
        finally:
            self.outstanding.clear()


def produce(client: Client, thread_no: int, tracked: list[str], stop: threading.Event) -> None:
    """Track paced events with our own ids, so that the stored ones can be matched exactly."""
    number = 0
    while not stop.is_set():
        event_id = f"t{thread_no}-{number}"
        if client.track(EVENT, event_id=event_id, user_id=f"u{thread_no}", props={"n": number}):
            tracked.append(event_id)
        number += 1
        # A pace an application could have (a few thousand events a second in all), so that the
        # outage windows see a steady stream rather than one burst.
        time.sleep(0.001)


def wait_for_more(count: Callable[[], int], more: int, timeout_s: float = 15.0) -> None:
    """Wait until `count()` has grown by `more` from now."""
    target = count() + more
    deadline = time.monotonic() + timeout_s
    while count() < target:
        assert time.monotonic() < deadline, f"timed out waiting for {more} more"
        time.sleep(0.01)


def test_stop_kill_and_restart_mid_stream_store_every_event_once(
    own_server: ServerProcess,
) -> None:
    own_server.start()
    site = own_server.add_site("restarts.example")
    transport = WatchedTransport(collect_url(own_server.url))
    client = Client(
        site.secret_key,
        transport=transport,
        flush_interval_s=0.05,
        # Short, many retries: a restart takes about a second, and the default backoff would make
        # the test wait for tens of seconds after the server is back.
        backoff_base_s=0.05,
        max_backoff_s=0.3,
        max_retries=1_000,
        max_queue_size=1_000_000,
        exit_flush_timeout_s=None,
    )
    tracked: list[str] = []  # list.append is atomic: one list for all the threads
    stop = threading.Event()
    threads = [
        threading.Thread(target=produce, args=(client, n, tracked, stop)) for n in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    try:
        wait_for_more(lambda: client.sent, 500)
        for interrupt in (own_server.stop, own_server.kill):
            # Interrupt while a batch is on the wire, at a random point of its round trip: before
            # the server read it, while it is being made durable, or after, with the answer lost.
            assert transport.outstanding.wait(timeout=5.0)
            time.sleep(random.uniform(0.0, 0.005))
            interrupt()
            wait_for_more(lambda: len(tracked), 200)  # tracked while the server is down
            own_server.start()
            wait_for_more(lambda: client.sent, 500)  # delivering again
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    try:
        assert client.flush(timeout=30.0) is True
        stats = client.stats()
    finally:
        client.shutdown(timeout=5.0)
    assert stats["dropped"] == stats["failed"] == stats["invalid"] == stats["rejected"] == 0, stats

    stored = Counter(e["event_id"] for e in site.events(name=EVENT, limit="1000000"))
    missing = set(tracked) - stored.keys()
    doubled = [event_id for event_id, count in stored.items() if count > 1]
    unknown = stored.keys() - set(tracked)
    assert len(tracked) >= 2_000
    assert not missing, f"{len(missing)} of {len(tracked)} tracked events are not stored"
    assert not doubled, f"{len(doubled)} events stored more than once"
    assert not unknown, f"{len(unknown)} stored events were never tracked"
