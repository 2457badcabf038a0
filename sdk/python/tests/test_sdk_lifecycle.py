"""Fork and exit: a forked child gets its own queue and thread; exit flushes with a deadline."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path

import pytest

import clycyo_sdk
from sdk_doubles import Collector, MakeClient

SDK_SRC = str(Path(clycyo_sdk.__file__).resolve().parent.parent)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_sends_through_its_own_thread_and_duplicates_nothing(
    collector: Collector, make_client: MakeClient
) -> None:
    client = make_client(transport=None, host=collector.url, flush_interval_s=30.0)
    client.track("parent-before")
    assert client.flush(5)
    # Queued in the parent and still waiting for flush_interval_s when the fork happens.
    for i in range(3):
        client.track("parent-queued", props={"i": i})
    parent_thread = client._dispatcher._consumer
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork() in a process with threads; that is the point here.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: report through the exit code only, never return into pytest
        code = 10
        try:
            fresh = client._dispatcher._consumer is not parent_thread
            empty = client.stats()["queued"] == 0
            client.track("child")
            running = client._dispatcher._consumer.running
            delivered = client.flush(10)
            code = 0 if (fresh and empty and running and delivered) else 11
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert client.flush(10)
    assert sorted(collector.names()) == ["child", "parent-before"] + ["parent-queued"] * 3
    assert collector.duplicates == 0


def run_script(script: str, *args: str, timeout_s: float = 20, as_file: bool = False) -> float:
    """Run `script` in a fresh interpreter; `as_file` for multiprocessing's spawn, which
    re-imports the main module from its file."""
    started = time.monotonic()
    env = {**os.environ, "PYTHONPATH": SDK_SRC}
    with tempfile.TemporaryDirectory() as folder:
        if as_file:
            path = Path(folder) / "script.py"
            path.write_text(textwrap.dedent(script), encoding="utf-8")
            command = [sys.executable, str(path), *args]
        else:
            command = [sys.executable, "-c", textwrap.dedent(script), *args]
        subprocess.run(command, check=True, env=env, timeout=timeout_s)
    return time.monotonic() - started


def test_exit_flushes_what_is_still_queued(collector: Collector) -> None:
    run_script(
        """
        import sys, clycyo_sdk
        client = clycyo_sdk.Client("sk", host=sys.argv[1], flush_interval_s=30.0)
        for i in range(5):
            client.track("at-exit", props={"i": i})
        """,
        collector.url,
    )
    assert collector.names() == ["at-exit"] * 5


def test_the_default_client_is_flushed_at_exit_too(collector: Collector) -> None:
    run_script(
        """
        import sys, clycyo_sdk
        clycyo_sdk.init("sk", host=sys.argv[1], flush_interval_s=30.0)
        clycyo_sdk.track("shortcut")
        """,
        collector.url,
    )
    assert collector.names() == ["shortcut"]


def test_exit_waits_no_longer_than_its_deadline(collector: Collector) -> None:
    collector.fail_first = 10_000
    collector.retry_after = None
    elapsed_s = run_script(
        """
        import sys, clycyo_sdk
        client = clycyo_sdk.Client(
            "sk", host=sys.argv[1], exit_flush_timeout_s=1.0, backoff_base_s=0.2
        )
        client.track("doomed")
        """,
        collector.url,
    )
    assert collector.requests >= 1
    assert elapsed_s < 6.0  # 1 s of deadline plus interpreter start-up, with room for CI


def test_exit_flush_can_be_turned_off(collector: Collector) -> None:
    run_script(
        """
        import sys, clycyo_sdk
        client = clycyo_sdk.Client(
            "sk", host=sys.argv[1], flush_interval_s=30.0, exit_flush_timeout_s=None
        )
        client.track("never")
        """,
        collector.url,
    )
    assert collector.requests == 0


def test_exit_flushes_a_client_the_application_no_longer_holds(collector: Collector) -> None:
    # A job function that makes its own client: the client is gone when the function returns,
    # but its queue is not.
    run_script(
        """
        import sys, clycyo_sdk
        def job():
            client = clycyo_sdk.Client("sk", host=sys.argv[1], flush_interval_s=30.0)
            client.track("job.done")
        job()
        """,
        collector.url,
    )
    assert collector.names() == ["job.done"]


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_a_multiprocessing_child_flushes_its_events_when_it_ends(
    collector: Collector, start_method: str
) -> None:
    # multiprocessing ends a child with os._exit(), which runs no atexit handler.
    if start_method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {start_method} start method here")
    run_script(
        """
        import multiprocessing, sys, clycyo_sdk

        def work(url, n):
            client = clycyo_sdk.Client("sk", host=url, flush_interval_s=30.0)
            client.track("child.work", props={"n": n})

        if __name__ == "__main__":
            multiprocessing.set_start_method(sys.argv[2])
            process = multiprocessing.Process(target=work, args=(sys.argv[1], 1))
            process.start()
            process.join()
            with multiprocessing.Pool(2) as pool:
                pool.starmap(work, [(sys.argv[1], n) for n in range(2, 6)])
                pool.close()
                pool.join()
        """,
        collector.url,
        start_method,
        as_file=True,
    )
    assert sorted(e["props"]["n"] for e in collector.events.values()) == [1, 2, 3, 4, 5]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="calls the C library's fork()")
def test_a_child_forked_without_python_fork_hooks_gets_its_own_queue(collector: Collector) -> None:
    # uWSGI forks its workers with the C library's fork(), which runs no os.register_at_fork
    # hook (unless told to): the client must notice the new process by itself. uWSGI forks
    # holding the interpreter lock, as PyDLL calls do (a CDLL call lets go of it, and a fork
    # while the sender thread held it would leave the child waiting for it for ever). Nor does
    # such a fork reset the lock's hand-over, so the sender, woken by the queued event, is
    # first let settle into its wait for more.
    run_script(
        """
        import ctypes, os, sys, time, clycyo_sdk
        client = clycyo_sdk.Client("sk", host=sys.argv[1], flush_interval_s=30.0)
        client.track("parent-before")
        assert client.flush(5)
        client.track("parent-queued")
        time.sleep(0.3)
        pid = ctypes.PyDLL(None).fork()
        if pid == 0:
            client.track("child")
            delivered = client.flush(5)
            os._exit(0 if delivered and client.stats()["sent"] == 1 else 11)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, status
        assert client.flush(5)
        """,
        collector.url,
    )
    assert sorted(collector.names()) == ["child", "parent-before", "parent-queued"]
    assert collector.duplicates == 0


def test_the_exit_flushes_of_several_clients_wait_together(collector: Collector) -> None:
    # Three clients with events stuck behind an unreachable collector: the exit takes about one
    # deadline, not one per client.
    collector.fail_first = 10_000
    collector.retry_after = None
    elapsed_s = run_script(
        """
        import sys, clycyo_sdk
        clients = [
            clycyo_sdk.Client(
                "sk",
                host=sys.argv[1],
                exit_flush_timeout_s=1.5,
                backoff_base_s=0.05,
                max_backoff_s=0.1,  # each client retries until its deadline is near
                max_retries=1000,
            )
            for _ in range(3)
        ]
        for client in clients:
            client.track("doomed")
        """,
        collector.url,
    )
    assert collector.requests >= 3
    assert elapsed_s < 3.0  # one 1.5 s deadline plus start-up; one after another is 4.5 s
