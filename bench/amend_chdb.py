"""What amending stored copies of orders costs the ClickHouse loader (chDB).

An order's copy that comes after the stored copy kept and brings props it lacks (a
subscription's `invoice.paid` after its Checkout Session's copy) makes the load that carries it
amend the stored copy (`AmendedCopy`, decision 0012). This loads `--loads` loads of `--batch`
events into a chDB store whose `events` table already holds `--rows` events (merged into large
parts), once with no amendment and once with `--amend` amendments per load, each of a stored
copy among the `--rows`, and reports the write time of both and their ratio.

    .venv/bin/python bench/amend_chdb.py --rows 2000000
    .venv/bin/python bench/amend_chdb.py --rows 0 --loads 50
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from chdb_orders import (
    ORDER_EVERY,
    SPAN_US,
    START_US,
    browser_event,
    cpu_s,
    load,
    order_copy,
    preload,
    step_us,
)

from clycyo.model import Event
from clycyo.store.base import AmendedCopy
from clycyo.store.clickhouse.store import ClickHouseStore
from clycyo.store.clickhouse.transport import ChdbTransport


def _event(index: int, time_us: int, prefix: str) -> Event:
    if index % ORDER_EVERY == 0:
        return order_copy(f"{prefix}{index}", time_us, f"o{index}", f"u{index % 5000}")
    return browser_event(index, time_us, prefix)


def run(folder: str, database: str, args: argparse.Namespace, amend: int) -> dict[str, float]:
    store = ClickHouseStore(ChdbTransport(folder, database), loader="bench")
    print(f"{database}: ", end="", file=sys.stderr)
    seq = preload(store, args.rows, lambda i, t: _event(i, t, "p"), ("events", "actions"))
    orders = list(range(0, args.rows, ORDER_EVERY))
    step = step_us(args.rows)
    spent = {"write_s": 0.0, "write_cpu_s": 0.0}
    touched: set[int] = set()
    for number in range(args.loads):
        base = number * args.batch
        stream_start = START_US + SPAN_US
        events = [
            _event(base + i, stream_start + (base + i) * 1000, "s") for i in range(args.batch)
        ]
        amended = []
        for n in range(amend):
            index = orders[(number * amend + n) * 7919 % len(orders)] if orders else 0
            touched.add(index)
            amended.append(
                AmendedCopy(
                    1,
                    "purchase",
                    f"p{index}",
                    START_US + index * step,
                    {"plan": "pro", "billing_reason": "subscription_create"},
                )
            )
        seq += 1
        started, cpu = time.perf_counter(), cpu_s()
        load(store, events, seq, amended=amended)
        spent["write_s"] += time.perf_counter() - started
        spent["write_cpu_s"] += cpu_s() - cpu
    if amend and orders:
        # Every amended copy is read back once, with its new props (`actions`, which the
        # deriver fills, is empty here).
        [(rows, amended_rows)] = store.execute(
            "SELECT count(), countIf(props['billing_reason'] != '') FROM events"
            " WHERE name = 'purchase'"
        )
        assert rows == len(orders) + args.loads * (args.batch // ORDER_EVERY), rows
        assert amended_rows == len(touched), amended_rows
    store.close()
    return spent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="events stored beforehand")
    parser.add_argument("--loads", type=int, default=100)
    parser.add_argument("--batch", type=int, default=2000, help="events per load")
    parser.add_argument("--amend", type=int, default=1, help="amendments per load")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for label, amend in (("no amendment", 0), (f"{args.amend} amendment per load", args.amend)):
            results[label] = run(str(Path(folder) / "chdb"), f"b{amend}", args, amend)
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"{args.loads} loads of {args.batch:,} events over {args.rows:,} stored events;"
        f" load average {load}"
    )
    print("| loads | write s (CPU s) | ms per load |")
    print("|---|---:|---:|")
    for label, r in results.items():
        print(
            f"| {label} | {r['write_s']:.2f} ({r['write_cpu_s']:.2f})"
            f" | {r['write_s'] / args.loads * 1000:.0f} |"
        )
    plain, amended = results.values()
    print(f"ratio: {amended['write_s'] / plain['write_s']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
