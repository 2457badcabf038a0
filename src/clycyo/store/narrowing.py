"""Narrowing: a load that fails because of some of its events is stored without them.

A load the store refuses for some events' values (`refusals.is_refusal`) would fail the same way
for ever, and so would one on which the writer's own work (dedupe, the deriver, the Arrow
conversion) fails twice in a row the same way, a bug some event sets off (an `InternalError`).
Such a load is narrowed down by halves, each tried and undone (`find_at_fault`), to the events
that fail alone: they go to the quarantine with the error (`refusals.reason`), the rest of the
load is stored. A load refused only as a whole, and a bug every event of the load sets off alike,
are no event's fault: the error is raised and the load retried as it was. A bug no event sets off
alone, only some together, is got round by storing the load in parts that each pass.

This module chooses which parts are tried, and quarantines what fails alone; it neither prepares
nor writes a load itself: the writer's work (`Writer._store`, `Writer._rehearse`) is handed in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import NamedTuple, Protocol

from clycyo.model import Event
from clycyo.store.quarantine import Quarantine
from clycyo.store.refusals import (
    INTERNAL_REASON,
    InternalError,
    is_event_fault,
    is_refusal,
    reason,
    rejection,
)

# Its messages are the writer's, under the writer's name (`logs.py` writes it out).
log = logging.getLogger("clycyo.store.writer")
# The bits of a stored `seq` that number the record in its log (the higher ones: the log's index).
_RECORD_SEQ = (1 << 48) - 1

# The orders whose stored copies went (`Batch.superseded` and `Batch.replaced`).
Gone = list[tuple[int, str, str]]


class StoreLoad(Protocol):
    def __call__(
        self, events: list[Event], seqs: list[int], last_seq: int, source: str, *, keep: bool = True
    ) -> tuple[list[Event], Gone]:
        """`Writer._store`: the events kept and the orders whose stored copies went."""
        ...


class Stored(NamedTuple):
    """What became of a load."""

    written: int  # its events not quarantined, those the last write was given
    kept: list[Event]  # what the store kept of them (the rest were duplicates)
    gone: Gone
    refused: int  # events the store refused, quarantined
    internal: int  # events the writer's own work failed on, quarantined


class Narrowing:
    """The writer's way through loads that fail because of some of their events."""

    def __init__(
        self,
        quarantine: Quarantine,
        store: StoreLoad,
        rehearse: Callable[[list[Event], list[int]], None],
    ) -> None:
        self.quarantine = quarantine
        self._store = store
        self._rehearse = rehearse  # the writer's own work alone on some events, undone
        # Per log, the last load the writer's own work failed on: its first record and where it
        # failed (`InternalError.where`); the same load failing the same way again is narrowed.
        # Per log, since the loads of other logs come between a load's tries.
        self._internal_failures: dict[str, tuple[object, ...]] = {}

    def store(
        self,
        events: list[Event],
        seqs: list[int],
        places: list[int],
        *,
        first_seq: int,
        last_seq: int,
        source: str,
    ) -> Stored:
        """Store the load of log `source` from record `first_seq` to `last_seq` (each event
        with its stored `seq` and its index in its record), without the events that make it
        fail; an error that is not theirs is raised, and the load is then retried as it was."""
        refused = internal = 0
        narrowing = False  # this load failed the same way twice: its events are at fault
        while True:
            try:
                kept, gone = self._store(events, seqs, last_seq, source)
                break
            except InternalError as exc:
                mark = (first_seq, *exc.where())
                if not narrowing and mark != self._internal_failures.get(source):
                    # Once may be a passing failure: the load is retried as it was first.
                    self._internal_failures[source] = mark
                    raise
                narrowing = True
                found = self._failing(events, seqs, exc)
                if not found:
                    # No event fails alone: the bug needs some of them together, and parts
                    # of the load that each pass are stored one after the other.
                    kept, gone = self._store_in_parts(events, seqs, last_seq, source)
                    break
                if len(found) == len(events):
                    raise  # every event fails alike: the bug is no event's
                # The error may quote a value an event holds: the message names its kind,
                # the traceback is logged once, the error is the quarantine entry's reason.
                log.error(
                    "store writer: the writer's own work failed on %d event(s) of intake log %s"
                    " (%s); they are in the quarantine with the error, the rest of the load is"
                    " stored",
                    len(found),
                    source,
                    type(exc.cause).__name__,
                    exc_info=exc,
                )
            except Exception as exc:
                if not is_refusal(exc):
                    raise
                found = self._refused(events, seqs, last_seq, source, exc)
                if not found:
                    raise  # refused as a whole only: not the events' values, retried as it was
                # The store's words may quote a value the event holds: only their kind is
                # logged (logs carry no payloads), the words are the quarantine entry's reason.
                log.error(
                    "store writer: the store refused %d event(s) of intake log %s (%s); they are"
                    " in the quarantine with its error, the rest of the load is stored",
                    len(found),
                    source,
                    type(exc).__name__,
                )
            # An entry is numbered by its record and its place there, below zero so that it
            # never meets the record's own rejections (numbered from zero): a replay of the
            # log adds nothing twice.
            self.quarantine.add(
                [(seqs[i], -1 - places[i], rejection(events[i], e)) for i, e in found.items()]
            )
            bugs = sum(why.startswith(INTERNAL_REASON) for why in found.values())
            internal += bugs
            refused += len(found) - bugs
            left = [i for i in range(len(events)) if i not in found]
            events = [events[i] for i in left]
            seqs = [seqs[i] for i in left]
            places = [places[i] for i in left]
        self._internal_failures.pop(source, None)
        return Stored(len(events), kept, gone, refused, internal)

    def _store_in_parts(
        self, events: list[Event], seqs: list[int], last_seq: int, source: str
    ) -> tuple[list[Event], Gone]:
        """Store a load that the writer's own work fails on as a whole while no event of it
        fails alone, in halves (and halves of those that fail), each its own load; the events
        kept and the orders whose stored copies went, as `StoreLoad` gives them. A part reaches
        the record before the next part's first event: if the process stops between parts,
        the records from there are loaded again, and the event-id dedupe keeps what a part of
        the same record stored once. (On ClickHouse, which undoes a failed load by its sequence
        number, a part that ends inside the load's first record reaches the sequence already
        committed: should that part's own write fail, what it inserted is not undone.)"""
        kept: list[Event] = []
        gone: Gone = []

        def store(low: int, high: int, reach: int) -> None:
            try:
                part_kept, part_gone = self._store(events[low:high], seqs[low:high], reach, source)
            except InternalError:
                if high - low == 1:
                    raise  # fails alone after the parts before it: the next try narrows it
                halve(low, high, reach)
                return
            kept.extend(part_kept)
            gone.extend(part_gone)

        def halve(low: int, high: int, reach: int) -> None:
            middle = (low + high) // 2
            store(low, middle, (seqs[middle] & _RECORD_SEQ) - 1)
            store(middle, high, reach)

        halve(0, len(events), last_seq)
        return kept, gone

    def _failing(
        self, events: list[Event], seqs: list[int], error: InternalError
    ) -> dict[int, str]:
        """The events of a load the writer's own work failed on (`error`) that make it fail, by
        index, with the error: that work alone runs on parts of the load (the store is not
        written), as `find_at_fault` chooses them."""

        def rehearse(low: int, high: int) -> None:
            self._rehearse(events[low:high], seqs[low:high])

        return find_at_fault(len(events), error, rehearse)

    def _refused(
        self,
        events: list[Event],
        seqs: list[int],
        last_seq: int,
        source: str,
        error: Exception,
    ) -> dict[int, str]:
        """The events of a load the store refused (`error`), by index, with the store's error."""

        def rehearse(low: int, high: int) -> None:
            self._store(events[low:high], seqs[low:high], last_seq, source, keep=False)

        return find_at_fault(len(events), error, rehearse)


def find_at_fault(
    count: int, error: Exception, rehearse: Callable[[int, int], None]
) -> dict[int, str]:
    """The events at fault in a load of `count` events that failed with `error` (a refusal or
    an `InternalError`), by index, with the quarantine's reason: halves of the load are
    rehearsed (`rehearse(low, high)` tries events `low` to `high` and undoes them), and halves
    of those that fail, down to single events (a few dozen rehearsals for one bad event among
    thousands). An error that is not the events' fault (`is_event_fault`), met on the way, is
    raised: the load is then retried as it was."""
    found: dict[int, str] = {}

    def search(low: int, high: int, failure: Exception | None) -> None:
        if failure is None:
            try:
                rehearse(low, high)
                return
            except Exception as exc:
                if not is_event_fault(exc):
                    raise
                failure = exc
        if high - low == 1:
            found[low] = reason(failure)
            return
        middle = (low + high) // 2
        search(low, middle, None)
        search(middle, high, None)

    if count:
        search(0, count, error)
    return found
