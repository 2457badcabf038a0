"""The Python SDK against PostHog's and Segment's Python clients, in one run, on one server.

What an application pays for analytics is, first, the time `track()` takes in the thread that
calls it (a web request, a job) and, second, how fast the events then reach the collector. This
script measures both for three clients pointed at the same `clycyo serve` on 127.0.0.1 (Clycyo
answers PostHog's `/batch/` and Segment's `/v1/batch` with the secret key as the write key):

* `clycyo-sdk` — `Client(secret_key, host=url)`;
* `posthog` — `posthog.Client(secret_key, host=url)`;
* `segment-analytics-python` — `segment.analytics.Client(write_key=secret_key, host=url)`.

Each client keeps its own defaults (batch size, gzip, threads) except `max_queue_size` (and
clycyo-sdk's `max_queue_bytes`), raised so that no client drops events of a run. One run of a
client is `--events` calls (default 100,000) of the same server-side event — a name, a user id and
two props, the props dict built per call as an application would — timed in the calling thread,
then `flush()`:

* **µs/call**: the calling thread's wall time per call, while the client's own background thread
  is delivering the earlier events (as it would be in an application);
* **CPU µs/call**: the calling thread's own CPU time per call (`time.thread_time()`): without the
  waits for the GIL and for a CPU, so the figure least disturbed by other work on the machine;
* **events/s**: events from the first call until `flush()` returned, that is until the server had
  answered every batch (a `200` from Clycyo means the events are durable);
* **drain s**: how long `flush()` waited after the last call.

Runs alternate between the clients (the order rotates each round), so that drift of the machine
or of the server's store spreads over all three; figures are the median of `--runs` runs (default
5). After the runs the server is stopped and its DuckDB file is opened read-only to check that
every run's events are stored exactly once (count and distinct event ids).

    .venv/bin/python bench/sdk.py                   # 5 runs of 100,000 events per client
    .venv/bin/python bench/sdk.py --events 200000 --runs 7
    .venv/bin/python bench/sdk.py --clients clycyo  # one client only (for profiling the SDK)

Results are printed as a table and written to `bench/results/sdk-TIMESTAMP.{json,md}`.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from machine import machine, versions
from processes import free_port

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
DOMAIN = "sdk-bench.localhost"
USER_ID = "u_42"
WARMUP_EVENTS = 2_000
FLUSH_TIMEOUT_S = 300.0


# The machine and the server


def get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


class Server:
    """`clycyo serve` on a fresh data folder, on a free loopback port."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data.parent / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def add_site(self) -> dict[str, Any]:
        command = [str(VENV_BIN / "clycyo"), "site", "add", DOMAIN, "--json"]
        command += ["--data", str(self.data)]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        return json.loads(output)  # type: ignore[no-any-return]

    def start(self) -> None:
        command = [str(VENV_BIN / "clycyo"), "serve", "--data", str(self.data)]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.log_path.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                get_json(self.url + "/healthz")
                return
            time.sleep(0.05)
        raise RuntimeError("the server did not become healthy")

    def wait_caught_up(self, timeout_s: float = 120.0) -> None:
        """Let the store writer load what earlier runs sent, so that no run pays for another's.

        Servers whose health answer does not report the writer's lag are not waited for.
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            lag = get_json(self.url + "/healthz").get("writer_lag_records")
            if not lag:
                return
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM: the server loads everything acknowledged into the store before exiting."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(120)


def count_stored(database: Path) -> dict[str, tuple[int, int]]:
    """Per event name: (stored events, distinct event ids), from the DuckDB file, read-only."""
    import duckdb

    with duckdb.connect(str(database), read_only=True) as connection:
        rows = connection.execute(
            "SELECT name, count(*), count(DISTINCT event_id) FROM events GROUP BY name"
        ).fetchall()
    return {str(name): (int(total), int(distinct)) for name, total, distinct in rows}


# The clients under test: each `calls(name, n)` makes n calls in a tight loop.


@dataclass
class Contender:
    label: str
    calls: Callable[[str, int], None]
    flush: Callable[[], None]
    close: Callable[[], None]
    dropped: Callable[[], int] = lambda: 0
    # Seconds spent waiting for the server's answers since the last call; None: not measured.
    server_wait: Callable[[], float | None] = lambda: None


def clycyo_contender(url: str, secret_key: str, queue_size: int) -> Contender:
    from clycyo_sdk import Client, HTTPTransport, Response
    from clycyo_sdk.transport import collect_url

    class TimedTransport(HTTPTransport):
        """The SDK's own HTTP transport, adding up the time spent waiting for the server's answers
        (one clock read per batch of 100 events: no measurable cost)."""

        def send(self, body: bytes, headers: Mapping[str, str]) -> Response:
            started = time.perf_counter()
            try:
                return super().send(body, headers)
            finally:
                waited[0] += time.perf_counter() - started

    waited = [0.0]
    transport = TimedTransport(collect_url(url))
    # About 200 bytes an event by the SDK's estimate: a kilobyte each is room for the whole run.
    client = Client(
        secret_key,
        transport=transport,
        max_queue_size=queue_size,
        max_queue_bytes=queue_size * 1024,
    )

    def calls(name: str, n: int) -> None:
        track = client.track
        for _ in range(n):
            track(name, user_id=USER_ID, props={"plan": "pro", "seats": 3})

    def flush() -> None:
        if not client.flush(timeout=FLUSH_TIMEOUT_S):
            raise RuntimeError(f"clycyo-sdk: flush() failed: {client.stats()}")

    def server_wait() -> float:
        seconds, waited[0] = waited[0], 0.0
        return seconds

    return Contender(
        "clycyo-sdk", calls, flush, client.shutdown, lambda: client.dropped, server_wait
    )


def posthog_contender(url: str, secret_key: str, queue_size: int) -> Contender:
    import posthog

    client = posthog.Client(secret_key, host=url, max_queue_size=queue_size)

    def calls(name: str, n: int) -> None:
        capture = client.capture
        for _ in range(n):
            capture(name, distinct_id=USER_ID, properties={"plan": "pro", "seats": 3})

    return Contender(
        "posthog", calls, lambda: client.flush(timeout_seconds=FLUSH_TIMEOUT_S), client.shutdown
    )


def segment_contender(url: str, secret_key: str, queue_size: int) -> Contender:
    from segment.analytics import Client

    client = Client(write_key=secret_key, host=url, max_queue_size=queue_size)

    def calls(name: str, n: int) -> None:
        track = client.track
        for _ in range(n):
            track(user_id=USER_ID, event=name, properties={"plan": "pro", "seats": 3})

    return Contender("segment-analytics-python", calls, client.flush, client.shutdown)


CONTENDERS: dict[str, Callable[[str, str, int], Contender]] = {
    "clycyo": clycyo_contender,
    "posthog": posthog_contender,
    "segment": segment_contender,
}


# Measuring


@dataclass
class Run:
    name: str
    events: int
    call_s: float
    call_cpu_s: float
    drain_s: float
    server_wait_s: float | None = None

    @property
    def us_per_call(self) -> float:
        return self.call_s / self.events * 1e6

    @property
    def cpu_us_per_call(self) -> float:
        return self.call_cpu_s / self.events * 1e6

    @property
    def events_per_s(self) -> float:
        return self.events / (self.call_s + self.drain_s)

    @property
    def server_wait_share(self) -> float | None:
        """Of the time from the first call until flush() returned, the share spent waiting for
        the server's answers: near 1, delivery is as fast as the server answers."""
        if self.server_wait_s is None:
            return None
        return self.server_wait_s / (self.call_s + self.drain_s)


@dataclass
class Figures:
    label: str
    runs: list[Run] = field(default_factory=list)
    stored_ok: bool | None = None
    stored_note: str = ""

    def median(self, attribute: str) -> float:
        return statistics.median(getattr(run, attribute) for run in self.runs)

    def median_or_none(self, attribute: str) -> float | None:
        values = [getattr(run, attribute) for run in self.runs]
        if any(value is None for value in values):
            return None
        return round(statistics.median(values), 3)

    def spread(self, attribute: str) -> tuple[float, float]:
        values = [getattr(run, attribute) for run in self.runs]
        return min(values), max(values)


def measure(contender: Contender, name: str, events: int) -> Run:
    gc.collect()  # garbage of the previous run is not this run's cost
    contender.server_wait()
    started, started_cpu = time.perf_counter(), time.thread_time()
    contender.calls(name, events)
    called, called_cpu = time.perf_counter(), time.thread_time()
    contender.flush()
    flushed = time.perf_counter()
    return Run(
        name,
        events,
        called - started,
        called_cpu - started_cpu,
        flushed - called,
        contender.server_wait(),
    )


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    at_start = machine()
    work = Path(tempfile.mkdtemp(prefix="clycyo-sdk-bench-"))
    server = Server(work / "data")
    keys = server.add_site()
    server.start()
    figures: dict[str, Figures] = {}
    contenders: dict[str, Contender] = {}
    try:
        queue_size = args.events + WARMUP_EVENTS + 1_000
        for key in args.clients:
            contender = CONTENDERS[key](server.url, keys["secret_key"], queue_size)
            # Warm-up: imports done lazily, the first connection, the consumer thread started.
            measure(contender, f"warmup.{key}", WARMUP_EVENTS)
            contenders[key] = contender
            figures[key] = Figures(contender.label)
        for round_no in range(args.runs):
            shift = round_no % len(args.clients)
            for key in args.clients[shift:] + args.clients[:shift]:
                server.wait_caught_up()
                run = measure(contenders[key], f"bench.{key}.{round_no}", args.events)
                figures[key].runs.append(run)
                print(
                    f"  round {round_no + 1}/{args.runs} {contenders[key].label:26}"
                    f" {run.us_per_call:8.2f} µs/call ({run.cpu_us_per_call:.2f} CPU)"
                    f" {run.events_per_s:10,.0f} events/s"
                    f" (drain {run.drain_s:.2f} s)",
                    flush=True,
                )
        for key, contender in contenders.items():
            dropped = contender.dropped()
            if dropped:
                figures[key].stored_note = f"{dropped} dropped by the client; "
            contender.close()
    finally:
        server.stop()
    stored = count_stored(server.data / "events.duckdb")
    for figure in figures.values():
        wrong = []
        for run in figure.runs:
            total, distinct = stored.get(run.name, (0, 0))
            if total != run.events or distinct != run.events:
                wrong.append(f"{run.name}: {total} stored, {distinct} ids, {run.events} sent")
        figure.stored_ok = not wrong
        figure.stored_note += "; ".join(wrong) or "every event stored once"
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "events_per_run": args.events,
        "runs": args.runs,
        "machine": {**at_start, "load_average_at_end": os.getloadavg()},
        "versions": versions(
            ("clycyo-sdk", "posthog", "segment-analytics-python", "requests", "clycyo")
        ),
        "clients": {
            key: {
                "label": figure.label,
                "us_per_call_median": round(figure.median("us_per_call"), 3),
                "us_per_call_min_max": [round(v, 3) for v in figure.spread("us_per_call")],
                "cpu_us_per_call_median": round(figure.median("cpu_us_per_call"), 3),
                "events_per_s_median": round(figure.median("events_per_s")),
                "events_per_s_min_max": [round(v) for v in figure.spread("events_per_s")],
                "drain_s_median": round(figure.median("drain_s"), 3),
                "server_wait_share_median": figure.median_or_none("server_wait_share"),
                "stored_ok": figure.stored_ok,
                "stored": figure.stored_note,
                "runs": [asdict(run) for run in figure.runs],
            }
            for key, figure in figures.items()
        },
    }


# Reporting


def table(result: dict[str, Any]) -> str:
    """Medians, ranges, and how many times clycyo-sdk is faster than each client (per call: their
    µs over ours; delivery: our events/s over theirs)."""
    clients = result["clients"]
    ours = clients.get("clycyo")
    lines = [
        "| client | µs/call | range | CPU µs/call | events/s | range | drain s "
        "| clycyo-sdk faster per call | clycyo-sdk faster delivered | stored |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for figure in clients.values():
        us, eps = figure["us_per_call_median"], figure["events_per_s_median"]
        us_lo, us_hi = figure["us_per_call_min_max"]
        eps_lo, eps_hi = figure["events_per_s_min_max"]
        per_call = delivered = ""
        if ours:
            per_call = f"{us / ours['us_per_call_median']:.1f} x"
            delivered = f"{ours['events_per_s_median'] / eps:.2f} x"
        lines.append(
            f"| {figure['label']} | {us:.2f} | {us_lo:.2f} to {us_hi:.2f} "
            f"| {figure['cpu_us_per_call_median']:.2f} | {eps:,} "
            f"| {eps_lo:,} to {eps_hi:,} | {figure['drain_s_median']:.2f} | {per_call} "
            f"| {delivered} | {'ok' if figure['stored_ok'] else 'MISMATCH'}: {figure['stored']} |"
        )
    for figure in clients.values():
        share = figure.get("server_wait_share_median")
        if share is not None:
            lines.append(
                f"\n{figure['label']} spent {share:.0%} of the time from its first call until "
                "flush() returned waiting for the server's answers (median)."
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="calls per run (≥ 100,000)")
    parser.add_argument("--runs", type=int, default=5, help="runs per client; the median counts")
    parser.add_argument(
        "--clients",
        default="clycyo,posthog,segment",
        help="comma-separated, from: " + ", ".join(CONTENDERS),
    )
    parser.add_argument("--keep", action="store_true", help="keep the server's data folder")
    args = parser.parse_args()
    args.clients = [c.strip() for c in args.clients.split(",") if c.strip()]
    unknown = set(args.clients) - set(CONTENDERS)
    if unknown:
        parser.error(f"unknown clients: {', '.join(sorted(unknown))}")

    info = machine()
    print(
        f"{info['cpus']} CPUs ({info['cpu_model']}), {info['memory_gib']} GiB, "
        f"Python {info['python']}; {args.runs} runs of {args.events:,} events per client",
        flush=True,
    )
    result = run_bench(args)
    report = table(result)
    print()
    print(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"sdk-{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"sdk-{stamp}.md").write_text(
        f"{result['command']} — {info['cpus']} CPUs ({info['cpu_model']}), "
        f"{info['memory_gib']} GiB\n\n{report}\n"
    )
    print(f"\nwritten to bench/results/sdk-{stamp}.{{json,md}}")
    return 0 if all(c["stored_ok"] for c in result["clients"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
