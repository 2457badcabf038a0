"""The interface every event store implements (DuckDB embedded, ClickHouse for scale-out).

The writer thread is the only caller of the write methods; queries may come from any thread.
A store loads a batch and records the intake sequence number it reached in one transaction (or,
where the engine has none, idempotently), so replaying the intake log never doubles anything.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt
import pyarrow as pa

LOCAL_SOURCE = "local"  # the serving process's own intake log


class InUse(RuntimeError):
    """A file of the data folder that one process at a time may write is held by another (a
    second server started on the same folder)."""


def checkpoint_key(source: str) -> str:
    """The key under which a store records how far it loaded one intake log."""
    return "intake_seq" if source == LOCAL_SOURCE else f"intake_seq:{source}"


class OrderRow(Protocol):
    site_id: int
    name: str
    order_id: str
    origin: str
    event_id: str


class StoredCopy(NamedTuple):
    """A stored copy of an order, as `EventStore.order_props` reads it."""

    rank: int  # `order_copies.rank`
    event_id: str
    time_us: int  # with `event_id`, finds the row again
    props: dict[str, str]


class AmendedCopy(NamedTuple):
    """A stored copy of an order that takes the props it lacks of a copy not kept (one of the
    same or a lower rank that came after it): `EventStore.write` sets its props to `props`."""

    site_id: int
    name: str
    event_id: str
    time_us: int
    props: dict[str, str]


class EventStore(Protocol):
    dialect: str  # "duckdb" or "clickhouse": which SQL the query layer builds
    shared: bool  # whether writers of other processes load into it too

    def loaded_seq(self, source: str = LOCAL_SOURCE) -> int:
        """The last sequence number of the intake log `source` whose events are all stored."""
        ...

    def fingerprints(self) -> npt.NDArray[np.uint64]:
        """Every stored event's fingerprint, for the writer's dedupe memory."""
        ...

    def ids_of(self, events: Sequence[tuple[int, int, int]]) -> set[tuple[int, str]]:
        """Of (site_id, time_us, fingerprint) triples, the (site_id, event_id) of the stored
        events with those fingerprints: whether a fingerprint is really this event and not a
        collision, and, in a store several writers load, what the others stored."""
        ...

    def orders(self, keys: Sequence[tuple[int, str, str]]) -> dict[tuple[int, str, str], int]:
        """For (site_id, name, order_id) keys: the rank of the copy stored
        (`order_copies.rank`: whether it carries money, whether the server sent it, whether it
        names a person)."""
        ...

    def all_orders(self) -> Iterator[tuple[int, str, str, int]]:
        """Every stored (site_id, name, order_id, rank), to warm the pipeline's memory."""
        ...

    def order_props(
        self, keys: Sequence[tuple[int, str, str]]
    ) -> dict[tuple[int, str, str], list[StoredCopy]]:
        """For (site_id, name, order_id) keys: each stored copy with its rank and props, so that
        a copy taking their place keeps what it lacks, and the copy kept takes what a later copy
        brings (`order_copies`)."""
        ...

    def write(
        self,
        events: pa.Table,
        *,
        seq: int,
        superseded: Sequence[tuple[int, str, str]],
        derived: Mapping[str, pa.Table] | None = None,
        source: str = LOCAL_SOURCE,
        replaced: Sequence[tuple[int, str, str]] = (),
        keep: bool = True,
        amended: Sequence[AmendedCopy] = (),
    ) -> None:
        """Store `events`, drop the browser copies of the `superseded` orders (a server copy
        among `events` outranks them) and every stored copy of the `replaced` orders (a copy
        among `events` outranks them otherwise: one with money a copy without, one that names a
        person a copy of the same origin that names nobody), give the `amended` copies their
        new props (in `events` and in `actions`), append the
        `derived` tables' rows (visits, identity links) and record that the intake log `source`
        is loaded up to `seq`, all at once.

        With `keep` false, only rehearse it: do the same, then undo it, raising what the write
        would raise and leaving the store as it was. The writer rehearses parts of a load to
        find which events the store refuses."""
        ...

    def settle(self) -> None:
        """Tidy up after a burst of writes (the writer calls this once it has been idle for a
        while): e.g. fold a write-ahead log into the database file."""
        ...

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read query (SQL from the query builder, values only as parameters)."""
        ...

    def close(self) -> None: ...
