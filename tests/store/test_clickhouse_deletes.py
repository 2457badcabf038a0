"""Deletes on ClickHouse (chDB, the real engine) as lightweight updates of the row mask: a
replaced copy of an order, an undone load, erasure, retention, a site's removal and compaction
delete what they did, no read sees a deleted row, and no mutation rewrites a part
(`ClickHouseStore.delete`, `schema.LIGHT_DELETE`)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clycyo import runtime as runtime_module
from clycyo.query import api
from clycyo.store.base import EventStore
from clycyo.store.open import loader_name
from tests.small_world import SmallWorld

pytest.importorskip("chdb")
from clycyo.store.clickhouse import schema
from clycyo.store.clickhouse.binding import bind
from clycyo.store.clickhouse.store import ClickHouseStore
from clycyo.store.clickhouse.transport import ChdbTransport, TransportError
from tests.store.flaky import FlakyTransport

_databases = itertools.count()
MONEY = ("orders", "revenue")


@pytest.fixture
def worlds(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, chdb_folder: Path
) -> Iterator[list[SmallWorld]]:
    """Worlds opened in this test (`_open`), each on a chDB database of its own reached through
    a transport that can lose an answer (`_transport`); closed at the end."""
    opened: list[SmallWorld] = []

    def open_store(url: str | None, data_dir: Path, *, memory_limit: str | None) -> EventStore:
        transport = FlakyTransport(str(chdb_folder), f"deletes{next(_databases)}")
        return ClickHouseStore(transport, loader=loader_name(data_dir))

    monkeypatch.setattr(runtime_module, "open_store", open_store)
    yield opened
    for world in opened:
        world.close()


def _open(worlds: list[SmallWorld], folder: Path) -> SmallWorld:
    world = SmallWorld(folder, storage="chdb://")  # the store is `worlds`' own
    worlds.append(world)
    return world


def _store(world: SmallWorld) -> ClickHouseStore:
    store = world.runtime.store
    assert isinstance(store, ClickHouseStore)
    return store


def _transport(world: SmallWorld) -> FlakyTransport:
    transport = _store(world).transport
    assert isinstance(transport, FlakyTransport)
    return transport


def _mutations(world: SmallWorld) -> list[tuple[str, str]]:
    """The mutations of the world's database: (table, command)."""
    return [
        (str(table), str(command))
        for table, command in _store(world).execute(
            "SELECT table, command FROM system.mutations WHERE database = currentDatabase()"
            " ORDER BY table, create_time"
        )
    ]


def _count(world: SmallWorld, sql: str) -> int:
    return int(_store(world).execute(sql)[0][0])


def _order_rows(world: SmallWorld, table: str, unpatched: bool = False) -> list[str]:
    """The event ids of order o1's rows in `table`; `unpatched`: as the parts hold them, with no
    patch applied (the rows deleted by patch parts still among them)."""
    tail = " SETTINGS apply_patch_parts = 0" if unpatched else ""
    return sorted(
        str(row[0])
        for row in _store(world).execute(
            f"SELECT event_id FROM {table} WHERE order_id = 'o1'{tail}"
        )
    )


def _outranked_then_outranking(world: SmallWorld) -> None:
    """A server's copy of order o1 that names nobody, then one that names its buyer, which
    takes its place (`order_copies`): the load of the second deletes the first."""
    world.send(world.payment(60, "49.90", "o1", event_id="nobody's"))
    world.send(world.payment(61, "49.90", "o1", user_id="u1", event_id="u1's"))


def test_a_replaced_copy_of_an_order_is_deleted_by_a_patch_part_not_a_mutation(
    worlds: list[SmallWorld], tmp_path: Path
) -> None:
    world = _open(worlds, tmp_path)
    _outranked_then_outranking(world)
    for table in ("events", "actions", "orders"):
        assert _order_rows(world, table) == ["u1's"], table
        # The copy replaced is still in its part; every read applies the patch that masks it.
        assert _order_rows(world, table, unpatched=True) == ["nobody's", "u1's"], table
    assert world.totals(*MONEY) == [1, 49.9]
    assert _mutations(world) == []
    assert _store(world).light_deletes == frozenset(schema.PATCHED_TABLES)


def test_where_a_table_takes_no_lightweight_updates_its_deletes_are_mutations(
    worlds: list[SmallWorld], tmp_path: Path
) -> None:
    """A table made by a server without lightweight updates (or whose `MODIFY SETTING` failed)
    is deleted from as before, and the answers are the same."""
    world = _open(worlds, tmp_path)
    store = _store(world)
    store.command(f"ALTER TABLE orders RESET SETTING {', '.join(schema.PATCHABLE)}")
    patched = schema.patched(store)
    assert "orders" not in patched and {"events", "actions"} <= patched
    store.light_deletes = schema.light_deletes(store, patched)
    _outranked_then_outranking(world)
    for table in ("events", "actions", "orders"):
        assert _order_rows(world, table) == ["u1's"], table
    assert world.totals(*MONEY) == [1, 49.9]
    assert [table for table, _ in _mutations(world)] == ["orders"]


def test_with_light_deletes_off_every_delete_is_a_mutation_with_the_same_answers(
    worlds: list[SmallWorld], tmp_path: Path
) -> None:
    """What a server without `lightweight_delete_mode` gets (and `bench/replace_chdb.py`'s
    comparison runs): the lightweight `DELETE` of before."""
    world = _open(worlds, tmp_path)
    _store(world).light_deletes = frozenset()
    _outranked_then_outranking(world)
    for table in ("events", "actions", "orders"):
        assert _order_rows(world, table) == ["u1's"], table
        assert _order_rows(world, table, unpatched=True) == ["u1's"], table
    assert world.totals(*MONEY) == [1, 49.9]
    assert sorted(table for table, _ in _mutations(world)) == ["actions", "events", "orders"]


def _visitors(world: SmallWorld, start: float = 60) -> list[dict[str, Any]]:
    """Two visitors' events with fixed ids: pageviews, a link, an order; rows in every table."""
    events = [
        world.pageview("laptop", start, "/"),
        world.pageview("laptop", start + 1, "/pricing"),
        world.identify("laptop", "alice", start + 2),
        world.payment(start + 3, "20.00", "o1", user_id="alice"),
        world.pageview("phone", start, "/", referrer="https://www.google.com/"),
        world.browser("phone", start + 1, "web_vital", props={"metric": "LCP", "value": 1200}),
    ]
    for n, event in enumerate(events):
        event["event_id"] = f"{start}-{n}"
    return events


def _table_counts(world: SmallWorld) -> dict[str, int]:
    return {table: _count(world, f"SELECT count() FROM {table}") for table in schema.PATCHED_TABLES}


def test_a_load_undone_leaves_none_of_its_rows_in_any_table_without_a_mutation(
    worlds: list[SmallWorld], tmp_path: Path
) -> None:
    """The commit is stored but its answer lost: the store takes the commit back and deletes
    every row of the load from every table it wrote, and the writer loads it again."""
    reference = _open(worlds, tmp_path / "reference")
    reference.send(*_visitors(reference))
    expected = _table_counts(reference)
    assert all(expected[table] for table in ("events", "actions", "orders", "visits"))

    world = _open(worlds, tmp_path / "world")
    _transport(world).lose_commit_answer = True
    world.send(*_visitors(world))
    assert _transport(world).failures == 1
    assert _table_counts(world) == expected
    for table in ("events", "visits", "pageviews"):
        # The first attempt's rows are still in their parts, masked by patches.
        unpatched = _count(world, f"SELECT count() FROM {table} SETTINGS apply_patch_parts = 0")
        assert unpatched == 2 * expected[table], table
    assert world.totals("visitors", "visits", "pageviews", *MONEY) == [2, 2, 3, 1, 20.0]
    assert _mutations(world) == []


def test_a_rehearsed_load_and_a_load_failing_half_way_leave_no_rows_without_a_mutation(
    chdb_folder: Path,
) -> None:
    """A load tried and undone (`keep=False`, how a refused load is narrowed down), and a load
    whose inserts fail half-way, leave nothing once undone."""
    from clycyo.model import Event
    from clycyo.store.columns import fingerprints, to_arrow

    def payments(seq: int) -> Any:
        events = [
            Event(
                site_id=1,
                event_id=f"e{seq}-{n}",
                time_us=1_793_491_200_000_000 + n,
                received_us=1_793_491_200_000_000,
                origin="server",
                type="event",
                name="payment",
                user_id="u1",
                revenue_amount="1",
                revenue_currency="EUR",
                order_id=f"o{seq}-{n}",
            )
            for n in range(3)
        ]
        return to_arrow(events, fingerprints(events), [seq] * len(events))

    transport = FlakyTransport(str(chdb_folder), f"deletes{next(_databases)}")
    store = ClickHouseStore(transport, loader="test")
    store.write(payments(1), seq=1, superseded=[], keep=False)
    assert _count_of(store, "events") == _count_of(store, "orders") == 0
    assert _count_of(store, "events", unpatched=True) == 3
    store.write(payments(1), seq=1, superseded=[])
    transport.inserts_left = 1  # `events` is inserted, `orders` fails
    with pytest.raises(TransportError):
        store.write(payments(2), seq=2, superseded=[])
    assert _count_of(store, "events") == _count_of(store, "orders") == 3
    assert _count_of(store, "events", unpatched=True) == 9
    assert store.loaded_seq() == 1
    assert store.execute(
        "SELECT count() FROM system.mutations WHERE database = currentDatabase()"
    ) == [(0,)]
    store.close()


def _count_of(store: ClickHouseStore, table: str, unpatched: bool = False) -> int:
    tail = " SETTINGS apply_patch_parts = 0" if unpatched else ""
    return int(store.execute(f"SELECT count() FROM {table}{tail}")[0][0])


def test_erasure_retention_compaction_and_a_sites_removal_delete_without_a_mutation(
    worlds: list[SmallWorld], tmp_path: Path
) -> None:
    world = _open(worlds, tmp_path)
    store = _store(world)
    site_id = world.site.id
    world.send(*_visitors(world))
    # The phone's visit restated by a later load (a pair to compact), and a later visitor.
    world.send(
        world.pageview("phone", 62, "/again", event_id="62-0"),
        world.pageview("tablet", 600, "/", event_id="600-0"),
        world.pageview("tablet", 601, "/pricing", event_id="600-1"),
    )
    assert world.totals("visitors", "visits", "pageviews", *MONEY) == [3, 3, 6, 1, 20.0]

    erased = api.erase_person(world.runtime, world.site, "alice").result(30)
    assert erased is not None and erased.events == 4
    assert world.totals("visitors", "visits", "pageviews", *MONEY) == [2, 2, 4, 0, 0]
    assert _count(world, "SELECT count() FROM identities") == 0

    assert world.runtime.writer.submit(store.compact_visits).result(30) == 2
    assert world.totals("visits") == [2]

    # Retention: the phone's visit, over before minute 300, goes; the tablet's stays.
    cutoff = world.at(300) * 1000
    trimmed = world.runtime.writer.submit(lambda: store.trim(site_id, cutoff)).result(30)
    assert trimmed == 3
    assert world.totals("visitors", "visits", "pageviews") == [1, 1, 2]
    assert _count(world, "SELECT count() FROM vitals") == 0

    removed = world.runtime.writer.submit(lambda: store.remove_site(site_id)).result(30)
    assert removed["events"] == 2
    assert all(count == 0 for count in _table_counts(world).values())
    assert _mutations(world) == []


@pytest.mark.parametrize(
    ("table", "local"),
    [("events", "events_local ON CLUSTER main"), ("orders", "orders ON CLUSTER main")],
)
def test_on_a_cluster_the_delete_carries_its_mode_in_the_statement(
    chdb_folder: Path, table: str, local: str
) -> None:
    """A cluster's DDL queue hands each node the statement's text: the mode must be part of it
    (the engine's own parser, through `formatQuery`, keeps both `ON CLUSTER` and `SETTINGS`)."""
    text, params = bind(
        schema.delete(table, "site_id = ? AND event_id IN ?", "main", light=True), [1, ["a"]]
    )
    assert text.startswith(f"DELETE FROM {local} WHERE ")
    transport = ChdbTransport(str(chdb_folder), "deletes_statement")
    formatted = str(transport.query_arrow("SELECT formatQuery({q:String})", {"q": text})[0][0])
    transport.close()
    assert formatted.startswith(f"DELETE FROM {local} WHERE")
    assert formatted.endswith(f"SETTINGS {schema.LIGHT_DELETE}")
    assert params
    plain = schema.delete(table, "site_id = ?", "main", light=False)
    assert plain == f"DELETE FROM {local} WHERE site_id = ?"
