"""Catching up: how fast the store writer loads a backlog of the intake log, and its memory.

A backlog builds up whenever the store falls behind the log: a sustained load above what the
writer stores, a ClickHouse outage, a `kill -9` (the log holds what was acknowledged and not yet
loaded). On start, and whenever the hand-off from the log has no records for it, the writer reads
the backlog back from disk a load at a time.

For each size in `--sizes`, in a fresh process: an intake log of that many events, in records of
100 server events as `bench/ingest.py`'s batches send them, is written with no writer running;
then a `Writer` with its `IdentityDeriver` on a new DuckDB file loads it all (`wait_loaded`). The
figures: wall and CPU time until the store holds every event, CPU µs per event against the
smallest backlog's in the same run (1.0 when catching up costs the same per event however far
behind the writer is), and the process's peak RSS while it catches up, sampled every 50 ms.

    .venv/bin/python bench/replay.py
    .venv/bin/python bench/replay.py --sizes 100000,1000000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from machine import machine
from processes import in_fresh_process, rss_bytes


def _rss_mb() -> float:
    return rss_bytes([os.getpid()]) / 2**20


def one(events: int, folder: Path) -> dict[str, Any]:
    """Write a backlog of `events` and time a writer loading it (in this process)."""
    import msgspec
    from derive import server_batch_events

    from clycyo.identity.deriver import IdentityDeriver
    from clycyo.store import columns
    from clycyo.store.duckdb.store import DuckDBStore
    from clycyo.store.intake import IntakeLog
    from clycyo.store.quarantine import Quarantine
    from clycyo.store.writer import Writer

    columns.keep_pandas_out()  # as the server does
    template = server_batch_events(100)
    log = IntakeLog(folder / "intake")
    for record in range(-(-events // 100)):
        batch = [
            msgspec.structs.replace(e, event_id=f"{record}-{i}") for i, e in enumerate(template)
        ]
        log.append_sync(batch, [])
    log.close()
    log_bytes = sum(p.stat().st_size for p in (folder / "intake").glob("*.log"))
    log = IntakeLog(folder / "intake")
    store = DuckDBStore(folder / "events.duckdb")
    deriver = IdentityDeriver(store)
    start_rss = _rss_mb()
    peak = [start_rss]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss_mb())
            time.sleep(0.05)

    threading.Thread(target=sample, daemon=True).start()
    started, started_cpu = time.perf_counter(), time.process_time()
    writer = Writer(store, log, Quarantine(folder / "quarantine.sqlite"), deriver=deriver)
    caught_up = writer.wait_loaded(log.last_seq, 3600)
    wall, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    done.set()
    stored = store.execute("SELECT count(*) FROM events")[0][0]
    writer.stop()
    log.close()
    store.close()
    if not caught_up or stored != events:
        raise RuntimeError(f"stored {stored} of {events} events")
    return {
        "events": events,
        "log_mb": round(log_bytes / 2**20, 1),
        "loads": writer.stats.batches,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "cpu_us_per_event": round(cpu / events * 1e6, 2),
        "rss_start_mb": round(start_rss),
        "rss_peak_mb": round(peak[0]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="200000,1000000", help="backlogs, in events")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a size, in this process
    args = parser.parse_args()
    if args.one:
        with tempfile.TemporaryDirectory(prefix="clycyo-replay-") as folder:
            print(json.dumps(one(args.one, Path(folder))))
        return 0
    sizes = sorted(int(s) for s in args.sizes.split(","))
    results = []
    for size in sizes:
        print(f"backlog of {size:,} events …", file=sys.stderr, flush=True)
        results.append(in_fresh_process(__file__, "--one", str(size)))
    baseline = results[0]["cpu_us_per_event"]
    print(json.dumps(machine()))
    print(
        "\n| backlog events | log MB | loads | wall s | events/s | CPU µs/event"
        " | x smallest backlog | RSS at start MB | peak RSS MB |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['events']:,} | {r['log_mb']} | {r['loads']} | {r['wall_s']}"
            f" | {r['events'] / r['wall_s']:,.0f} | {r['cpu_us_per_event']}"
            f" | {r['cpu_us_per_event'] / baseline:.2f} | {r['rss_start_mb']}"
            f" | {r['rss_peak_mb']} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
