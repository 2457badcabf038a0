"""`clycyo import`: rows per second from an export file into a fresh data folder.

The events are made the way a site's would be: `--events` server and browser events (pageviews
with a URL and a referrer, named events with props, identifies, some payments) of a few thousand
visitors over 30 days, sent through the real collect API of a running `clycyo serve` in batches
of `--batch` (four requests at a time), with the secret key. That collection is the baseline,
measured in the same run: events stored per second, from the first batch sent until the writer
has loaded them all. The site is then exported (`clycyo export --format parquet`, timed too,
through the server), and the file imported with `clycyo import`:

* **offline**: into a fresh folder no server holds (the command opens it; the time includes
  closing it, which loads every appended event into the store), then again (every row already
  present);
* **server**: into a fresh folder a `clycyo serve` holds, through its admin endpoint; timed until
  the command returns (every row durable in the intake log) and until the writer has stored them,
  then again.

With `--out-of-order`, those imports are replaced by the export (or `--file`, one `--keep`
wrote, with no collection) split at its median time into an older and a newer half, each
imported offline into a fresh folder one after the other: in order (the older half, then the
newer) and out of order (the newer, then the older: a site's older history imported after its
live data, whose events are all older than what the writer holds). The ratio is the second
import's seconds out of order to in order, both of half the events into a folder holding the
other half; and the same of the command's CPU seconds (its process's and its threads': the
writer's among them), which a machine busy with other work sways less.

Each import runs as its own process; its peak RSS is the command's (offline) or the server's
(through it), read from the kernel (`ru_maxrss`, `VmHWM`). With `--code DIR` (repeatable) each
import is run once more with `PYTHONPATH=DIR` (another checkout's `src`, for an A/B in one run;
`--reverse` runs them before this checkout's code, so that a change in the machine's load
between the first and the last runs shows).

    .venv/bin/python bench/import.py                        # 200,000 events
    .venv/bin/python bench/import.py --events 1000000
    git worktree add -f /tmp/ab_import HEAD~1
    .venv/bin/python bench/import.py --code /tmp/ab_import/src
    .venv/bin/python bench/import.py --events 500000 --out-of-order --code /tmp/ab_import/src
    .venv/bin/python bench/import.py --out-of-order --file events.parquet  # --keep's

Prints a table and writes `bench/results/import-TIMESTAMP.{json,md}`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from machine import machine, versions
from processes import free_port

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
RESULTS = ROOT / "bench" / "results"
DOMAIN = "bench-import.example"
DAY_MS = 86_400_000
PAGES = ["/", "/pricing", "/docs", "/docs/start", "/blog/a-post", "/about", "/signup"]
REFERRERS = [
    None,
    None,
    "https://www.google.com/",
    "https://news.ycombinator.com/",
    "https://t.co/x",
]
SENDERS = 4  # concurrent collect requests, as several backends send
NAMES = ["signup", "invite.sent", "report.viewed", "export.done", "plan.changed"]


def events(count: int, now_ms: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """`count` events of 30 days, each with its own event id."""
    rng = random.Random(seed)
    start = now_ms - 30 * DAY_MS
    visitors = max(10, count // 20)
    for index in range(count):
        visitor = rng.randrange(visitors)
        at_ms = start + rng.randrange(30 * DAY_MS - 60_000)
        event: dict[str, Any] = {"event_id": f"e{index}", "timestamp": at_ms}
        event["visitor_id"] = f"v{visitor}"
        kind = rng.random()
        if kind < 0.6:
            event.update(
                type="pageview", origin="browser", url="https://" + DOMAIN + rng.choice(PAGES)
            )
            referrer = rng.choice(REFERRERS)
            if referrer:
                event["referrer"] = referrer
        elif kind < 0.9:
            event.update(name=rng.choice(NAMES), props={"plan": rng.choice("abc"), "n": index % 7})
        elif kind < 0.95:
            event.update(type="identify", user_id=f"u{visitor}")
        else:
            amount = f"{rng.randrange(5, 200)}.00"
            event.update(
                name="invoice.paid",
                user_id=f"u{visitor}",
                order_id=f"o{index}",
                revenue={"amount": amount, "currency": "EUR"},
            )
        yield event


def batched(count: int, size: int) -> Iterator[list[dict[str, Any]]]:
    pending: list[dict[str, Any]] = []
    for event in events(count, int(time.time() * 1000)):
        pending.append(event)
        if len(pending) == size:
            yield pending
            pending = []
    if pending:
        yield pending


def post(url: str, body: Any, secret: str) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def clycyo(data: Path, *args: str, env: dict[str, str] | None = None) -> str:
    command = [str(VENV_BIN / "clycyo"), *args, "--data", str(data)]
    return subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout


def site_add(data: Path) -> dict[str, Any]:
    return json.loads(clycyo(data, "site", "add", DOMAIN, "--json"))  # type: ignore[no-any-return]


@contextlib.contextmanager
def serving(data: Path, env: dict[str, str] | None = None) -> Iterator[tuple[str, int]]:
    """A `clycyo serve` on `data`: (its base URL, its pid)."""
    port = free_port()
    command = [str(VENV_BIN / "clycyo"), "serve", "--data", str(data), "--port", str(port)]
    log = (data.parent / f"serve-{port}.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError):
                if get_json(base + "/healthz").get("accepting"):
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"clycyo serve did not start (see {log.name})")
            time.sleep(0.1)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=300)
        log.close()


def caught_up(base: str, timeout_s: float = 1800) -> int:
    """Stored events once the writer has loaded every durable record."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        health = get_json(base + "/healthz")
        if health["writer_lag_records"] == 0:
            return int(health["stored_events"])
        time.sleep(0.02)
    raise RuntimeError("the writer did not catch up")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def collect(data: Path, count: int, batch: int, out: Path) -> dict[str, Any]:
    """The baseline: the events sent through the collect API, then exported to `out`."""
    keys = site_add(data)
    with serving(data) as (base, pid):
        started = time.perf_counter()
        url, secret = base + "/api/collect", keys["secret_key"]
        with ThreadPoolExecutor(SENDERS) as pool:
            sent = pool.map(lambda b: post(url, {"batch": b}, secret), batched(count, batch))
            for answer in sent:
                if answer["rejected"]:
                    raise RuntimeError(f"rejected: {answer['rejected'][:3]}")
        stored = caught_up(base)
        collect_s = time.perf_counter() - started
        rss = peak_rss_mb(pid)
        started = time.perf_counter()
        clycyo(data, "export", "--site", DOMAIN, "--format", "parquet", "--out", str(out))
        export_s = time.perf_counter() - started
    return {
        "stored": stored,
        "collect_s": round(collect_s, 2),
        "collect_per_s": round(stored / collect_s),
        "collect_server_peak_rss_mb": round(rss),
        "export_s": round(export_s, 2),
        "export_per_s": round(stored / export_s),
        "file_mb": round(out.stat().st_size / 2**20, 1),
    }


def code_env(code: str | None) -> dict[str, str] | None:
    if code is None:
        return None
    return {**os.environ, "PYTHONPATH": code}


def import_once(data: Path, file: Path, env: dict[str, str] | None) -> dict[str, Any]:
    """The command on a folder no server holds: seconds, peak RSS and its summary."""
    command = [str(VENV_BIN / "clycyo"), "import", "--site", DOMAIN, "--in", str(file)]
    started = time.perf_counter()
    process = subprocess.Popen(
        [*command, "--json", "--data", str(data)], stdout=subprocess.PIPE, env=env
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"clycyo import failed: {output!r}")
    cpu_s = usage.ru_utime + usage.ru_stime  # less swayed than `s` by a busy machine
    return {"s": seconds, "cpu_s": cpu_s, "rss_mb": usage.ru_maxrss / 1024, **json.loads(output)}


def import_offline(data: Path, file: Path, env: dict[str, str] | None) -> dict[str, Any]:
    """The command on a folder no server holds, twice."""
    site_add(data)
    return {"first": import_once(data, file, env), "again": import_once(data, file, env)}


def halves(file: Path) -> tuple[Path, Path]:
    """The export split at its median time: (the older half, the newer half)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(file)
    times = pc.cast(table["time"], pa.int64())
    middle = pc.approximate_median(times)
    older, newer = file.with_name("older.parquet"), file.with_name("newer.parquet")
    pq.write_table(table.filter(pc.less(times, middle)), older)
    pq.write_table(table.filter(pc.greater_equal(times, middle)), newer)
    return older, newer


def import_in_turn(data: Path, files: list[Path], env: dict[str, str] | None) -> dict[str, Any]:
    """`files` imported offline into a fresh folder, one after the other."""
    site_add(data)
    runs = [import_once(data, file, env) for file in files]
    return {
        "runs": runs,
        "s": sum(run["s"] for run in runs),
        "cpu_s": sum(run["cpu_s"] for run in runs),
    }


def import_out_of_order(
    work: Path, older: Path, newer: Path, env: dict[str, str] | None
) -> dict[str, Any]:
    """The halves in order, then out of order; the ratio of the second imports' seconds."""
    in_order = import_in_turn(work / "in-order", [older, newer], env)
    out_of_order = import_in_turn(work / "out-of-order", [newer, older], env)
    return {
        "in_order": in_order,
        "out_of_order": out_of_order,
        "ratio": out_of_order["runs"][1]["s"] / in_order["runs"][1]["s"],
        "ratio_total": out_of_order["s"] / in_order["s"],
        "cpu_ratio": out_of_order["runs"][1]["cpu_s"] / in_order["runs"][1]["cpu_s"],
        "cpu_ratio_total": out_of_order["cpu_s"] / in_order["cpu_s"],
    }


def import_served(data: Path, file: Path, env: dict[str, str] | None) -> dict[str, Any]:
    """The command through a server that holds a fresh folder, twice."""
    site_add(data)
    runs = []
    with serving(data, env) as (base, pid):
        for _ in range(2):
            started = time.perf_counter()
            command = ["import", "--site", DOMAIN, "--in", str(file), "--json"]
            summary = json.loads(clycyo(data, *command, env=env))
            seconds = time.perf_counter() - started
            stored = caught_up(base)
            stored_s = time.perf_counter() - started
            run = {"s": seconds, "stored_s": stored_s, "stored_events": stored, **summary}
            runs.append({**run, "rss_mb": peak_rss_mb(pid)})
    return {"first": runs[0], "again": runs[1]}


def rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    return value


def _seconds(runs: list[dict[str, Any]]) -> str:
    return ", ".join(f"{run['s']:.1f} ({run['cpu_s']:.1f})" for run in runs)


def markdown_out_of_order(result: dict[str, Any]) -> str:
    base = result["baseline"]
    first = next(iter(result["out_of_order"].values()))
    rows = sum(run["rows"] for run in first["in_order"]["runs"])
    source = (
        f"from {base['file']}"
        if "file" in base
        else f"collect API: {base['collect_s']} s, {base['collect_per_s']:,} events/s stored"
    )
    lines = [
        f"{rows:,} events, halves at the median time; {source}",
        "",
        "| code | in order: older, newer s (CPU s) | out of order: newer, older s (CPU s)"
        " | x second import (CPU) | x both (CPU) |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, run in result["out_of_order"].items():
        ins, outs = run["in_order"]["runs"], run["out_of_order"]["runs"]
        lines.append(
            f"| {label} | {_seconds(ins)} | {_seconds(outs)} | {run['ratio']:.2f}"
            f" ({run['cpu_ratio']:.2f}) | {run['ratio_total']:.2f} ({run['cpu_ratio_total']:.2f}) |"
        )
    return "\n".join(lines)


def markdown(result: dict[str, Any]) -> str:
    base = result["baseline"]
    rows = base["stored"]
    lines = [
        f"{rows:,} events; collect API (batches of {result['batch']}): {base['collect_s']} s,"
        f" {base['collect_per_s']:,} events/s stored; export: {base['export_s']} s,"
        f" {base['export_per_s']:,} rows/s ({base['file_mb']} MB of Parquet)",
        "",
        "| code | import | s | rows/s | x collect | s again | rows/s again | peak RSS MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, runs in result["imports"].items():
        for way, run in runs.items():
            first, again = run["first"], run["again"]
            seconds = first.get("stored_s", first["s"])
            per_s = rows / seconds
            shown = (
                f"{first['s']:.1f} (stored {seconds:.1f})"
                if "stored_s" in first
                else f"{seconds:.1f}"
            )
            lines.append(
                f"| {label} | {way} | {shown} | {per_s:,.0f} | {per_s / base['collect_per_s']:.2f}"
                f" | {again['s']:.1f} | {rows / again['s']:,.0f}"
                f" | {max(first['rss_mb'], again['rss_mb']):,.0f} |"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=500, help="events per collect request")
    parser.add_argument("--code", action="append", default=[], help="another checkout's src")
    parser.add_argument("--reverse", action="store_true", help="the --code checkouts first")
    parser.add_argument("--no-server", action="store_true", help="offline imports only")
    parser.add_argument("--keep", help="copy the exported file to this path")
    parser.add_argument(
        "--out-of-order",
        action="store_true",
        help="the export's older half imported after its newer half, against in order",
    )
    parser.add_argument(
        "--file", help="with --out-of-order: this export (--keep's), instead of collecting"
    )
    args = parser.parse_args()
    if args.file and not args.out_of_order:
        parser.error("--file goes with --out-of-order")
    result: dict[str, Any] = {
        "machine": machine(),
        "versions": versions(["duckdb", "pyarrow", "uvicorn"]),
        "events": args.events,
        "batch": args.batch,
    }
    with tempfile.TemporaryDirectory(prefix="clycyo-import-", dir=ROOT / "bench") as folder:
        work = Path(folder)
        file = work / "events.parquet"
        if args.file:
            shutil.copyfile(args.file, file)
            result["baseline"] = {"file": args.file}
        else:
            result["baseline"] = collect(work / "collected", args.events, args.batch, file)
        print(json.dumps(result["baseline"]), flush=True)
        if args.keep:
            shutil.copyfile(file, args.keep)
        result["imports"] = {}
        variants = [("this", None), *((c, c) for c in args.code)]
        if args.out_of_order:
            older, newer = halves(file)
            result["out_of_order"] = {}
            for index, (label, code) in enumerate(reversed(variants) if args.reverse else variants):
                run = import_out_of_order(work / f"halves-{index}", older, newer, code_env(code))
                print(label, "out of order", json.dumps(rounded(run)), flush=True)
                result["out_of_order"][label] = run
            variants = []
        for label, code in reversed(variants) if args.reverse else variants:
            env = code_env(code)
            runs = {
                "offline": import_offline(work / f"offline-{len(result['imports'])}", file, env)
            }
            print(label, "offline", json.dumps(rounded(runs["offline"])), flush=True)
            if not args.no_server:
                runs["server"] = import_served(work / f"served-{len(result['imports'])}", file, env)
                print(label, "server", json.dumps(rounded(runs["server"])), flush=True)
            result["imports"][label] = runs
    result = rounded(result)
    table = markdown_out_of_order(result) if args.out_of_order else markdown(result)
    print(json.dumps(result["machine"]))
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"import-{stamp}.json").write_text(json.dumps(result, indent=2))
    (RESULTS / f"import-{stamp}.md").write_text(table + "\n")
    print(f"written: bench/results/import-{stamp}.json and .md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
