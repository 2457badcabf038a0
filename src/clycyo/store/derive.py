"""The hook through which the writer maintains tables derived from events (visits, identities).

A deriver sees every batch of new events before it is stored, returns a visit id per event and
rows for its own tables, and keeps whatever state it needs between batches. It also sees the
batch's events that are not stored but still link a visitor to a user (`links`: a copy of an
order another copy superseded), for their links only. The writer stores the
events and the derived rows in one transaction, then calls `commit`; if the write fails it calls
`rollback`, and the same batch comes again. So a deriver must stage its state changes in
`derive` and apply them only in `commit`.

A table whose rows are whole copies of some of the batch's events (`actions`) is named in
`copies` with those events' indexes: the writer takes its rows from the events' own Arrow table,
which costs a fraction of converting the same events a second time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import pyarrow as pa

from clycyo.model import Event


@dataclass
class Derived:
    visit_ids: list[int | None]
    tables: dict[str, pa.Table] = field(default_factory=dict)
    copies: dict[str, list[int]] = field(default_factory=dict)  # table -> indexes of events

    def all_tables(self, events: pa.Table) -> dict[str, pa.Table]:
        """Every derived table's rows, given the batch's events as stored (same order)."""
        tables = dict(self.tables)
        for name, indexes in self.copies.items():
            tables[name] = events.take(pa.array(indexes, pa.int64()))
        return tables


class Deriver(Protocol):
    def derive(self, events: list[Event], links: Sequence[Event] = ()) -> Derived: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...
