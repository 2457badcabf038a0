"""The deriver on its own: late events reach stored visits, a failed batch leaves no trace."""

from __future__ import annotations

import time
from pathlib import Path

from clycyo.identity.deriver import IdentityDeriver
from clycyo.identity.sessions import KEEP_US
from clycyo.model import Event
from clycyo.store.columns import fingerprint, to_arrow
from clycyo.store.duckdb.store import DuckDBStore
from tests.small_world import SmallWorld

MINUTE_US = 60_000_000


def _pageview(visitor: str, time_us: int, page: str = "/") -> Event:
    return Event(
        site_id=1,
        event_id=f"{visitor}-{time_us}",
        time_us=time_us,
        received_us=time_us,
        origin="browser",
        type="pageview",
        name="pageview",
        visitor_id=visitor,
        page=page,
        url=f"https://shop.test{page}",
    )


def test_a_late_event_joins_its_stored_visit(world: SmallWorld) -> None:
    world.send(world.pageview("v1", 60, "/"), world.pageview("v1", 70, "/pricing"))
    now = int(time.time() * 1000)
    live = world.pageview("v2", 0, "/now")
    live["timestamp"] = now
    world.send(live)  # memory now reaches back 45 minutes from now only
    world.send(world.pageview("v1", 80, "/docs"), world.pageview("v1", 75, "/faq"))
    assert world.totals("visits", "pageviews", "visit_duration") == [1, 4, 1200]
    assert world.breakdown("visit:exit_page", "visits") == {"/docs": [1]}


def _store(
    store: DuckDBStore, deriver: IdentityDeriver, events: list[Event], seq: int
) -> list[int | None]:
    """Derive and store `events` as the writer does; their visit ids."""
    derived = deriver.derive(events)
    table = to_arrow(
        events, [fingerprint(1, e.event_id) for e in events], [seq] * len(events), derived.visit_ids
    )
    store.write(table, seq=seq, superseded=[], derived=derived.all_tables(table))
    deriver.commit()
    return derived.visit_ids


def test_memory_keeps_recent_visits_only_and_the_store_answers_for_older_ones(
    tmp_path: Path,
) -> None:
    store = DuckDBStore(tmp_path / "events.duckdb")
    deriver = IdentityDeriver(store)
    start = 1_700_000_000 * 1_000_000
    [first] = _store(store, deriver, [_pageview("v1", start)], 1)
    later = start + KEEP_US + 5 * MINUTE_US
    _store(store, deriver, [_pageview("v2", later)], 2)
    # v1's visit ended longer ago than memory keeps: only v2's is left in memory.
    assert len(deriver.visits) == 1
    assert KEEP_US <= 45 * MINUTE_US
    # An event of v1's visit arriving late is placed in it through the store.
    [late] = _store(store, deriver, [_pageview("v1", start + 20 * MINUTE_US, "/late")], 3)
    assert late == first
    rows = store.execute("SELECT pageviews, sign FROM visits WHERE visit_id = ?", [first])
    assert sorted(rows) == [(1, -1), (1, 1), (2, 1)]
    store.close()


def test_a_batch_that_fails_to_store_is_derived_again_the_same_way(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "events.duckdb")
    deriver = IdentityDeriver(store)
    start = 1_700_000_000 * 1_000_000
    stored = _store(store, deriver, [_pageview("v1", start), _pageview("v2", start)], 1)
    second = [_pageview("v1", start + MINUTE_US, "/a"), _pageview("v3", start + MINUTE_US)]
    attempt = deriver.derive(second)
    deriver.rollback()  # the store refused the batch
    again = deriver.derive(second)
    assert again.visit_ids == attempt.visit_ids
    assert again.visit_ids[0] == stored[0]
    assert again.tables["visits"].to_pylist() == attempt.tables["visits"].to_pylist()
    signs = again.tables["visits"].column("sign").to_pylist()
    assert sorted(signs) == [-1, 1, 1]  # v1's state cancelled and renewed, v3 new
    store.close()


def test_late_batches_undone_and_derived_again_are_placed_the_same_way(tmp_path: Path) -> None:
    """Late events (an import of older ones, say) fetch their visitor's stored visits; a batch
    the store refuses leaves memory as it was, whether the fetch brought visits memory lacked or
    only ones it held, and a later batch at times fetched already finds its visit in memory."""
    store = DuckDBStore(tmp_path / "events.duckdb")
    deriver = IdentityDeriver(store)
    start = 1_700_000_000 * 1_000_000
    hour = 60 * MINUTE_US
    first, second = _store(
        store, deriver, [_pageview("v1", start), _pageview("v1", start + 2 * hour)], 1
    )
    _store(store, deriver, [_pageview("v2", start + 24 * hour)], 2)
    assert len(deriver.visits) == 1  # v1's visits are the store's alone now

    def derive_refused_then_stored(events: list[Event], seq: int) -> list[int | None]:
        attempt = deriver.derive(events)
        deriver.rollback()
        again = deriver.derive(events)
        assert again.visit_ids == attempt.visit_ids
        assert again.tables["visits"].to_pylist() == attempt.tables["visits"].to_pylist()
        deriver.rollback()
        return _store(store, deriver, events, seq)

    # Memory lacks v1's visits: they are fetched.
    late = [_pageview("v1", start + 10 * MINUTE_US, "/a"), _pageview("v1", start + 125 * MINUTE_US)]
    assert derive_refused_then_stored(late, 3) == [first, second]
    # Memory holds the visit the fetch finds; the batch changes it.
    assert derive_refused_then_stored([_pageview("v1", start + 150 * MINUTE_US, "/b")], 4) == [
        second
    ]
    # Times fetched already: from memory.
    assert derive_refused_then_stored([_pageview("v1", start + 20 * MINUTE_US, "/c")], 5) == [first]
    live = store.execute(
        "SELECT visit_id, pageviews, exit_page FROM visits v WHERE sign = 1 AND (visit_id, state)"
        " NOT IN (SELECT visit_id, state FROM visits WHERE sign = -1) ORDER BY started_at"
    )
    assert live == [(first, 3, "/c"), (second, 3, "/b"), (live[2][0], 1, "/")]
    store.close()
