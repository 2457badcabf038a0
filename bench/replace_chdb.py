"""What replacing stored copies of orders costs the ClickHouse loader (chDB), deleted by patch
parts or by mutations.

A copy of an order that outranks the stored copy (`order_copies`: one that names its buyer after
one that names nobody) makes the load that carries it delete the stored copy from `events`,
`actions` and `orders` (`ClickHouseStore._delete_replaced`). This loads a chDB store whose tables
already hold `--rows` events (merged into large parts), then `--loads` loads of `--batch` events
of each of three kinds, taken in turn so that the machine's other work weighs on each alike:
ordinary loads; loads that replace `--replace` stored copies, deleted as lightweight updates of
the row mask (what the store does where tables take them); and the same, deleted by mutations
(the store's `light_deletes` emptied: what it did before, and does where a server lacks
`lightweight_delete_mode`). It reports each kind's write time and its ratio to an ordinary load.

    .venv/bin/python bench/replace_chdb.py --rows 500000 --loads 15
    .venv/bin/python bench/replace_chdb.py --rows 1000000 --loads 10
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

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
from clycyo.store.clickhouse.store import ClickHouseStore
from clycyo.store.clickhouse.transport import ChdbTransport

KINDS = ("ordinary", "replacing, patch part", "replacing, mutation")
TABLES = ("events", "actions", "orders")


def _event(index: int, time_us: int, prefix: str) -> Event:
    if index % ORDER_EVERY == 0:
        # A server's copy that names nobody: a copy naming its buyer outranks it.
        return order_copy(f"{prefix}{index}", time_us, f"{prefix}o{index}", None)
    return browser_event(index, time_us, prefix, "pageview" if index % 3 else "signup")


def run(folder: str, args: argparse.Namespace) -> dict[str, list[tuple[float, float]]]:
    store = ClickHouseStore(ChdbTransport(folder, "replace"), loader="bench")
    store.derived_tables.add("actions")  # made by the migrations; filled here as the writer does
    light = store.light_deletes
    if not light:
        print("this engine deletes by mutation only: nothing to compare", file=sys.stderr)
    seq = preload(store, args.rows, lambda i, t: _event(i, t, "p"), TABLES, actions=True)
    step = step_us(args.rows)
    orders = list(range(0, args.rows, ORDER_EVERY))
    spent: dict[str, list[tuple[float, float]]] = {kind: [] for kind in KINDS}
    replacements = 0
    for number in range(args.loads * len(KINDS)):
        kind = KINDS[number % len(KINDS)]
        base = number * args.batch
        stream_us = START_US + SPAN_US
        events = [_event(base + i, stream_us + (base + i) * 1000, "s") for i in range(args.batch)]
        replaced: list[tuple[int, str, str]] = []
        if kind != "ordinary" and orders:
            for _ in range(args.replace):
                index = orders[replacements * 7919 % len(orders)]
                replacements += 1
                # A copy of stored order `index` that names its buyer.
                copy = order_copy(f"r{index}", START_US + index * step, f"po{index}", f"u{index}")
                events.append(copy)
                replaced.append((1, "purchase", f"po{index}"))
        store.light_deletes = frozenset() if kind == "replacing, mutation" else light
        seq += 1
        started, cpu = time.perf_counter(), cpu_s()
        load(store, events, seq, actions=True, replaced=replaced)
        spent[kind].append((time.perf_counter() - started, cpu_s() - cpu))
    if orders:
        # Each replaced order is one row in each table: the outranking copy.
        for table in TABLES:
            [(rows, outranking)] = store.execute(
                f"SELECT count(), countIf(startsWith(event_id, 'r')) FROM {table}"
                " WHERE name = 'purchase' AND startsWith(order_id, 'po')"
            )
            assert rows == len(orders) and outranking == replacements, (table, rows)
    store.close()
    return spent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=500_000, help="events stored beforehand")
    parser.add_argument("--loads", type=int, default=15, help="loads of each kind")
    parser.add_argument("--batch", type=int, default=2000, help="events per load")
    parser.add_argument("--replace", type=int, default=1, help="copies replaced per load")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        spent = run(folder, args)
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"{args.loads} loads of each kind, {args.batch:,} events each, over {args.rows:,} stored"
        f" events, {args.replace} replaced per replacing load; load average {load}"
    )
    ordinary = statistics.median(s for s, _ in spent["ordinary"])
    print("| load | median ms | CPU s (all) | ratio to ordinary |")
    print("|---|---:|---:|---:|")
    for kind, times in spent.items():
        median = statistics.median(s for s, _ in times)
        cpu = sum(c for _, c in times)
        print(f"| {kind} | {median * 1000:.0f} | {cpu:.1f} | {median / ordinary:.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
