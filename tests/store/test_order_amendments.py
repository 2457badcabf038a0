"""What the writer's dedupe asks the store to amend when a copy of an order that is not kept
comes after the stored copy (`Batch.amended`): only a change, never more than `MAX_PROPS` keys,
and never a second row of the order, whatever the order of the copies' loads."""

from __future__ import annotations

from pathlib import Path

import msgspec

from clycyo.collect.limits import MAX_PROPS
from clycyo.model import Event
from clycyo.store.dedupe import Dedupe
from clycyo.store.intake import IntakeLog
from clycyo.store.quarantine import Quarantine
from clycyo.store.writer import Writer
from tests.store.conftest import StoreFactory, counted_events, tick


def copy(event_id: str, props: dict[str, str] | None, at_us: int = 1_000) -> Event:
    return msgspec.structs.replace(
        tick(event_id),
        name="payment",
        time_us=at_us,
        order_id="o-1",
        revenue_amount="49.00",
        revenue_currency="EUR",
        user_id="u-1",
        props=props,
    )


def test_a_copy_amends_the_stored_one_only_with_props_it_lacks_up_to_the_limit(
    tmp_path: Path, open_store: StoreFactory
) -> None:
    store = open_store(tmp_path)
    log = IntakeLog(tmp_path / "intake")
    writer = Writer(store, log, Quarantine(tmp_path / "q.sqlite"))
    at_limit = {f"k{n:02}": "kept" for n in range(MAX_PROPS - 1)}
    assert writer.wait_loaded(log.append_sync([copy("kept", {**at_limit, "plan": "pro"})], []), 10)
    writer.stop()
    log.close()
    dedupe = Dedupe(store)
    # The same props, or other values of them: the stored copy's own win, nothing to amend.
    for props in ({"plan": "pro"}, {"plan": "basic", "k00": "other"}):
        batch = dedupe.batch([copy("later", props, at_us=2_000)], [2])
        assert (batch.events, batch.amended) == ([], [])
    # The stored copy is at the limit: a copy's new keys have no room left.
    batch = dedupe.batch([copy("later", {"billing_reason": "subscription_create"})], [2])
    assert batch.amended == []
    store.close()


def test_two_copies_each_near_the_limit_merge_to_the_limit(
    tmp_path: Path, open_store: StoreFactory
) -> None:
    store = open_store(tmp_path)
    log = IntakeLog(tmp_path / "intake")
    writer = Writer(store, log, Quarantine(tmp_path / "q.sqlite"))
    first = {f"a{n:02}": "1" for n in range(MAX_PROPS - 5)}
    second = {f"b{n:02}": "2" for n in range(MAX_PROPS - 5)}
    log.append_sync([copy("kept", first)], [])
    # A copy not kept, of the same rank, after it: as the pipeline hands one on.
    assert writer.wait_loaded(log.append_sync([copy("later", second, at_us=2_000)], []), 10)
    [(event_id, props)] = counted_events(store, "event_id, props")
    assert event_id == "kept"
    props = dict(props)
    assert len(props) == MAX_PROPS
    assert {k: v for k, v in props.items() if k.startswith("a")} == first
    assert sorted(k for k in props if k.startswith("b")) == sorted(second)[:5]
    writer.stop()
    log.close()
    store.close()
