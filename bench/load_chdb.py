"""The loader's cost per event on each engine: deriving visits and writing a batch.

What a collector spends, beside HTTP and the pipeline (`bench/ingest.py`), to move accepted
events into the store: the writer's batches (25,000 events, its largest; `--batch` to change)
through the real deriver (`IdentityDeriver`) and the store's `write`, into DuckDB and into chDB
(`--engines`), for the same generated events (`query_world.World`). Reports events per second and
CPU microseconds per event (this process, all threads: chDB works in it), deriving and writing
separately.

    .venv/bin/python bench/load_chdb.py --events 1000000
    .venv/bin/python bench/load_chdb.py --events 100000 --batch 1000 --engines chDB
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from query_world import World  # noqa: E402

from clycyo.identity.deriver import IdentityDeriver  # noqa: E402
from clycyo.model import Event  # noqa: E402
from clycyo.store.base import EventStore  # noqa: E402
from clycyo.store.clickhouse.store import ClickHouseStore  # noqa: E402
from clycyo.store.clickhouse.transport import ChdbTransport  # noqa: E402
from clycyo.store.columns import fingerprint, to_arrow  # noqa: E402
from clycyo.store.duckdb.store import DuckDBStore  # noqa: E402

BATCH = 25_000


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(store: EventStore, days: list[list[Event]], batch_size: int) -> dict[str, float]:
    deriver = IdentityDeriver(store)
    spent = {"derive_s": 0.0, "derive_cpu_s": 0.0, "write_s": 0.0, "write_cpu_s": 0.0}
    events = 0
    seq = 0
    for day in days:
        for begin in range(0, len(day), batch_size):
            batch = day[begin : begin + batch_size]
            started, cpu = time.perf_counter(), _cpu_s()
            derived = deriver.derive(batch)
            table = to_arrow(
                batch,
                [fingerprint(e.site_id, e.event_id) for e in batch],
                [seq + 1] * len(batch),
                derived.visit_ids,
            )
            spent["derive_s"] += time.perf_counter() - started
            spent["derive_cpu_s"] += _cpu_s() - cpu
            seq += 1
            started, cpu = time.perf_counter(), _cpu_s()
            store.write(table, seq=seq, superseded=[], derived=derived.tables)
            spent["write_s"] += time.perf_counter() - started
            spent["write_cpu_s"] += _cpu_s() - cpu
            deriver.commit()
            events += len(batch)
    return {"events": events, **spent}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--batch", type=int, default=BATCH, help="events per load")
    parser.add_argument("--engines", default="DuckDB,chDB", help="which engines to load")
    args = parser.parse_args()
    end = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    world = World(args.events, args.days, 7, end)
    days = [world.day(index) for index in range(args.days)]
    for day in days:
        for event in day:
            event.received_us = event.time_us
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        engines: dict[str, Callable[[], EventStore]] = {
            "DuckDB": lambda: DuckDBStore(Path(folder) / "events.duckdb", threads=2),
            "chDB": lambda: ClickHouseStore(
                ChdbTransport(str(Path(folder) / "chdb")), loader="bench"
            ),
        }
        for name in args.engines.split(","):
            store = engines[name]()
            results[name] = run(store, days, args.batch)
            store.close()
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{sum(len(d) for d in days):,} events in loads of {args.batch:,}; load average {load}")
    print(
        "| engine | derive µs/event (CPU) | write µs/event (CPU) | write events/s | both events/s |"
    )
    print("|---|---:|---:|---:|---:|")
    for name, r in results.items():
        n = r["events"]
        print(
            f"| {name} | {r['derive_s'] / n * 1e6:.1f} ({r['derive_cpu_s'] / n * 1e6:.1f})"
            f" | {r['write_s'] / n * 1e6:.1f} ({r['write_cpu_s'] / n * 1e6:.1f})"
            f" | {n / r['write_s']:,.0f} | {n / (r['write_s'] + r['derive_s']):,.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
