"""What the chDB order benchmarks (`amend_chdb.py`, `replace_chdb.py`) share: a store whose tables
already hold many events, merged into large parts, one in `ORDER_EVERY` of them a stored copy of
an order, and the loads that follow, handed to `ClickHouseStore.write` as the writer hands them.
"""

from __future__ import annotations

import resource
import sys
from collections.abc import Callable, Iterable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from clycyo.model import Event
from clycyo.store.clickhouse.store import ClickHouseStore
from clycyo.store.columns import fingerprints, to_arrow

START_US = 1_793_491_200_000_000  # 2026-11-01 00:00 UTC
DAY_US = 86_400_000_000
SPAN_US = 25 * DAY_US  # the stored events' time span; the loads come after it
ORDER_EVERY = 100  # one stored event in this many is a copy of an order
CHUNK = 100_000


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def browser_event(index: int, time_us: int, prefix: str, name: str = "pageview") -> Event:
    return Event(
        site_id=1,
        event_id=f"{prefix}{index}",
        time_us=time_us,
        received_us=time_us,
        origin="browser",
        type="pageview" if name == "pageview" else "event",
        name=name,
        visitor_id=f"v{index % 50_000}",
        url=f"https://example.com/p{index % 300}",
        page=f"/p{index % 300}",
        props={"k": str(index % 7)},
    )


def order_copy(event_id: str, time_us: int, order_id: str, user_id: str | None) -> Event:
    """A server's copy of a 49 EUR `purchase`, naming `user_id` as its buyer (or nobody)."""
    return Event(
        site_id=1,
        event_id=event_id,
        time_us=time_us,
        received_us=time_us,
        origin="server",
        type="event",
        name="purchase",
        user_id=user_id,
        props={"plan": "pro"},
        revenue_amount="49.00",
        revenue_currency="EUR",
        order_id=order_id,
    )


def load(
    store: ClickHouseStore, events: list[Event], seq: int, *, actions: bool = False, **write: Any
) -> None:
    """One load, as the writer hands it to the store; with `actions`, that table filled as the
    deriver fills it (every event but pageviews)."""
    table = to_arrow(events, fingerprints(events), [seq] * len(events))
    derived = {}
    if actions:
        derived["actions"] = table.filter(pc.not_equal(table.column("type"), pa.scalar("pageview")))
    store.write(table, seq=seq, superseded=[], derived=derived or None, **write)


def preload(
    store: ClickHouseStore,
    rows: int,
    event: Callable[[int, int], Event],
    tables: Iterable[str],
    *,
    actions: bool = False,
) -> int:
    """Store `rows` events (`event(index, time_us)`) spread over `SPAN_US`, `step_us(rows)`
    apart, merge `tables` into large parts, and return the last load's `seq`."""
    seq = 0
    step = step_us(rows)
    for begin in range(0, rows, CHUNK):
        seq += 1
        count = min(CHUNK, rows - begin)
        events = [event(i, START_US + i * step) for i in range(begin, begin + count)]
        load(store, events, seq, actions=actions)
    if rows:
        for table in tables:
            store.command(f"OPTIMIZE TABLE {table} FINAL")
    print(f"{rows:,} events stored", file=sys.stderr, flush=True)
    return seq


def step_us(rows: int) -> int:
    """The time between two stored events (`preload`)."""
    return SPAN_US // max(rows, 1)
