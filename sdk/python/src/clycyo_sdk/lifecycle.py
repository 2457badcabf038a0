"""Keeping clients working across `fork()` and flushing them when the interpreter exits.

A forked child inherits the parent's queue and a consumer thread that does not exist in it: each
live client is given a fresh queue in the child (the parent's queued events stay the parent's, so
none is sent twice) and starts its own thread on its first event. At exit every live client is
flushed with its own deadline. This module holds weak references only: it keeps no client alive.
"""

from __future__ import annotations

import atexit
import os
import weakref
from typing import Protocol

from clycyo_sdk.stats import logger


class Managed(Protocol):
    def _reset_after_fork(self) -> None: ...

    def _flush_at_exit(self) -> None: ...


_clients: weakref.WeakSet[Managed] = weakref.WeakSet()


def register(client: Managed) -> None:
    _clients.add(client)


def forget(client: Managed) -> None:
    _clients.discard(client)


def _after_fork_in_child() -> None:
    for client in list(_clients):
        try:
            client._reset_after_fork()
        except Exception:
            logger.exception("clycyo: could not reset a client after fork()")


def _at_exit() -> None:
    for client in list(_clients):
        try:
            client._flush_at_exit()
        except Exception:
            logger.exception("clycyo: could not flush a client at exit")


atexit.register(_at_exit)
if hasattr(os, "register_at_fork"):  # POSIX only
    os.register_at_fork(after_in_child=_after_fork_in_child)
