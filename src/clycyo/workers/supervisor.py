"""Start, watch and stop the collector processes of `clycyo serve --workers N`.

A collector that dies is started again (after a pause that grows if it keeps dying); on shutdown
every collector gets SIGTERM, finishes the requests it holds and syncs its log, and only then does
the core load the last records and close the store.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

_STOP_TIMEOUT_S = 15.0


class Supervisor:
    def __init__(
        self,
        *,
        count: int,
        data_dir: Path,
        host: str,
        port: int,
        core_socket: Path,
        extra_args: list[str] | None = None,
        loaded_seq: Callable[[int], int] | None = None,
    ) -> None:
        self.count = count
        self.data_dir = data_dir
        self.host = host
        self.port = port
        self.core_socket = core_socket
        self.extra_args = extra_args or []
        # The last record of each collector's log the core has loaded, asked at each start.
        self.loaded_seq = loaded_seq
        self._processes: dict[int, subprocess.Popen[bytes]] = {}
        self._stopping = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(target=self._watch, name="collector-watch", daemon=True)

    def command(self, index: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "clycyo.workers.collector",
            "--data",
            str(self.data_dir),
            "--index",
            str(index),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--core-socket",
            str(self.core_socket),
            "--loaded-seq",
            str(self.loaded_seq(index) if self.loaded_seq else 0),
            *self.extra_args,
        ]

    def start(self) -> None:
        self._thread.start()

    def _spawn(self, index: int) -> None:
        # The command is this interpreter and fixed arguments, not outside input.
        self._processes[index] = subprocess.Popen(self.command(index))  # noqa: S603

    def _watch(self) -> None:
        # Collectors are started from this thread, which lives as long as the server: the
        # kernel signals a child when the thread that started it ends (PR_SET_PDEATHSIG).
        for index in range(self.count):
            self._spawn(index)
        failures: dict[int, int] = {}
        while not self._stopping.wait(0.5):
            for index, process in list(self._processes.items()):
                code = process.poll()
                if code is None or self._stopping.is_set():
                    continue
                failures[index] = failures.get(index, 0) + 1
                pause_s = min(30.0, 0.5 * 2 ** min(failures[index], 6))
                log.error("collector %d exited with %s; starting it again", index, code)
                if self._stopping.wait(pause_s):
                    return
                self._spawn(index)

    def pids(self) -> list[int]:
        return [p.pid for p in self._processes.values() if p.poll() is None]

    def stopping(self) -> None:
        """The server is shutting down: collectors that exit now are not started again."""
        self._stopping.set()

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        for process in self._processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + _STOP_TIMEOUT_S
        for process in self._processes.values():
            left = max(0.1, deadline - time.monotonic())
            try:
                process.wait(left)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
