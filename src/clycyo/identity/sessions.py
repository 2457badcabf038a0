"""The writer's memory of recent visits: which visit an event belongs to, kept or started.

Visits whose last event is within `KEEP_US` of the newest event seen stay in memory, per visitor
id (device). Memory is authoritative for any event newer than `complete_since_us`: every visit
that such an event could continue is in it. An older event (a late delivery, a replay after a
long stop) asks the store for the visitor's visits around that time first (`lookup`), the rare
path. Changes made while deriving a batch are undone by `rollback` if the batch fails to store.
It reads the store only through the lookup it is given, and writes nothing.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from typing import Any

from clycyo.identity import keys
from clycyo.identity.visit import GAP_US, Visit

# How long a visit stays in memory after its last event: a visit can be continued for 30 minutes
# (GAP_US), and events up to 15 minutes late still find it here; an older one asks the store.
# Each visit in memory costs about 1.2 KB: this bounds the writer's memory on a busy site.
KEEP_US = GAP_US + 15 * 60 * 1_000_000
_EVICT_EVERY_US = 60 * 1_000_000  # scanning memory per batch would cost more than it frees
VisitorRef = tuple[int, str]
Lookup = Callable[[int, str, int, int], list[Visit]]  # site, visitor, from_us, to_us
Span = tuple[int, int]
_NONE: list[Visit] = []  # what `near` answers for a visitor with no visits (never changed)
_LAST = 1 << 63  # after every time, as a span's second value (for bisect)


class VisitMemory:
    def __init__(self, lookup: Lookup, complete_since_us: int) -> None:
        self._lookup = lookup
        self.complete_since_us = complete_since_us
        self.newest_us = complete_since_us
        self._batch_newest_us = complete_since_us
        self._visits: dict[VisitorRef, list[Visit]] = {}
        # Times around which a visitor's stored visits were already fetched (late events).
        self._fetched: dict[VisitorRef, list[Span]] = {}
        # For `rollback`: each visitor's list of visits as it was before this batch (None: it
        # had none), taken when the batch first changes it, and each visit's state before the
        # batch first changed it. Apart, so that a visitor with many visits in memory (an import
        # of older events keeps all it made) costs a list's copy per batch, not a snapshot of
        # every one of them.
        self._lists: dict[VisitorRef, list[Visit] | None] = {}
        self._states: list[tuple[Visit, tuple[Any, ...]]] = []
        self.touched: dict[int, Visit] = {}  # visit_id → visit changed in this batch

    def __len__(self) -> int:
        return sum(len(v) for v in self._visits.values())

    def load(self, visits: Iterable[Visit]) -> None:
        for visit in visits:
            self._visits.setdefault((visit.site_id, visit.visitor_id), []).append(visit)

    def visits_of(self, site_id: int, visitor_id: str, time_us: int) -> list[Visit]:
        """The visitor's visits near `time_us`, from the store first when memory may lack them."""
        return self.near((site_id, visitor_id), time_us)

    def near(self, key: VisitorRef, time_us: int) -> list[Visit]:
        """`visits_of` for a visitor reference."""
        if time_us - GAP_US < self.complete_since_us:
            span = (time_us - GAP_US, time_us + GAP_US)
            if not self.was_fetched(key, span):
                found = self._lookup(key[0], key[1], *span)
                self.adopt(key, found, span)
        return self._visits.get(key, _NONE)

    def held(self, key: VisitorRef) -> list[Visit]:
        """The visitor's visits in memory, for a time memory answers for: a recent one, or one
        fetched already (the deriver fetches a batch's late visitors first)."""
        return self._visits.get(key, _NONE)

    def was_fetched(self, key: VisitorRef, span: Span) -> bool:
        """Whether memory holds every stored visit of the visitor that overlaps `span`."""
        spans = self._fetched.get(key)
        if not spans:
            return False
        # Sorted and apart: only the last span that starts at or before `span` can hold it,
        # mostly the latest (a late batch's times follow the batch before's).
        low, high = span
        last = spans[-1]
        if last[0] <= low:
            return high <= last[1]
        at = bisect.bisect_right(spans, (low, _LAST))
        return at > 0 and high <= spans[at - 1][1]

    def adopt(self, key: VisitorRef, found: list[Visit], span: Span) -> None:
        """Take stored visits of a visitor fetched for the times in `span`."""
        if found:
            known = self._visits.get(key)
            if known is None:
                self._remember(key)
                self._visits[key] = list(found)
            else:
                ids = {v.visit_id for v in known}
                new = [v for v in found if v.visit_id not in ids]
                if new:
                    # Only a change is saved for `rollback`: most fetches of a late batch find
                    # nothing new, and a visitor's visits can be many by then (an import of
                    # older events keeps all it made in memory).
                    self._remember(key)
                    known.extend(new)
        self._add_span(key, span)

    def _add_span(self, key: VisitorRef, span: Span) -> None:
        """Add `span` to the visitor's fetched spans, kept sorted and apart: spans that overlap
        become one (a stored visit that overlaps their union overlaps one of them)."""
        spans = self._fetched.get(key)
        if spans is None:
            self._fetched[key] = [span]
            return
        low, high = span
        if low > spans[-1][1]:
            spans.append(span)  # after every span fetched: the usual case
            return
        first = bisect.bisect_left(spans, (low, -_LAST))
        if first and spans[first - 1][1] >= low:
            first -= 1
            low = spans[first][0]
        last = first
        while last < len(spans) and spans[last][0] <= high:
            high = max(high, spans[last][1])
            last += 1
        spans[first:last] = [(low, high)]

    def _remember(self, key: VisitorRef) -> None:
        """Save the visitor's list of visits as it was before this batch (once per batch)."""
        if key not in self._lists:
            known = self._visits.get(key)
            self._lists[key] = None if known is None else known.copy()

    def change(self, visit: Visit) -> Visit:
        """Mark `visit` as about to change in this batch; returns it for chaining."""
        self.touch((visit.site_id, visit.visitor_id), visit)
        return visit

    def touch(self, key: VisitorRef, visit: Visit) -> None:
        """`change` for a visit of the visitor `key` (the writer's per-event path)."""
        if key not in self._lists:
            self._remember(key)
        if visit.visit_id not in self.touched:
            self._states.append((visit, visit.snapshot()))
            self.touched[visit.visit_id] = visit

    def start(
        self, key: VisitorRef, visitor: int, time_us: int, user_id: str | None, person_bits: int
    ) -> Visit:
        """A new visit of the visitor `key` (whose visitor key is `visitor`) at `time_us`."""
        self._remember(key)
        known = self._visits.setdefault(key, [])
        visit_id = keys.new_visit_id(visitor, time_us, {v.visit_id for v in known})
        visit = Visit(
            visit_id, key[0], key[1], visitor, time_us, time_us, person_bits, user_id=user_id
        )
        known.append(visit)
        self.touched[visit_id] = visit
        return visit

    def all_of(self, site_id: int, visitor_id: str) -> list[Visit]:
        return self._visits.get((site_id, visitor_id), [])

    def seen(self, time_us: int) -> None:
        self._batch_newest_us = max(self._batch_newest_us, time_us)

    def commit(self) -> None:
        self._lists.clear()
        self._states = []
        self.touched = {}
        self.newest_us = self._batch_newest_us
        horizon = self.newest_us - KEEP_US
        if horizon - self.complete_since_us < _EVICT_EVERY_US:
            return
        # Forget visits that ended long before the newest event; memory stays complete after.
        self._fetched.clear()
        for key, visits in list(self._visits.items()):
            kept = [v for v in visits if v.ended_us >= horizon]
            if not kept:
                del self._visits[key]
            elif len(kept) != len(visits):
                self._visits[key] = kept
        self.complete_since_us = horizon

    def rollback(self) -> None:
        self._fetched.clear()  # the fetched visits may be among those rolled back
        for visit, state in self._states:
            visit.restore(state)
        for key, before in self._lists.items():
            if before is None:
                self._visits.pop(key, None)
            else:
                self._visits[key] = before
        self._lists.clear()
        self._states = []
        self.touched = {}
        self._batch_newest_us = self.newest_us

    def forget(self, site_id: int, visitor_ids: Iterable[str]) -> None:
        """Drop a person's visits (erasure)."""
        for visitor_id in visitor_ids:
            self._visits.pop((site_id, visitor_id), None)
            self._fetched.pop((site_id, visitor_id), None)
