"""Start-up: how long opening a data folder takes as the store grows, and what it holds then.

`Runtime.open` is what `clycyo serve` does before it listens (and what a restart after `kill -9`
waits for): open the event store, load the writer's exact dedupe memory (a fingerprint of every
stored event), the order memory, recent visits and identity links. For each world, in a fresh
process, the script times `Runtime.open` and reports the process's RSS after it; the empty data
folder, opened in the same run, is the baseline.

The worlds are the query benchmark's (`bench/query.py`: a month of one site's traffic made through
the real write path, kept in `bench/data/`), reused when they exist and generated otherwise. Each
is copied to a temporary folder first, so the kept file is never changed.

    .venv/bin/python bench/startup.py                       # 1 M and 10 M events
    .venv/bin/python bench/startup.py --events 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from machine import machine
from processes import in_fresh_process, rss_bytes

ROOT = Path(__file__).resolve().parent.parent


def _rss_mb() -> float:
    return rss_bytes([os.getpid()]) / 2**20


def open_once(data: Path) -> dict[str, Any]:
    """Time `Runtime.open` on `data` in this process."""
    from clycyo.runtime import Runtime, Settings

    before = _rss_mb()
    started = time.perf_counter()
    runtime = Runtime.open(Settings(data_dir=data))
    seconds = time.perf_counter() - started
    after = _rss_mb()
    events = runtime.store.execute("SELECT count(*) FROM events")[0][0]
    remembered = len(runtime.writer.dedupe.seen or ())
    runtime.close()
    return {
        "events": events,
        "open_s": round(seconds, 2),
        "rss_before_mb": round(before),
        "rss_after_mb": round(after),
        "fingerprints": remembered,
    }


def world(events: int, data: Path) -> Path:
    """The query benchmark's world of `events` events (generated if it is not kept yet)."""
    path = data / f"query-{events}-30d-seed7.duckdb"
    if not path.exists():
        query = [sys.executable, str(ROOT / "bench" / "query.py"), "--events", str(events)]
        subprocess.run([*query, "--no-postgres", "--no-chdb", "--rounds", "1"], check=True)
    return path


def measure(source: Path | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="clycyo-startup-", dir=ROOT / "bench") as folder:
        data = Path(folder) / "data"
        data.mkdir()
        if source is not None:
            shutil.copyfile(source, data / "events.duckdb")
        return in_fresh_process(__file__, "--open", str(data))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", default="1000000,10000000", help="world sizes, in events")
    parser.add_argument("--data", default=str(ROOT / "bench" / "data"))
    parser.add_argument("--open", help=argparse.SUPPRESS)  # a data folder, in this process
    args = parser.parse_args()
    if args.open:
        print(json.dumps(open_once(Path(args.open))))
        return 0
    sizes = [int(s) for s in args.events.split(",")]
    sources = [world(n, Path(args.data)) for n in sizes]
    results = [measure(None)] + [measure(source) for source in sources]
    baseline = results[0]["open_s"]
    print(json.dumps(machine()))
    print("\n| events in the store | open s | x empty folder | RSS after open MB |")
    print("|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['events']:,} | {r['open_s']} | {r['open_s'] / baseline:.1f}"
            f" | {r['rss_after_mb']} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
