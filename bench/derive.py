"""CPU cost per event of the store writer's parts, on demo-world events, small and large batches.

The store writer is one thread that loads every accepted event; whatever it spends per event caps
how many events per second the store takes. This script measures its parts on realistic events:

* **events**: the demo world (`clycyo.demo.world`: pageviews, engagement reports, web vitals,
  clicks, downloads, errors, identify, server signups, payments and refunds; thousands of
  visitors with several visits each), in time order across visitors as live traffic arrives,
  each sent through the real pipeline (`to_hit`, `process`) to an `Event`; or, with
  `--server-batches`, the batches of server events `bench/ingest.py` sends (a user id, two props
  and the end user's context each: every one of them an action, copied to `actions` too);
* **loads**: a real `Writer` with its `IdentityDeriver` on a `DuckDBStore` in a temporary folder
  (the writer's own thread stopped, `Writer._load` called directly with one intake record per
  batch), in batches of `--sizes` events (default 50, as under single-event load, and 25,000,
  the writer's largest batch);
* **parts**: `Dedupe.batch` (fingerprints, the seen-set lookup, order rules), `derive`, `commit`,
  `to_arrow` and `store.write`, each timed inside the real `_load` through a wrapper, and the
  whole `_load`. CPU time, which other work on the machine disturbs least: the thread's own for
  the Python parts, the process's for `write` and `load_cpu` (DuckDB works in threads of its
  own); `load` is the wall time;
* **fingerprint**: the batch's fingerprints alone (also part of `Dedupe.batch`).

The first `--warmup` loads are not counted (the DuckDB file and the visit memory fill). Each size
runs `--runs` times on a fresh folder; each figure is the lowest of the runs (other work on the
machine only ever adds time).

    .venv/bin/python bench/derive.py
    .venv/bin/python bench/derive.py --sizes 50,500,25000 --events 200000 --runs 5
    .venv/bin/python bench/derive.py --server-batches --sizes 25000
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from clycyo.collect.wire import decode_event, to_hit
from clycyo.demo.world import World
from clycyo.identity.deriver import IdentityDeriver
from clycyo.model import Event
from clycyo.pipeline import process
from clycyo.pipeline.context import Context
from clycyo.pipeline.salts import SaltRing
from clycyo.store import columns
from clycyo.store import writer as writer_module
from clycyo.store.duckdb.store import DuckDBStore
from clycyo.store.intake import IntakeLog
from clycyo.store.quarantine import Quarantine
from clycyo.store.segments import Record
from clycyo.store.writer import Writer

PARTS = ("dedupe", "fingerprint", "derive", "commit", "to_arrow", "write", "load", "load_cpu")
F = TypeVar("F", bound=Callable[..., Any])


def demo_events(count: int, seed: int) -> list[Event]:
    """`count` demo-world events in time order, as the pipeline makes them."""
    end_ms = int(time.time() * 1000)
    world = World(
        "shop.test", days=5, visitors_per_day=max(200, count // 70), seed=seed, end_ms=end_ms
    )
    raw = sorted(world.events(), key=lambda e: int(e["timestamp"]))  # type: ignore[call-overload]
    ctx = Context(salts=SaltRing())
    encode = msgspec.json.encode
    events: list[Event] = []
    for item in raw[-count:]:
        sent = decode_event(encode(item))
        received = int(item["timestamp"]) * 1000 + 200_000  # type: ignore[call-overload]
        hit = to_hit(sent, site_id=1, trusted=True, received_us=received, ip=None, user_agent=None)
        result = process(hit, ctx)
        if isinstance(result, Event):
            events.append(result)
    return events


def server_batch_events(count: int) -> list[Event]:
    """`count` events of the ingest benchmark's batches, as the pipeline makes them."""
    from wrk_loads import BATCH_SIZE, batch_events

    ctx = Context(salts=SaltRing())
    encode = msgspec.json.encode
    now_us = int(time.time() * 1_000_000)
    events: list[Event] = []
    for number in range(-(-count // BATCH_SIZE)):
        for item in batch_events(f"b{number}", "derive"):
            sent = decode_event(encode(item))
            hit = to_hit(
                sent, site_id=1, trusted=True, received_us=now_us + number, ip=None, user_agent=None
            )
            result = process(hit, ctx)
            if isinstance(result, Event):
                events.append(result)
    return events[:count]


class Timers:
    def __init__(self) -> None:
        self.seconds = dict.fromkeys(PARTS, 0.0)
        self.counting = False

    def wrap(self, name: str, function: F, clock: Callable[[], float] = time.thread_time) -> F:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = clock()
            try:
                return function(*args, **kwargs)
            finally:
                if self.counting:
                    self.seconds[name] += clock() - started

        return timed  # type: ignore[return-value]


def fingerprints_of(events: list[Event]) -> list[int]:
    batch = getattr(columns, "fingerprints", None)  # the batch form, where there is one
    if batch is not None:
        return batch(events)  # type: ignore[no-any-return]
    fingerprint = columns.fingerprint
    return [fingerprint(e.site_id, e.event_id) for e in events]


def run(events: list[Event], size: int, warmup: int, folder: Path) -> dict[str, float]:
    """One pass over `events` in loads of `size`; seconds per part over the counted events."""
    store = DuckDBStore(folder / "events.duckdb")
    intake = IntakeLog(folder / "intake")
    writer = Writer(store, intake, Quarantine(folder / "quarantine.sqlite"))
    writer.stop()  # the loads below run on this thread, one at a time
    deriver = IdentityDeriver(store)
    writer.deriver = deriver
    timers = Timers()
    writer.dedupe.batch = timers.wrap("dedupe", writer.dedupe.batch)  # type: ignore[method-assign]
    deriver.derive = timers.wrap("derive", deriver.derive)  # type: ignore[method-assign]
    deriver.commit = timers.wrap("commit", deriver.commit)  # type: ignore[method-assign]
    # DuckDB works in threads of its own: the process's CPU time.
    store.write = timers.wrap("write", store.write, time.process_time)  # type: ignore[method-assign]
    original_to_arrow = writer_module.to_arrow
    writer_module.to_arrow = timers.wrap("to_arrow", original_to_arrow)
    counted = 0
    try:
        for number, start in enumerate(range(0, len(events), size), start=1):
            batch = events[start : start + size]
            timers.counting = number > warmup
            started_cpu, started = time.process_time(), time.perf_counter()
            writer._load([(number, Record(events=batch, rejections=[]))])
            if timers.counting:
                timers.seconds["load"] += time.perf_counter() - started
                timers.seconds["load_cpu"] += time.process_time() - started_cpu
                started = time.thread_time()
                fingerprints_of(batch)
                timers.seconds["fingerprint"] += time.thread_time() - started
                counted += len(batch)
        if writer.stats.stored != len(events):
            raise RuntimeError(f"stored {writer.stats.stored} of {len(events)} events")
    finally:
        writer_module.to_arrow = original_to_arrow
        store.close()
        intake.close()
    return {name: seconds / counted * 1e6 for name, seconds in timers.seconds.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="50,25000", help="events per load, comma-separated")
    parser.add_argument("--events", type=int, default=150_000, help="events per run")
    parser.add_argument(
        "--small-events", type=int, default=30_000, help="events per run below 1,000 a load"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2, help="uncounted loads at the start")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--server-batches", action="store_true", help="the ingest benchmark's server events"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    started = time.perf_counter()
    events = (
        server_batch_events(args.events)
        if args.server_batches
        else demo_events(args.events, args.seed)
    )
    kinds: dict[str, int] = {}
    for event in events:
        kinds[event.name] = kinds.get(event.name, 0) + 1
    print(
        f"{len(events):,} events of {len({e.visitor_id for e in events}):,} visitors"
        f" in {time.perf_counter() - started:.1f} s: "
        + ", ".join(f"{name} {n:,}" for name, n in sorted(kinds.items(), key=lambda kv: -kv[1])),
        file=sys.stderr,
    )
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
    )
    print(f"\n| events per load | {' | '.join(PARTS)} |")
    print(f"|---:|{'---:|' * len(PARTS)}")
    for size in sizes:
        used = events if size >= 1000 else events[: args.small_events]
        best = dict.fromkeys(PARTS, float("inf"))
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="clycyo-bench-derive-") as tmp:
                figures = run(used, size, args.warmup, Path(tmp))
            best = {name: min(best[name], figures[name]) for name in PARTS}
        cells = " | ".join(f"{best[name]:.2f}" for name in PARTS)
        print(f"| {size:,} | {cells} |", flush=True)
    print("\nCPU µs per event (`load`: wall µs of the whole `Writer._load`).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
