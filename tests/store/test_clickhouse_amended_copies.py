"""A stored copy of an order that takes a later copy's props, on ClickHouse (chDB): no mutation
rewrites `props` (a lightweight `UPDATE` patches the rows), and a load undone at any point of
the amendment ends, once sent again, as if it had not failed (`ClickHouseStore._amend`,
decision 0012)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from clycyo.model import Event
from clycyo.store.intake import IntakeLog
from clycyo.store.quarantine import Quarantine
from clycyo.store.writer import Writer
from tests.store.test_writer import INVOICE, SESSION, SESSION_FIRST

pytest.importorskip("chdb")
from clycyo.store.clickhouse import schema
from clycyo.store.clickhouse.store import ClickHouseStore
from tests.store.flaky import FlakyTransport

_databases = itertools.count()


class Loader:
    """A writer (with the deriver, which fills `actions`) loading into a chDB database through
    a transport that can lose a statement's answer."""

    def __init__(self, folder: Path, chdb_folder: Path) -> None:
        from clycyo.identity.deriver import open_deriver

        self.transport = FlakyTransport(str(chdb_folder), f"amend{next(_databases)}")
        self.store = ClickHouseStore(self.transport, loader="test")
        self.log = IntakeLog(folder / "intake")
        self.writer = Writer(
            self.store, self.log, Quarantine(folder / "q.sqlite"), deriver=open_deriver(self.store)
        )

    def put(self, *events: Event) -> None:
        assert self.writer.wait_loaded(self.log.append_sync(list(events), []), 20)

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        """Every row of the order in `table`, merged or not, deleted ones left out."""
        return [
            tuple(row)
            for row in self.store.execute(
                f"SELECT event_id, props, loader, load_seq FROM {table}"
                " WHERE name = 'payment' ORDER BY event_id"
            )
        ]

    def close(self) -> None:
        self.log.close()
        self.writer.stop()
        self.store.close()


def test_a_stored_copy_takes_a_later_copys_props_without_a_mutation_of_props(
    tmp_path: Path, chdb_folder: Path
) -> None:
    """Amending is a routine of every subscription (its `invoice.paid` after its Checkout
    Session's copy): an `ALTER TABLE … UPDATE` of `props` would rewrite whole parts each time."""
    loader = Loader(tmp_path, chdb_folder)
    loader.put(SESSION)
    loader.put(INVOICE)
    for table in ("events", "actions"):
        assert loader.rows(table) == [(SESSION.event_id, SESSION_FIRST, "test", 1)]
    rewrites = loader.store.execute(
        "SELECT command FROM system.mutations WHERE database = currentDatabase()"
        " AND table IN ('events', 'actions') AND command ILIKE '%UPDATE props%'"
    )
    assert rewrites == []
    loader.close()


@pytest.mark.parametrize(
    "lost",
    [
        "UPDATE actions",  # `actions` is amended, `events` not yet
        "UPDATE events",
        "INSERT INTO meta",  # the commit
    ],
)
def test_a_load_undone_during_an_amendment_ends_the_same_once_sent_again(
    tmp_path: Path, chdb_folder: Path, lost: str
) -> None:
    """The load is undone where the answer was lost and the writer sends it again: one row of
    the copy kept in each table, with the props of both copies and its own load's bookkeeping
    (undoing the load that amends it must not take it away), in `actions` as in `events`
    whichever statement failed."""
    loader = Loader(tmp_path, chdb_folder)
    loader.put(SESSION)
    loader.transport.lose_answer_of = lost
    loader.put(INVOICE)
    assert loader.transport.failures == 1
    for table in ("events", "actions"):
        assert loader.rows(table) == [(SESSION.event_id, SESSION_FIRST, "test", 1)], table
    # And a third copy with nothing new changes nothing.
    loader.put(INVOICE)
    assert loader.rows("events") == [(SESSION.event_id, SESSION_FIRST, "test", 1)]
    loader.close()


def test_tables_made_before_lightweight_updates_get_them_on_open(
    tmp_path: Path, chdb_folder: Path
) -> None:
    loader = Loader(tmp_path, chdb_folder)
    assert loader.store.patchable
    for table in schema.PATCHED_TABLES:
        loader.store.command(f"ALTER TABLE {table} RESET SETTING {', '.join(schema.PATCHABLE)}")
    assert not schema.patchable(loader.store)
    loader.close()
    again = ClickHouseStore(FlakyTransport(str(chdb_folder), loader.transport.database), loader="t")
    assert again.patchable and schema.patchable(again)
    again.close()


def test_without_lightweight_updates_the_props_are_amended_by_a_mutation(
    tmp_path: Path, chdb_folder: Path
) -> None:
    """What a server older than lightweight updates (or with them off) does: the same props,
    at a mutation's cost."""
    loader = Loader(tmp_path, chdb_folder)
    loader.put(SESSION)
    for table in schema.PATCHED_TABLES:
        loader.store.command(f"ALTER TABLE {table} RESET SETTING {', '.join(schema.PATCHABLE)}")
    loader.store.patchable = schema.patchable(loader.store)
    assert not loader.store.patchable
    loader.put(INVOICE)
    for table in ("events", "actions"):
        assert loader.rows(table) == [(SESSION.event_id, SESSION_FIRST, "test", 1)]
    [(mutations,)] = loader.store.execute(
        "SELECT count() FROM system.mutations WHERE database = currentDatabase()"
        " AND table IN ('events', 'actions') AND command ILIKE '%UPDATE props%'"
    )
    assert mutations == 2
    loader.close()
