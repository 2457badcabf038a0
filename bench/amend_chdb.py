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
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from clycyo.model import Event
from clycyo.store.base import AmendedCopy
from clycyo.store.clickhouse.store import ClickHouseStore
from clycyo.store.clickhouse.transport import ChdbTransport
from clycyo.store.columns import fingerprints, to_arrow

START_US = 1_793_491_200_000_000  # 2026-11-01 00:00 UTC
DAY_US = 86_400_000_000
ORDER_EVERY = 100  # one preloaded event in this many is a stored copy of an order


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _event(index: int, time_us: int, prefix: str) -> Event:
    if index % ORDER_EVERY == 0:
        return Event(
            site_id=1,
            event_id=f"{prefix}{index}",
            time_us=time_us,
            received_us=time_us,
            origin="server",
            type="event",
            name="purchase",
            user_id=f"u{index % 5000}",
            props={"plan": "pro"},
            revenue_amount="49.00",
            revenue_currency="EUR",
            order_id=f"o{index}",
        )
    return Event(
        site_id=1,
        event_id=f"{prefix}{index}",
        time_us=time_us,
        received_us=time_us,
        origin="browser",
        type="pageview",
        name="pageview",
        visitor_id=f"v{index % 50_000}",
        url=f"https://example.com/p{index % 300}",
        page=f"/p{index % 300}",
        props={"k": str(index % 7)},
    )


def _load(
    store: ClickHouseStore, events: list[Event], seq: int, amended: Sequence[AmendedCopy] = ()
) -> None:
    table = to_arrow(events, fingerprints(events), [seq] * len(events))
    store.write(table, seq=seq, superseded=[], amended=amended)


def run(folder: str, database: str, args: argparse.Namespace, amend: int) -> dict[str, float]:
    store = ClickHouseStore(ChdbTransport(folder, database), loader="bench")
    seq = 0
    chunk = 100_000
    span_us = 25 * DAY_US
    for begin in range(0, args.rows, chunk):
        count = min(chunk, args.rows - begin)
        step = span_us // max(args.rows, 1)
        seq += 1
        _load(
            store, [_event(i, START_US + i * step, "p") for i in range(begin, begin + count)], seq
        )
    print(f"{database}: {args.rows:,} events stored", file=sys.stderr, flush=True)
    if args.rows:
        store.command("OPTIMIZE TABLE events FINAL")
        store.command("OPTIMIZE TABLE actions FINAL")
    orders = list(range(0, args.rows, ORDER_EVERY))
    step = span_us // max(args.rows, 1)
    spent = {"write_s": 0.0, "write_cpu_s": 0.0}
    touched: set[int] = set()
    for load in range(args.loads):
        base = load * args.batch
        stream_start = START_US + 25 * DAY_US
        events = [
            _event(base + i, stream_start + (base + i) * 1000, "s") for i in range(args.batch)
        ]
        amended = []
        for n in range(amend):
            index = orders[(load * amend + n) * 7919 % len(orders)] if orders else 0
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
        started, cpu = time.perf_counter(), _cpu_s()
        _load(store, events, seq, amended=amended)
        spent["write_s"] += time.perf_counter() - started
        spent["write_cpu_s"] += _cpu_s() - cpu
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
