"""Keeping clients working across `fork()` and flushing them when the interpreter exits.

A forked child inherits the parent's queue and a consumer thread that does not exist in it: each
live client is given a fresh queue in the child (the parent's queued events stay the parent's, so
none is sent twice) and starts its own thread on its first event. At exit every live client is
flushed with its own deadline, also in a multiprocessing child, which ends with `os._exit()` and
so runs no `atexit` handler. An idle client is held by a weak reference only; one whose thread
has started is held until it is shut down, because its queue must be flushed at exit even when
the application no longer holds the client.
"""

from __future__ import annotations

import atexit
import os
import sys
import weakref
from typing import Callable, Protocol

from clycyo_sdk.stats import logger


class Managed(Protocol):
    def _reset_after_fork(self) -> None: ...

    def _begin_exit_flush(self) -> Callable[[], object]:
        """Start the exit flush; the call returned waits for it."""
        ...


_clients: weakref.WeakSet[Managed] = weakref.WeakSet()
_started: set[Managed] = set()
_multiprocessing_exit_pids: set[int] = set()  # processes whose multiprocessing exit flushes


def register(client: Managed) -> None:
    _clients.add(client)


def keep(client: Managed) -> None:
    """`client` has events queued and its thread running: keep it until it is shut down."""
    _clients.add(client)
    _started.add(client)
    _flush_at_multiprocessing_exit()


def forget(client: Managed) -> None:
    _clients.discard(client)
    _started.discard(client)


def _flush_at_multiprocessing_exit() -> None:
    # A multiprocessing child (any start method, a Pool's worker too) runs the finalizers
    # registered while it ran, then calls os._exit(): the exit flush must be one of them. The
    # registry is cleared when the child starts, so this is done from the child's first event.
    if "multiprocessing" not in sys.modules or os.getpid() in _multiprocessing_exit_pids:
        return
    import multiprocessing.util

    if multiprocessing.parent_process() is None:
        return
    _multiprocessing_exit_pids.add(os.getpid())
    multiprocessing.util.Finalize(None, _at_exit, exitpriority=10)


def _after_fork_in_child() -> None:
    for client in list(_clients):
        try:
            client._reset_after_fork()
        except Exception:
            logger.exception("clycyo: could not reset a client after fork()")


def _at_exit() -> None:
    # Every client's flush starts before any is waited for: the exit lasts as long as the
    # longest deadline, not their sum.
    waits: list[Callable[[], object]] = []
    for client in list(_clients):
        try:
            waits.append(client._begin_exit_flush())
        except Exception:
            logger.exception("clycyo: could not flush a client at exit")
    for wait in waits:
        try:
            wait()
        except Exception:
            logger.exception("clycyo: could not flush a client at exit")


atexit.register(_at_exit)
if hasattr(os, "register_at_fork"):  # POSIX only
    os.register_at_fork(after_in_child=_after_fork_in_child)
