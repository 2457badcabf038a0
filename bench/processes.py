"""Processes a benchmark starts and watches: free ports, the process tree, its RSS, CPU time per
thread (Python threads by their names, read with py-spy), and py-spy profiles."""

from __future__ import annotations

import collections
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PY_SPY = Path(sys.executable).parent / "py-spy"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout_s} s")


def process_tree(pid: int) -> list[int]:
    """`pid` and every process below it."""
    found = [pid]
    for parent in found:
        with contextlib.suppress(OSError):
            for thread_dir in Path(f"/proc/{parent}/task").iterdir():
                children = (thread_dir / "children").read_text().split()
                found.extend(int(child) for child in children)
    return found


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
NATIVE = "native (DuckDB, Arrow)"


def python_thread_names(pid: int) -> dict[int, str]:
    """OS thread id -> Python thread name, read by py-spy (empty when py-spy is missing)."""
    if not PY_SPY.exists():
        return {}
    dump = subprocess.run(
        [str(PY_SPY), "dump", "--pid", str(pid), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    if dump.returncode != 0:
        return {}
    names = {}
    for thread in json.loads(dump.stdout):
        if thread.get("os_thread_id"):
            name = thread.get("thread_name") or "other Python thread"
            names[int(thread["os_thread_id"])] = "event loop" if name == "MainThread" else name
    return names


def thread_cpu_seconds(
    pids: list[int], names: dict[int, str], prefixes: dict[int, str] | None = None
) -> dict[str, float]:
    """CPU seconds (user + system) per thread of the processes in `pids`, grouped by name.

    Python threads carry their Python name (`names`); threads Python did not start are grouped
    by their OS name, those named like the process being DuckDB's and Arrow's workers. The
    threads of a process in `prefixes` are grouped apart, their names prefixed.
    """
    groups: dict[str, float] = collections.defaultdict(float)
    for pid in pids:
        prefix = (prefixes or {}).get(pid, "")
        try:
            process_name = Path(f"/proc/{pid}/comm").read_text().strip()
            thread_dirs = list(Path(f"/proc/{pid}/task").iterdir())
        except OSError:
            continue
        for thread_dir in thread_dirs:
            try:
                os_name = (thread_dir / "comm").read_text().strip()
                stat = (thread_dir / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2 :].split()
            seconds = (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
            tid = int(thread_dir.name)
            if tid in names:
                group = names[tid]
            elif tid == pid and not names:
                group = "event loop"
            elif os_name == process_name:
                group = NATIVE
            else:
                group = f"other ({os_name})"
            groups[prefix + group] += seconds
    return dict(groups)


class ResourceSampler:
    """Samples the peak RSS of a process tree while a load runs, and its CPU time.

    With `children` (a label), every process of the tree is named thread by thread and the child
    processes' threads are counted apart under that label (`clycyo serve --workers N`: the core
    and its collectors); otherwise only the youngest process's threads are named (a server that
    forks one worker, such as Granian)."""

    def __init__(self, pid: int, interval_s: float = 0.05, children: str | None = None) -> None:
        self.pid = pid
        self.prefixes: dict[int, str] = {}
        if children is None:
            self.names = python_thread_names(python_worker(pid))
        else:
            tree = process_tree(pid)
            self.names = {}
            for member in tree:
                self.names.update(python_thread_names(member))
            self.prefixes = dict.fromkeys(tree[1:], f"{children}: ")
        self.interval_s = interval_s
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.cpu_before: dict[str, float] = {}
        self.cpu_after: dict[str, float] = {}

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_rss = max(self.peak_rss, rss_bytes(process_tree(self.pid)))
            self._stop.wait(self.interval_s)

    def __enter__(self) -> ResourceSampler:
        self.cpu_before = thread_cpu_seconds(process_tree(self.pid), self.names, self.prefixes)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.cpu_after = thread_cpu_seconds(process_tree(self.pid), self.names, self.prefixes)

    def cpu_used(self) -> dict[str, float]:
        groups = set(self.cpu_before) | set(self.cpu_after)
        used = {g: self.cpu_after.get(g, 0.0) - self.cpu_before.get(g, 0.0) for g in groups}
        return {g: round(s, 3) for g, s in sorted(used.items()) if s > 0}


def profile_summary(raw: Path, top: int = 12) -> dict[str, Any]:
    """Per thread: share of samples, and the functions with the most samples (self, inclusive).

    `raw` is py-spy's collapsed-stack output: `thread (tid): name;frame;frame count` per line.
    """
    threads: collections.Counter[str] = collections.Counter()
    own: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    inclusive: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        thread = frames[0].split(": ", 1)[-1]
        functions = [re.sub(r":\d+\)$", ")", f) for f in frames[1:]]
        threads[thread] += count
        if functions:
            own[thread][functions[-1]] += count
        for function in set(functions):
            inclusive[thread][function] += count
    total = sum(threads.values()) or 1
    summary: dict[str, Any] = {}
    for thread, samples in threads.most_common(4):
        summary[thread] = {
            "share_of_samples": round(samples / total, 3),
            "self": [[f, round(n / samples, 3)] for f, n in own[thread].most_common(top)],
            "inclusive": [
                [f, round(n / samples, 3)] for f, n in inclusive[thread].most_common(top)
            ],
        }
    return summary


@contextlib.contextmanager
def profiled(pid: int, seconds: float, output: Path, mode: str) -> Iterator[None]:
    """py-spy on `pid` (the process that runs Python: Granian's worker, not its parent).

    `mode` "wall" samples every thread that is not idle; "gil" only the thread holding the GIL,
    which shows where the interpreter's time goes.
    """
    command = [
        str(PY_SPY),
        *("record", "--pid", str(pid), "--duration", str(max(1, int(seconds)))),
        *("--format", "raw", "--threads", "--nonblocking", "--rate", "200"),
        *(["--gil"] if mode == "gil" else []),
        *("--output", str(output)),
    ]
    spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        spy.wait(seconds + 30)


def python_worker(pid: int) -> int:
    """The process that runs the app: the youngest in the tree (Granian forks a worker)."""
    return process_tree(pid)[-1]


def in_fresh_process(script: str, *args: str) -> dict[str, Any]:
    """Run `script` with `args` in a new Python process (nothing of this one's memory or caches
    carried over); the JSON object its output ends with."""
    output = subprocess.run(
        [sys.executable, script, *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])  # type: ignore[no-any-return]
