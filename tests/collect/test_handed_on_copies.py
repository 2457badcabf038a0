"""A request whose every event is a duplicate is answered without waiting for the disk, unless
a copy of an order in it carries props: that copy is handed on to the writer through the intake
log (`Drop.handed_on`), and the answer waits until it is on disk, or the client is told to send
it again; answered first, a crash would lose the props the copy kept should take from it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from clycyo.collect.ingest import Ingest, Outcome
from clycyo.collect.wire import decode_event
from clycyo.config.store import Site
from clycyo.pipeline.context import Context
from clycyo.pipeline.salts import SaltRing
from clycyo.store.intake import IntakeLog, IntakeUnavailable

SITE = Site(1, "shop.example", "pk_1")
PAYMENT = {
    "name": "payment",
    "user_id": "u1",
    "order_id": "in_1",
    "revenue": {"amount": "20.00", "currency": "EUR"},
}


def _ingest(ingest: Ingest, event: dict[str, Any]) -> Outcome:
    item = decode_event(json.dumps(event).encode())
    return asyncio.run(ingest.ingest(SITE, True, [item], ip=None, user_agent=None))


def test_only_a_copy_with_props_waits_for_the_disk(tmp_path: Path) -> None:
    intake = IntakeLog(tmp_path)
    ingest = Ingest(Context(salts=SaltRing()), intake)
    assert _ingest(ingest, {**PAYMENT, "event_id": "p1"}).accepted == 1
    written = intake.last_seq
    intake.fault_injection = "No space left on device"
    intake.fault = intake.fault_injection  # the disk already failed: appends are refused

    bare = _ingest(ingest, {**PAYMENT, "event_id": "p2"})
    assert (bare.accepted, bare.duplicates) == (0, 1)
    assert intake.last_seq == written  # nothing of it was written, nothing waited for
    with pytest.raises(IntakeUnavailable):
        _ingest(ingest, {**PAYMENT, "event_id": "p3", "props": {"billing_reason": "x"}})

    intake.fault_injection = None
    assert intake.clear_fault()
    again = _ingest(ingest, {**PAYMENT, "event_id": "p3", "props": {"billing_reason": "x"}})
    assert (again.accepted, again.duplicates) == (0, 1)
    [(_, record)] = list(intake.read(written))
    assert [(e.event_id, e.props) for e in record.events] == [("p3", {"billing_reason": "x"})]
    intake.close()
