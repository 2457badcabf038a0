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
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ingest_report import Load, add_ratios, cpu_table, profile_text, table
from machine import machine
from machine import versions as machine_versions
from processes import (
    ResourceSampler,
    free_port,
    process_tree,
    profile_summary,
    profiled,
    python_worker,
    rss_bytes,
    wait_for_port,
)
from wrk_loads import (
    BATCH_SIZE,
    BROWSER_HEADERS,
    DOMAIN,
    WRK,
    WrkRun,
    batch_lua,
    run_wrk,
    single_event,
    static_lua,
    unique_single_lua,
)

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

# The benchmark measures capacity: the server's per-address and per-key rate limits are off.
NO_RATE_LIMITS = {"CLYCYO_RATE_LIMIT_SOURCE": "0", "CLYCYO_RATE_LIMIT_KEY": "0"}
# uvicorn re-raises the SIGTERM it handled once it has shut down, so its exit status says so.
GRACEFUL_EXIT = (0, -signal.SIGTERM)
WARMUP_S = 3


# Versions


def versions() -> dict[str, str]:
    found = machine_versions(
        ("uvicorn", "uvloop", "httptools", "granian", "duckdb", "msgspec", "pyarrow")
    )
    wrk = subprocess.run([WRK, "-v"], capture_output=True, text=True, check=False)
    found["wrk"] = (wrk.stdout + wrk.stderr).split("[")[0].replace("wrk", "").strip()
    nginx = subprocess.run([NGINX, "-v"], capture_output=True, text=True, check=False)
    found["nginx"] = nginx.stderr.strip().split("/")[-1]
    return found


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


# The loads


def measure(
    name: str,
    target: str,
    url: str,
    lua: Path,
    pid: int | None,
    events_per_request: int,
    args: argparse.Namespace,
) -> tuple[Load, WrkRun]:
    children = "collectors" if "workers" in target else None
    sampler = ResourceSampler(pid, children=children) if pid is not None else None
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
