"""One sender at a time: in the background mode only the consumer thread sends, and a client
starts one consumer however many threads make its first calls at once.

The transport keeps one connection and is used by one thread at a time; two senders would share
it. These races are between a few instructions, so each test tries many times.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Mapping
from pathlib import Path

import pytest

import clycyo_sdk
from clycyo_sdk import Client
from clycyo_sdk.testing import InMemoryTransport
from clycyo_sdk.transport import Response

SDK_SRC = str(Path(clycyo_sdk.__file__).resolve().parent.parent)
CONSUMER = "clycyo-sdk-consumer"


class SenderRecordingTransport(InMemoryTransport):
    """Notes which threads sent, and whether two sends ever overlapped."""

    def __init__(self) -> None:
        super().__init__()
        self.senders: set[str] = set()
        self.inside = 0
        self.overlapped = False
        self._guard = threading.Lock()

    def send(self, body: bytes, headers: Mapping[str, str]) -> Response:
        with self._guard:
            self.senders.add(threading.current_thread().name)
            self.inside += 1
            self.overlapped = self.overlapped or self.inside > 1
        try:
            return super().send(body, headers)
        finally:
            with self._guard:
                self.inside -= 1


def race_the_first_events_against_flush() -> SenderRecordingTransport:
    """Two threads track a new client's first events while a third flushes it over and over."""
    transport = SenderRecordingTransport()
    client = Client("sk", transport=transport, flush_interval_s=0.0, exit_flush_timeout_s=None)
    start = threading.Barrier(3)
    tracked = threading.Event()

    def track(name: str) -> None:
        start.wait()
        client.track(name)
        tracked.set()

    def flush() -> None:
        start.wait()
        while not tracked.is_set():
            client.flush(5)

    threads = [
        threading.Thread(target=track, args=("a",), name="tracker-a"),
        threading.Thread(target=track, args=("b",), name="tracker-b"),
        threading.Thread(target=flush, name="flusher"),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert client.flush(5)
    assert client.shutdown(5)
    return transport


def test_a_flush_racing_the_first_event_never_sends_from_its_own_thread() -> None:
    # Before the thread was started under the flush's lock, a flush() that found no consumer
    # running delivered inline from its own thread while the first track() was starting one.
    for _ in range(200):
        transport = race_the_first_events_against_flush()
        assert sorted(e["name"] for e in transport.events) == ["a", "b"]
        assert transport.senders == {CONSUMER}
        assert not transport.overlapped


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="calls the C library's fork()")
def test_threads_noticing_a_fork_at_once_start_one_consumer_in_the_child() -> None:
    # A fork that ran no Python hook (uWSGI's) is noticed by the pid at the first calls; when
    # several threads noticed it at once, each rebuilt the queue and started its own consumer.
    # A tiny switch interval lets the threads interleave inside the rebuild, as real load does.
    script = """
        import ctypes, os, sys, threading, time
        import clycyo_sdk
        from clycyo_sdk.testing import InMemoryTransport

        THREADS = 16
        failures = []
        for trial in range(20):
            client = clycyo_sdk.Client(
                "sk", transport=InMemoryTransport(), flush_interval_s=30.0,
                exit_flush_timeout_s=None,
            )
            client.track("parent")
            assert client.flush(5)
            # The C fork() runs with the GIL released: let the parent's consumer settle into its
            # wait first, or the child may inherit a GIL that a thread it lacks holds.
            time.sleep(0.05)
            pid = ctypes.CDLL(None).fork()
            if pid == 0:
                sys.setswitchinterval(1e-6)
                before = set(threading.enumerate())
                start = threading.Barrier(THREADS)

                def first_call():
                    start.wait()
                    client.track("child")

                threads = [threading.Thread(target=first_call) for _ in range(THREADS)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                delivered = client.flush(5)
                consumers = [
                    thread for thread in threading.enumerate()
                    if thread.name == "clycyo-sdk-consumer" and thread not in before
                ]
                ok = delivered and len(consumers) == 1 and client.stats()["sent"] == THREADS
                os._exit(0 if ok else 11)
            _, status = os.waitpid(pid, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                failures.append(trial)
            client.shutdown(5)
        print(failures)
        sys.exit(1 if failures else 0)
    """
    env = {**os.environ, "PYTHONPATH": SDK_SRC}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
