"""Ingest throughput of `POST /api/collect` over loopback, measured with wrk against nginx.

One run measures, with the same load generator and the same settings:

* nginx (`worker_processes 1;`, `--nginx-workers auto` to change) answering `return 204;` to
  the same requests as the single events: the ceiling of the machine and of wrk. It runs before,
  between and after the groups below, and each group is compared with the mean of the nginx runs
  just before and after it, since other work on the machine makes the ceiling drift;
* an empty ASGI app (`bench/asgi_floor.py`) under uvicorn and under Granian (the ceiling of
  each server);
* `clycyo serve` on a fresh data folder (rate limits off), under uvicorn (the shipped server)
  and under Granian (`bench/granian_serve.py`), with
  - single browser events: the public key, `text/plain`, the site's `Origin`, a Chrome UA
    string, a unique `event_id` per request (built in wrk's Lua) and, for comparison, the same
    body every time without an `event_id` (the server makes one);
  - batches of 100 server events with the secret key, unique `event_id`s.

Every `200` is a durable acknowledgement (the intake log was fsynced). After each load the
script waits for the store writer to catch up and checks that the store holds at least every
acknowledged event and no more than the requests still in flight when wrk stopped could add;
after the server stops it opens the DuckDB file read-only and checks that it holds exactly the
events the server reported stored, each `event_id` once.

Reported per load: requests/s, events/s (acknowledged, and stored counting the writer's catch-up),
p50/p99 latency, the ratio to nginx's requests/s, the server's peak RSS (sampled from
/proc/PID/status, all of its processes) and the server's CPU time per event, per thread. CPU time
per event is the figure least disturbed by other work on the machine.

    .venv/bin/python bench/ingest.py                       # everything, 10 s per load
    .venv/bin/python bench/ingest.py --servers uvicorn --duration 20
    .venv/bin/python bench/ingest.py --profile [gil]       # py-spy on each Clycyo load

Results are printed as a table and written to `bench/results/ingest-TIMESTAMP.{json,md}`.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from machine import machine
from machine import versions as machine_versions

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
WRK = shutil.which("wrk") or "/usr/bin/wrk"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PY_SPY = VENV_BIN / "py-spy"

DOMAIN = "bench.example.com"
CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
BATCH_SIZE = 100
# The benchmark measures capacity: the server's per-address and per-key rate limits are off.
NO_RATE_LIMITS = {"CLYCYO_RATE_LIMIT_SOURCE": "0", "CLYCYO_RATE_LIMIT_KEY": "0"}
# uvicorn re-raises the SIGTERM it handled once it has shut down, so its exit status says so.
GRACEFUL_EXIT = (0, -signal.SIGTERM)
WARMUP_S = 3
PAGE_URL = f"https://{DOMAIN}/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=spring"

# Headers a browser sends with `navigator.sendBeacon` from a page of the site.
BROWSER_HEADERS = {
    "Content-Type": "text/plain;charset=UTF-8",
    "Origin": f"https://{DOMAIN}",
    "Referer": PAGE_URL,
    "User-Agent": CHROME_UA,
    "Accept": "*/*",
    "Accept-Language": "en-GB,en;q=0.9",
    "Accept-Encoding": "gzip, deflate, br, zstd",
    "Sec-Fetch-Site": "same-site",
    "Sec-Fetch-Mode": "no-cors",
    "Sec-Fetch-Dest": "empty",
}


# Machine and processes


def versions() -> dict[str, str]:
    found = machine_versions(
        ("uvicorn", "uvloop", "httptools", "granian", "duckdb", "msgspec", "pyarrow")
    )
    wrk = subprocess.run([WRK, "-v"], capture_output=True, text=True, check=False)
    found["wrk"] = (wrk.stdout + wrk.stderr).split("[")[0].replace("wrk", "").strip()
    nginx = subprocess.run([NGINX, "-v"], capture_output=True, text=True, check=False)
    found["nginx"] = nginx.stderr.strip().split("/")[-1]
    return found


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


def thread_cpu_seconds(pids: list[int], names: dict[int, str]) -> dict[str, float]:
    """CPU seconds (user + system) per thread of the processes in `pids`, grouped by name.

    Python threads carry their Python name (`names`); threads Python did not start are grouped
    by their OS name, those named like the process being DuckDB's and Arrow's workers.
    """
    groups: dict[str, float] = collections.defaultdict(float)
    for pid in pids:
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
            groups[group] += seconds
    return dict(groups)


class ResourceSampler:
    """Samples the peak RSS of a process tree while a load runs, and its CPU time."""

    def __init__(self, pid: int, interval_s: float = 0.05) -> None:
        self.pid = pid
        self.names = python_thread_names(python_worker(pid))
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
        self.cpu_before = thread_cpu_seconds(process_tree(self.pid), self.names)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.cpu_after = thread_cpu_seconds(process_tree(self.pid), self.names)

    def cpu_used(self) -> dict[str, float]:
        groups = set(self.cpu_before) | set(self.cpu_after)
        used = {g: self.cpu_after.get(g, 0.0) - self.cpu_before.get(g, 0.0) for g in groups}
        return {g: round(s, 3) for g, s in sorted(used.items()) if s > 0}


# wrk


# Prints the summary as one JSON line; `done` runs once, after every thread stopped.
LUA_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d,' ..
    '"mean_us":%.1f,"max_us":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max))
end
"""

# Gives each wrk thread a number, so ids made in different threads never meet.
LUA_THREADS = """
local threads_made = 0
setup = function(thread)
  threads_made = threads_made + 1
  thread:set("thread_number", threads_made)
end
"""


def lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal here


def lua_headers(headers: dict[str, str]) -> str:
    return "\n".join(f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items())


def single_event(public_key: str, event_id: str | None, timestamp_ms: int) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "pageview",
        "url": PAGE_URL,
        "referrer": "https://www.google.com/",
        "title": "Pricing - Bench",
        "visitor_id": "v_8f14e45fceea167a",
        "session_id": "s_c9f0f895fb98ab91",
        "timestamp": timestamp_ms,
        "sent_at": timestamp_ms,
        "key": public_key,
    }
    if event_id is not None:
        event = {"event_id": event_id, **event}
    return event


def static_lua(headers: dict[str, str], body: bytes) -> str:
    return "\n".join(
        [
            'wrk.method = "POST"',
            f"wrk.body = {lua_string(body.decode())}",
            lua_headers(headers),
            LUA_DONE,
        ]
    )


def unique_single_lua(public_key: str, run_tag: str, timestamp_ms: int) -> str:
    """Single events whose `event_id` (and visitor) differ on every request."""
    marker = "EVENT_ID_MARKER"
    body = json.dumps(single_event(public_key, marker, timestamp_ms), separators=(",", ":"))
    before, after = body.split(marker)
    return "\n".join(
        [
            'wrk.method = "POST"',
            lua_headers(BROWSER_HEADERS),
            LUA_THREADS,
            f"local before = {lua_string(before)}",
            f"local after = {lua_string(after)}",
            "local counter = 0",
            "request = function()",
            "  counter = counter + 1",
            f'  local id = "{run_tag}-" .. thread_number .. "-" .. counter',
            "  return wrk.format(nil, nil, nil, before .. id .. after)",
            "end",
            LUA_DONE,
        ]
    )


def batch_events(run_tag: str | None, request_marker: str) -> list[dict[str, Any]]:
    """Server events as a backend sends them, forwarding its end users' context."""
    events = []
    for index in range(BATCH_SIZE):
        event: dict[str, Any] = {
            "type": "event",
            "name": ("api.request", "invoice.created", "search", "export")[index % 4],
            "user_id": f"user_{index % 37}",
            "props": {"plan": ("free", "pro", "team")[index % 3], "items": index % 7},
            "context": {
                "ip": f"81.2.69.{index + 1}",
                "user_agent": CHROME_UA,
                "locale": "en-GB",
            },
        }
        if run_tag is not None:
            event = {"event_id": f"{run_tag}-{request_marker}-{index}", **event}
        events.append(event)
    return events


def batch_lua(secret_key: str, run_tag: str) -> str:
    """Batches of 100 events; every request carries new `event_id`s."""
    marker = "REQUEST_MARKER"
    body = json.dumps({"batch": batch_events(run_tag, marker)}, separators=(",", ":"))
    pieces = body.split(marker)
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {secret_key}",
        "User-Agent": "clycyo-python/0.1",
    }
    return "\n".join(
        [
            'wrk.method = "POST"',
            lua_headers(headers),
            LUA_THREADS,
            "local pieces = {" + ", ".join(lua_string(p) for p in pieces) + "}",
            "local parts = {}",
            "local counter = 0",
            "request = function()",
            "  counter = counter + 1",
            '  local tag = thread_number .. "." .. counter',
            "  for i = 1, #pieces - 1 do",
            "    parts[2 * i - 1] = pieces[i]",
            "    parts[2 * i] = tag",
            "  end",
            "  parts[2 * #pieces - 1] = pieces[#pieces]",
            "  return wrk.format(nil, nil, nil, table.concat(parts))",
            "end",
            LUA_DONE,
        ]
    )


@dataclass
class WrkRun:
    requests: int
    duration_s: float
    errors: int
    non_2xx: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.duration_s

    @property
    def answered(self) -> int:
        """Responses with a 2xx or 3xx status."""
        return self.requests - self.non_2xx


def run_wrk(url: str, lua: Path, args: argparse.Namespace, duration_s: float) -> WrkRun:
    command = [
        WRK,
        f"-t{args.wrk_threads}",
        f"-c{args.connections}",
        f"-d{round(duration_s)}s",
        "--timeout",
        "10s",
        "-s",
        str(lua),
        url,
    ]
    completed = subprocess.run(command, capture_output=True, text=True, check=True)
    line = next(
        (x for x in completed.stdout.splitlines() if x.startswith("WRK_RESULT ")),
        None,
    )
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{completed.stdout}\n{completed.stderr}")
    raw = json.loads(line.removeprefix("WRK_RESULT "))
    socket_errors = (
        raw["connect_errors"] + raw["read_errors"] + raw["write_errors"] + raw["timeouts"]
    )
    return WrkRun(
        requests=raw["requests"],
        duration_s=raw["duration_us"] / 1e6,
        errors=socket_errors,
        non_2xx=raw["status_errors"],
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        mean_ms=raw["mean_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
    )


# Servers


NGINX_CONF = """
worker_processes {workers};
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 1000000000;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{ return 204; }}
    }}
}}
"""


@contextlib.contextmanager
def started(command: list[str], port: int, log: Path, **popen: Any) -> Iterator[int]:
    """Run `command` in its own process group until the block ends; yields its pid."""
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            command, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True, **popen
        )
    try:
        wait_for_port(port, process)
        yield process.pid
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes], timeout_s: float = 60) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode


def nginx(folder: Path, workers: str, port: int) -> contextlib.AbstractContextManager[int]:
    """nginx with its own configuration in `folder`, answering `204` to everything."""
    folder.mkdir()
    conf = folder / "nginx.conf"
    conf.write_text(NGINX_CONF.format(workers=workers, dir=folder, port=port))
    return started([NGINX, "-p", str(folder), "-c", str(conf)], port, folder / "stdout.log")


def floor_command(server: str, port: int) -> list[str]:
    """The empty ASGI app under `server`, configured like Clycyo's."""
    python = str(VENV_BIN / "python")
    if server == "uvicorn":
        return [
            *(python, "-m", "uvicorn", "asgi_floor:app", "--app-dir", str(ROOT / "bench")),
            *("--port", str(port), "--loop", "uvloop", "--http", "httptools"),
            *("--no-access-log", "--log-level", "warning", "--backlog", "4096"),
        ]
    return [
        *(str(VENV_BIN / "granian"), "--interface", "asgi", "--working-dir", str(ROOT / "bench")),
        *("--port", str(port), "--loop", "uvloop", "--http", "1", "--no-ws"),
        *("--backlog", "4096", "--log-level", "warning", "asgi_floor:app"),
    ]


def clycyo_command(server: str, data: Path, port: int) -> list[str]:
    """`uvicorn`: one process; `workersN`: N collector processes beside the core."""
    if server == "uvicorn" or server.startswith("workers"):
        command = [str(VENV_BIN / "clycyo"), "serve", "--data", str(data), "--port", str(port)]
        if server.startswith("workers"):
            command += ["--workers", server.removeprefix("workers")]
        return command
    launcher = ROOT / "bench" / "granian_serve.py"
    return [str(VENV_BIN / "python"), str(launcher), "--data", str(data), "--port", str(port)]


def get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def wait_ready(base: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if get_json(base + "/healthz").get("accepting"):
                return
        time.sleep(0.1)
    raise RuntimeError(f"{base}/healthz never answered")


def wait_caught_up(base: str, timeout_s: float = 300) -> tuple[int, float]:
    """Block until the writer has loaded every durable record; (stored events, seconds waited)."""
    started_at = time.monotonic()
    deadline = started_at + timeout_s
    while time.monotonic() < deadline:
        health = get_json(base + "/healthz")
        if health["writer_lag_records"] == 0:
            return int(health["stored_events"]), time.monotonic() - started_at
        time.sleep(0.02)
    raise RuntimeError(f"the writer did not catch up in {timeout_s} s")


def add_site(data: Path) -> dict[str, Any]:
    command = [str(VENV_BIN / "clycyo"), "site", "add", DOMAIN, "--json", "--data", str(data)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(output)  # type: ignore[no-any-return]


def count_stored(database: Path) -> tuple[int, int]:
    """(events, distinct event ids) in a DuckDB file, opened read-only."""
    import duckdb

    with duckdb.connect(str(database), read_only=True) as connection:
        row = connection.execute("SELECT count(*), count(DISTINCT event_id) FROM events").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


# Profiling


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


# The loads


@dataclass
class Load:
    name: str
    target: str  # nginx, asgi floor under a server, or clycyo under a server
    events_per_request: int
    requests_per_s: float
    events_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    peak_rss_mb: float | None = None
    ratio_to_nginx: float | None = None
    stored_events_per_s: float | None = None
    catch_up_s: float | None = None
    acknowledged_events: int | None = None
    stored_events: int | None = None
    cpu_us_per_event: dict[str, float] = field(default_factory=dict)
    check: str = ""
    profile: dict[str, Any] | None = None


def measure(
    name: str,
    target: str,
    url: str,
    lua: Path,
    pid: int | None,
    events_per_request: int,
    args: argparse.Namespace,
) -> tuple[Load, WrkRun]:
    sampler = ResourceSampler(pid) if pid is not None else None
    with sampler or contextlib.nullcontext():
        run = run_wrk(url, lua, args, args.duration)
    load = Load(
        name=name,
        target=target,
        events_per_request=events_per_request,
        requests_per_s=round(run.requests_per_s),
        events_per_s=round(run.answered * events_per_request / run.duration_s),
        p50_ms=round(run.p50_ms, 2),
        p99_ms=round(run.p99_ms, 2),
        non_2xx=run.non_2xx,
        socket_errors=run.errors,
    )
    if sampler is not None:
        load.peak_rss_mb = round(sampler.peak_rss / 1024 / 1024, 1)
        events = max(1, run.answered * events_per_request)
        load.cpu_us_per_event = {
            group: round(seconds / events * 1e6, 2) for group, seconds in sampler.cpu_used().items()
        }
        load.cpu_us_per_event["total"] = round(sum(sampler.cpu_used().values()) / events * 1e6, 2)
    return load, run


def measure_nginx(folder: Path, args: argparse.Namespace, lua: Path) -> Load:
    port = free_port()
    with nginx(folder, args.nginx_workers, port) as pid:
        url = f"http://127.0.0.1:{port}/api/collect"
        run_wrk(url, lua, args, 2)
        load, _ = measure(
            "single event",
            f"nginx return 204 ({args.nginx_workers} worker)",
            url,
            lua,
            pid,
            1,
            args,
        )
    return load


def measure_floor(server: str, workdir: Path, args: argparse.Namespace, lua: Path) -> Load:
    port = free_port()
    log = workdir / f"floor-{server}.log"
    with started(floor_command(server, port), port, log) as pid:
        url = f"http://127.0.0.1:{port}/api/collect"
        run_wrk(url, lua, args, 2)
        load, _ = measure("single event", f"empty ASGI app, {server}", url, lua, pid, 1, args)
    return load


def measure_clycyo(
    server: str, workdir: Path, args: argparse.Namespace, timestamp_ms: int
) -> list[Load]:
    data = workdir / f"data-{server}"
    keys = add_site(data)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    url = base + "/api/collect"
    log = workdir / f"clycyo-{server}.log"
    command = clycyo_command(server, data, port)
    loads: list[Load] = []
    scripts = workdir / f"lua-{server}"
    scripts.mkdir()
    process = None
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=ROOT,
            env={**os.environ, **NO_RATE_LIMITS},
        )
    try:
        wait_for_port(port, process)
        wait_ready(base)
        idle_rss = rss_bytes(process_tree(process.pid))
        static_body = json.dumps(
            single_event(keys["public_key"], None, timestamp_ms), separators=(",", ":")
        ).encode()
        plans = {
            "single event, unique ids": (
                lambda tag: unique_single_lua(keys["public_key"], tag, timestamp_ms),
                1,
            ),
            "single event, same body": (lambda tag: static_lua(BROWSER_HEADERS, static_body), 1),
            f"batch of {BATCH_SIZE}, unique ids": (
                lambda tag: batch_lua(keys["secret_key"], tag),
                BATCH_SIZE,
            ),
        }
        for number, (name, (make_lua, per_request)) in enumerate(plans.items()):
            if args.only and not any(word in name for word in args.only):
                continue
            warm_lua = scripts / f"{number}-warm.lua"
            warm_lua.write_text(make_lua(f"w{number}"))
            run_wrk(url, warm_lua, args, WARMUP_S)
            stored_before, _ = wait_caught_up(base)
            lua = scripts / f"{number}.lua"
            lua.write_text(make_lua(f"m{number}"))
            spy_output = workdir / f"profile-{server}-{number}.txt"
            spy = (
                profiled(python_worker(process.pid), args.duration - 1, spy_output, args.profile)
                if args.profile
                else contextlib.nullcontext()
            )
            started_at = time.monotonic()
            with spy:
                load, run = measure(
                    name, f"clycyo, {server}", url, lua, process.pid, per_request, args
                )
            stored_after, catch_up_s = wait_caught_up(base)
            elapsed = time.monotonic() - started_at
            stored = stored_after - stored_before
            acknowledged = run.answered * per_request
            in_flight_bound = (args.connections + run.errors) * per_request
            load.acknowledged_events = acknowledged
            load.stored_events = stored
            load.catch_up_s = round(catch_up_s, 2)
            load.stored_events_per_s = round(stored / max(elapsed, run.duration_s))
            ok = acknowledged <= stored <= acknowledged + in_flight_bound
            load.check = "ok" if ok else f"MISMATCH: {acknowledged} acknowledged, {stored} stored"
            if run.non_2xx or run.errors:
                load.check += f" ({run.non_2xx} non-2xx answers, {run.errors} socket errors)"
            if args.profile and spy_output.exists():
                load.profile = profile_summary(spy_output)
            loads.append(load)
        expected_total, _ = wait_caught_up(base)
    finally:
        exit_code = stop(process)
    rows, distinct = count_stored(data / "events.duckdb")
    final_check = (
        "ok"
        if rows == distinct == expected_total and exit_code in GRACEFUL_EXIT
        else f"MISMATCH: exit {exit_code}, {rows} rows, {distinct} ids, {expected_total} reported"
    )
    for load in loads:
        load.check = f"{load.check}; store {final_check} ({rows} rows)"
        load.target += f" (idle RSS {idle_rss / 1024 / 1024:.0f} MB)"
    return loads


# Reporting


def add_ratios(loads: list[Load], nginx_rps: float) -> None:
    for load in loads:
        load.ratio_to_nginx = round(load.requests_per_s / nginx_rps, 3)


def table(loads: list[Load]) -> str:
    head = (
        "| target | load | req/s | events/s | stored ev/s | p50 ms | p99 ms | vs nginx | "
        "peak RSS MB | CPU µs/event | check |"
    )
    lines = [head, "|" + "---|" * 11]
    for load in loads:
        cpu = load.cpu_us_per_event.get("total")
        lines.append(
            f"| {load.target} | {load.name} | {load.requests_per_s:,} | {load.events_per_s:,} | "
            f"{'' if load.stored_events_per_s is None else f'{load.stored_events_per_s:,}'} | "
            f"{load.p50_ms} | {load.p99_ms} | "
            f"{'' if load.ratio_to_nginx is None else f'{load.ratio_to_nginx:.2f}'} | "
            f"{'' if load.peak_rss_mb is None else load.peak_rss_mb} | "
            f"{'' if cpu is None else cpu} | {load.check or ''} |"
        )
    return "\n".join(lines)


def cpu_table(loads: list[Load]) -> str:
    shown = [load for load in loads if load.cpu_us_per_event and load.stored_events is not None]
    known = ["event loop", "intake-flusher", "store-writer", NATIVE]
    seen = {g for load in shown for g in load.cpu_us_per_event} - {"total"}
    groups = [g for g in known if g in seen] + sorted(seen - set(known))
    lines = [
        "| target | load | " + " | ".join(groups) + " | total |",
        "|" + "---|" * (len(groups) + 3),
    ]
    for load in shown:
        cells = [str(load.cpu_us_per_event.get(g, 0)) for g in [*groups, "total"]]
        lines.append(f"| {load.target} | {load.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def profile_text(loads: list[Load]) -> str:
    lines = []
    for load in loads:
        if not load.profile:
            continue
        lines.append(f"### {load.target}: {load.name}")
        for thread, info in load.profile.items():
            lines.append(f"- {thread} ({info['share_of_samples']:.0%} of samples); self:")
            lines.extend(f"  - {share:.1%} {function}" for function, share in info["self"])
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured load")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--nginx-workers", default="1", help="nginx worker_processes (1 or auto)")
    parser.add_argument("--servers", default="uvicorn,granian", help="ASGI servers to compare")
    parser.add_argument("--only", nargs="*", help="run only Clycyo loads whose name has a word")
    parser.add_argument("--no-floor", action="store_true", help="skip the empty ASGI app")
    parser.add_argument(
        "--profile",
        nargs="?",
        const="wall",
        choices=["wall", "gil"],
        help="py-spy each Clycyo load: threads not idle (wall, the default) or the GIL holder",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    servers = [s for s in args.servers.split(",") if s]

    info = {"machine": machine(), "versions": versions(), "settings": vars(args)}
    workdir = Path(tempfile.mkdtemp(prefix="clycyo-bench-"))
    timestamp_ms = int(time.time() * 1000)
    loads: list[Load] = []
    nginx_runs: list[Load] = []
    try:
        browser_body = json.dumps(
            single_event("pk_nginx", None, timestamp_ms), separators=(",", ":")
        ).encode()
        nginx_lua = workdir / "nginx.lua"
        nginx_lua.write_text(static_lua(BROWSER_HEADERS, browser_body))

        def nginx_again() -> Load:
            load = measure_nginx(workdir / f"nginx-{len(nginx_runs)}", args, nginx_lua)
            load.name += f" (run {len(nginx_runs) + 1})"
            nginx_runs.append(load)
            loads.append(load)
            return load

        # nginx runs between the groups: the other machine load drifts, so each group is
        # compared with the mean of the nginx runs just before and just after it.
        groups: list[Any] = []
        if not args.no_floor:
            # `workersN` runs Clycyo's own processes: its server's empty app is uvicorn's.
            floors = [s for s in servers if not s.startswith("workers")]
            groups.append(lambda: [measure_floor(s, workdir, args, nginx_lua) for s in floors])
        for server in servers:
            groups.append(lambda server=server: measure_clycyo(server, workdir, args, timestamp_ms))
        before = nginx_again()
        for group in groups:
            measured = group()
            loads.extend(measured)
            after = nginx_again()
            add_ratios(measured, (before.requests_per_s + after.requests_per_s) / 2)
            before = after
        nginx_rps = sum(n.requests_per_s for n in nginx_runs) / len(nginx_runs)
        add_ratios(nginx_runs, nginx_rps)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    info["machine"]["load_average_at_end"] = os.getloadavg()
    info["nginx_requests_per_s"] = [n.requests_per_s for n in nginx_runs]
    report = "\n\n".join(
        [
            f"nginx: {nginx_rps:,.0f} requests/s on average over {len(nginx_runs)} runs "
            f"({min(n.requests_per_s for n in nginx_runs):,} to "
            f"{max(n.requests_per_s for n in nginx_runs):,}). Each ratio compares with the "
            "mean of the nginx runs just before and just after that group of loads.",
            table(loads),
            "Server CPU time per event (µs), by thread:",
            cpu_table(loads),
            profile_text(loads),
        ]
    ).rstrip()
    print(json.dumps(info["machine"]))
    print(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"ingest-{stamp}.json").write_text(
        json.dumps({**info, "loads": [asdict(load) for load in loads]}, indent=2)
    )
    (RESULTS / f"ingest-{stamp}.md").write_text(report + "\n")
    print(f"\nwritten: bench/results/ingest-{stamp}.json and .md")
    failed = [load for load in loads if load.check and "MISMATCH" in load.check]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
