"""Soak: mixed load on one `clycyo serve` for a long time, with a `kill -9` and a restart halfway.

Loads, all at once, over loopback:

* browser-shaped single events: the public key, `text/plain`, the site's `Origin`, a Chrome user
  agent, one pageview per request;
* SDK-shaped batches: the secret key, 50 server events per request;
* queries: the raw events API (and the query API when the server has it).

Every event carries a unique `event_id`. A request that fails (connection refused while the
server is down, a 429 or 503) is retried with the same ids, as the SDK and the tracker do, so the
restart also tests that a retry is stored once. At the end the script waits for the writer, stops
the server, opens the DuckDB file and counts: events sent, acknowledged, stored, acknowledged but
missing (must be 0), stored twice (must be 0). It reports p50/p99 latency per load, and samples
the server's RSS every 2 s into an SVG chart.

    .venv/bin/python bench/soak.py                 # 600 s
    .venv/bin/python bench/soak.py --duration 120 --chart docs/images/soak-rss.svg

Results go to `bench/results/soak-TIMESTAMP.json`; the Markdown summary is printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from processes import free_port

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOMAIN = "soak.example.com"
CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
SDK_BATCH = 50
RETRY_LIMIT = 200


@dataclass
class Load:
    name: str
    latencies_s: list[float] = field(default_factory=list)
    requests: int = 0
    failures: int = 0
    sent: int = 0
    acknowledged: list[str] = field(default_factory=list)


@dataclass
class Server:
    data_dir: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.data_dir.parent / "server.log").open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "clycyo",
                "serve",
                "--data",
                str(self.data_dir),
                "--port",
                str(self.port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "CLYCYO_RATE_LIMIT_SOURCE": "0", "CLYCYO_RATE_LIMIT_KEY": "0"},
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if health(self.port) is not None:
                return
            time.sleep(0.05)
        raise RuntimeError("the server did not start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(120)


def health(port: int) -> dict[str, Any] | None:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        body = json.loads(response.read())
        connection.close()
        return body if response.status == 200 else None
    except (OSError, ValueError, http.client.HTTPException):
        return None


class Client:
    """One keep-alive connection that reconnects after a failure."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> int:
        if self.connection is None:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            self.connection.request(method, path, body, headers)
            response = self.connection.getresponse()
            response.read()
            return response.status
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = None
            return 0


def send_until_acknowledged(
    client: Client,
    load: Load,
    path: str,
    body: bytes,
    headers: dict[str, str],
    stop: threading.Event,
) -> bool:
    for attempt in range(RETRY_LIMIT):
        started = time.perf_counter()
        status = client.request("POST", path, body, headers)
        load.requests += 1
        if status == 200:
            load.latencies_s.append(time.perf_counter() - started)
            return True
        load.failures += 1
        if stop.is_set() and attempt > 20:
            return False
        time.sleep(min(0.05 * (attempt + 1), 1.0))
    return False


def browser_worker(port: int, public_key: str, load: Load, stop: threading.Event) -> None:
    client = Client(port)
    headers = {
        "Content-Type": "text/plain;charset=UTF-8",
        "Origin": f"https://{DOMAIN}",
        "User-Agent": CHROME_UA,
    }
    while not stop.is_set():
        event_id = uuid.uuid4().hex
        body = json.dumps(
            {
                "key": public_key,
                "type": "pageview",
                "url": f"https://{DOMAIN}/pricing?utm_source=soak",
                "event_id": event_id,
                "visitor_id": event_id[:12],
            }
        ).encode()
        load.sent += 1
        if send_until_acknowledged(client, load, "/api/collect", body, headers, stop):
            load.acknowledged.append(event_id)


def sdk_worker(port: int, secret_key: str, load: Load, stop: threading.Event) -> None:
    client = Client(port)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {secret_key}"}
    while not stop.is_set():
        ids = [uuid.uuid4().hex for _ in range(SDK_BATCH)]
        batch = [{"name": "invoice.paid", "event_id": i, "user_id": i[:6]} for i in ids]
        load.sent += len(ids)
        body = json.dumps({"batch": batch}).encode()
        if send_until_acknowledged(client, load, "/api/collect", body, headers, stop):
            load.acknowledged.extend(ids)


def query_worker(port: int, secret_key: str, load: Load, stop: threading.Event) -> None:
    client = Client(port)
    auth = {"Authorization": f"Bearer {secret_key}", "Content-Type": "application/json"}
    query = json.dumps(
        {"site": DOMAIN, "metrics": ["visitors", "pageviews"], "date_range": "7d"}
    ).encode()
    while not stop.is_set():
        for method, path, body in (
            ("GET", f"/api/v1/events?site={DOMAIN}&limit=100", None),
            ("POST", "/api/v1/query", query),
        ):
            started = time.perf_counter()
            status = client.request(method, path, body, auth)
            load.requests += 1
            if status == 200:
                load.latencies_s.append(time.perf_counter() - started)
            elif status != 404:
                load.failures += 1
                time.sleep(0.2)
        time.sleep(0.2)


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def svg_chart(samples: list[tuple[float, float]], kill_at_s: float, path: Path) -> None:
    """A small line chart of RSS over time, with the kill marked (no plotting library needed)."""
    width, height, pad = 720, 260, 48
    t_max = max(t for t, _ in samples) or 1.0
    y_max = max(m for _, m in samples) * 1.15 or 1.0

    def x(t: float) -> float:
        return pad + (width - 2 * pad) * t / t_max

    def y(m: float) -> float:
        return height - pad - (height - 2 * pad) * m / y_max

    points = " ".join(f"{x(t):.1f},{y(m):.1f}" for t, m in samples)
    ticks = "".join(
        f'<text x="{pad - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.0f}</text>'
        f'<line x1="{pad}" x2="{width - pad}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#eee"/>'
        for v in [y_max * i / 4 for i in range(5)]
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="11">'
        f'<rect width="{width}" height="{height}" fill="white"/>{ticks}'
        f'<polyline fill="none" stroke="#2563eb" stroke-width="2" points="{points}"/>'
        f'<line x1="{x(kill_at_s):.1f}" x2="{x(kill_at_s):.1f}" y1="{pad}" y2="{height - pad}" '
        'stroke="#dc2626" stroke-dasharray="4 3"/>'
        f'<text x="{x(kill_at_s) + 4:.1f}" y="{pad + 10}" fill="#dc2626">kill -9, restart</text>'
        f'<text x="{width / 2}" y="{height - 12}" text-anchor="middle">'
        f"seconds (0 to {t_max:.0f})</text>"
        f'<text x="14" y="{height / 2}" transform="rotate(-90 14 {height / 2})" '
        'text-anchor="middle">server RSS, MiB</text></svg>\n'
    )


def stored_counts(data_dir: Path) -> dict[str, int]:
    import duckdb

    connection = duckdb.connect(str(data_dir / "events.duckdb"), read_only=True)
    rows = connection.execute("SELECT event_id, count(*) FROM events GROUP BY event_id").fetchall()
    connection.close()
    return {event_id: int(n) for event_id, n in rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of load")
    parser.add_argument("--browsers", type=int, default=4, help="browser-event threads")
    parser.add_argument("--sdks", type=int, default=2, help="SDK batch threads")
    parser.add_argument("--queries", type=int, default=1, help="query threads")
    parser.add_argument("--chart", default=str(ROOT / "docs" / "images" / "soak-rss.svg"))
    args = parser.parse_args()

    from clycyo.config.store import ConfigStore

    workdir = Path(tempfile.mkdtemp(prefix="clycyo-soak-"))
    server = Server(workdir / "data", free_port())
    server.data_dir.mkdir(mode=0o700)
    created = ConfigStore(server.data_dir / "config.sqlite").add_site(DOMAIN)
    server.start()
    loads = {name: Load(name) for name in ("browser", "sdk", "query")}
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=browser_worker,
            args=(server.port, created.site.public_key, loads["browser"], stop),
        )
        for _ in range(args.browsers)
    ]
    threads += [
        threading.Thread(
            target=sdk_worker, args=(server.port, created.secret_key, loads["sdk"], stop)
        )
        for _ in range(args.sdks)
    ]
    threads += [
        threading.Thread(
            target=query_worker, args=(server.port, created.secret_key, loads["query"], stop)
        )
        for _ in range(args.queries)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    rss: list[tuple[float, float]] = []
    kill_at_s = args.duration / 2
    killed = False
    restart_s = 0.0
    while (elapsed := time.monotonic() - started) < args.duration:
        assert server.proc is not None
        if (sample := rss_mb(server.proc.pid)) is not None:
            rss.append((elapsed, sample))
        if not killed and elapsed >= kill_at_s:
            server.kill()
            killed = True
            restart_started = time.monotonic()
            server.start()
            restart_s = time.monotonic() - restart_started
        time.sleep(2.0)
    stop.set()
    for thread in threads:
        thread.join()
    while (report := health(server.port)) is not None and report["writer_lag_records"] > 0:
        time.sleep(0.5)
    server.stop()

    counts = stored_counts(server.data_dir)
    acknowledged = set(loads["browser"].acknowledged) | set(loads["sdk"].acknowledged)
    sent = loads["browser"].sent + loads["sdk"].sent
    summary: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "duration_s": args.duration,
        "cpus": os.cpu_count(),
        "events_sent": sent,
        "events_acknowledged": len(acknowledged),
        "events_stored": len(counts),
        "acknowledged_missing": len(acknowledged - counts.keys()),
        "stored_twice": sum(1 for n in counts.values() if n > 1),
        "restart_s": round(restart_s, 2),
        "rss_mb_max": round(max(m for _, m in rss), 1),
        "rss_mb_last": round(rss[-1][1], 1),
        "loads": {
            name: {
                "requests": load.requests,
                "failed_attempts": load.failures,
                "p50_ms": round(percentile(load.latencies_s, 0.50) * 1000, 2),
                "p99_ms": round(percentile(load.latencies_s, 0.99) * 1000, 2),
            }
            for name, load in loads.items()
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"soak-{stamp}.json").write_text(json.dumps({**summary, "rss": rss}, indent=1))
    svg_chart(rss, kill_at_s, Path(args.chart))
    print(json.dumps(summary, indent=1))
    print()
    print("| load | requests | failed attempts | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|")
    for name, figures in summary["loads"].items():
        print(
            f"| {name} | {figures['requests']:,} | {figures['failed_attempts']:,} | "
            f"{figures['p50_ms']} | {figures['p99_ms']} |"
        )
    ok = summary["acknowledged_missing"] == 0 and summary["stored_twice"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
