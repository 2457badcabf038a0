"""The writer's deriver: a visit id for every event, and the `visits` and `identities` rows.

Browser events start and continue visits (`sessions.py`, `visit.py`). A server event joins the
visit its visitor (or, naming only a user, that user's device) has in progress, and changes
nothing about it; otherwise it gets its person's "outside" id (`keys.py`). An event that names a
different user than the visit's ends the visit there: a shared browser's visits never mix two
users. Every event carrying both ids is an identity link (`links.py`), also a copy of an order
that is not stored because another copy superseded it (the writer hands those over apart, and
their links are taken before the batch's events are placed, as if they had come first). The
narrow copies of events are `narrow.py`'s.

Each batch is handled in time order. State changes stay undoable until `commit`; `rollback`
restores the memory exactly as before the batch. This module does not write to the store.

The writer spends most of its time here, so the loop over events reads each event's fields
once, keeps a visitor's key tuple for every lookup and handles the usual browser event (one
visit in memory, which it continues) without further calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from clycyo.identity import keys, stored
from clycyo.identity.backfill import fill_engagements
from clycyo.identity.links import LinkMemory
from clycyo.identity.narrow import PageKeys, narrow_tables
from clycyo.identity.schema import IDENTITY_SCHEMA, VISIT_SCHEMA, create_tables
from clycyo.identity.sessions import KEEP_US, VisitMemory, VisitorRef
from clycyo.identity.visit import GAP_US, PASSIVE_EVENTS, Visit
from clycyo.model import SERVER, Event
from clycyo.store.base import EventStore
from clycyo.store.columns import rows_table
from clycyo.store.derive import Derived

_EARLY_SERVER_US = 60 * 1_000_000  # a server clock may run a little ahead of the browser's
_EARLIEST = -(1 << 62)
_FAR_FUTURE_US = 4_102_444_800 * 1_000_000  # 2100-01-01
_ALL_TIME = (_EARLIEST, _FAR_FUTURE_US)
_NOTHING: list[Visit] = []  # what a visitor with no stored visits in a fetched span has


class IdentityDeriver:
    def __init__(self, store: EventStore) -> None:
        create_tables(store)
        fill_engagements(store)
        self.store = store
        self.links = LinkMemory()
        self.links.load(stored.links(store))
        newest = stored.newest_visit_end_us(store)
        since = _EARLIEST if newest is None else newest - KEEP_US
        self.visits = VisitMemory(self._lookup, since)
        if newest is not None:
            self.visits.load(stored.recent_visits(store, since))
        self.keys = keys.KeyCache()
        self._page_keys = PageKeys()
        self._link_rows: list[tuple[Any, ...]] = []
        self._relinked: dict[VisitorRef, None] = {}  # in the order linked (a set's is random)

    def _lookup(self, site_id: int, visitor_id: str, from_us: int, to_us: int) -> list[Visit]:
        visitor = self.keys.visitor((site_id, visitor_id))
        return stored.visits_around(self.store, site_id, visitor, from_us, to_us)

    # The Deriver protocol

    def derive(self, events: list[Event], links: Sequence[Event] = ()) -> Derived:
        visit_ids: list[int | None] = [None] * len(events)
        self._link_rows = []
        self._relinked = {}
        for event in sorted(links, key=lambda e: e.time_us):
            if event.visitor_id is not None and event.user_id is not None:
                self._link(event, (event.site_id, event.visitor_id), event.user_id)
        times = [event.time_us for event in events]
        order = sorted(range(len(events)), key=times.__getitem__)
        if events:
            self.visits.seen(max(times))
            self._fetch_late(events, min(times))
        self._place(events, order, visit_ids)
        self._restate_persons()
        narrow, actions = narrow_tables(events, order, visit_ids, self._page_keys)
        return Derived(
            visit_ids,
            {
                "visits": self._visit_table(),
                "identities": rows_table(self._link_rows, IDENTITY_SCHEMA),
                **narrow,
            },
            copies={"actions": actions},
        )

    def commit(self) -> None:
        self.visits.commit()
        self.links.commit()

    def rollback(self) -> None:
        self.visits.rollback()
        self.links.rollback()

    def _fetch_late(self, events: list[Event], oldest_us: int) -> None:
        """One query for the stored visits of every visitor whose events in this batch are
        older than memory's reach (a replay, an import): not one query per event."""
        memory = self.visits
        late_before_us = memory.complete_since_us + GAP_US
        if oldest_us >= late_before_us:
            return  # live traffic: memory holds every visit the batch can reach
        times: dict[VisitorRef, list[int]] = {}  # each late visitor's [earliest, latest]
        for event in events:
            t = event.time_us
            if t < late_before_us and event.visitor_id is not None:
                key = (event.site_id, event.visitor_id)
                seen = times.get(key)
                if seen is None:
                    times[key] = [t, t]
                elif t < seen[0]:
                    seen[0] = t
                elif t > seen[1]:
                    seen[1] = t
        # A visitor whose times were fetched already (an earlier batch of the same import, say)
        # has every stored visit around them in memory: only the others are asked for.
        spans: dict[VisitorRef, tuple[int, int]] = {}
        for key, (low, high) in times.items():
            span = (low - GAP_US, high + GAP_US)
            if not memory.was_fetched(key, span):
                spans[key] = span
        if not spans:
            return
        wanted = [(key[0], self.keys.visitor(key), *span) for key, span in spans.items()]
        found: dict[VisitorRef, list[Visit]] = {}
        for visit in stored.visits_of_many(self.store, wanted):
            found.setdefault((visit.site_id, visit.visitor_id), []).append(visit)
        for key, span in spans.items():
            memory.adopt(key, found.get(key, _NOTHING), span)

    # Placing events

    def _place(self, events: list[Event], order: list[int], visit_ids: list[int | None]) -> None:
        """A visit id for each event, in time order (`order`)."""
        memory = self.visits
        # `_fetch_late` has fetched each late event's visitor around its time: memory holds
        # every visit a browser event can continue, with no check per event.
        held, touch = memory.held, memory.touch
        for index in order:
            event = events[index]
            visitor_id, user_id = event.visitor_id, event.user_id
            if visitor_id is None:
                if user_id is not None:
                    visit_ids[index] = self._user_event(event.site_id, user_id, event.time_us)
                continue
            key = (event.site_id, visitor_id)
            if user_id is not None:
                self._link(event, key, user_id)
            t = event.time_us
            if event.origin == SERVER:
                visit = self._visit_in_progress(key, t)
                visit_ids[index] = (
                    visit.visit_id if visit else keys.outside_visit_id(self.keys.visitor(key))
                )
                continue
            known = held(key)
            visit = None
            if len(known) == 1:
                only = known[0]
                session = event.session_id
                if (session is not None and session in only.session_ids) or (
                    only.started_us - GAP_US < t < only.ended_us + GAP_US
                ):
                    visit = only
            elif known:
                visit = _matching_visit(known, t, event.session_id)
            if visit is not None and user_id is not None and visit.user_id not in (None, user_id):
                visit = None  # another user on the same browser: their visit starts here
            if visit is None:
                if event.type == "event" and event.name in PASSIVE_EVENTS:
                    # Reports sent as a page is left never open a visit of their own.
                    visit_ids[index] = keys.outside_visit_id(self.keys.visitor(key))
                    continue
                user = user_id or self.links.user_at(key[0], visitor_id, t)
                visit = memory.start(
                    key, self.keys.visitor(key), t, user, self._person_bits(key, t)
                )
            else:
                touch(key, visit)
            visit.add(event)
            visit_ids[index] = visit.visit_id

    def _user_event(self, site: int, user_id: str, t: int) -> int:
        """The visit id of an event that names a user only."""
        visit = self._user_visit(site, user_id, t)
        return visit.visit_id if visit else keys.outside_visit_id(self.keys.user((site, user_id)))

    def _visit_in_progress(self, key: VisitorRef, t: int) -> Visit | None:
        best: Visit | None = None
        for visit in self.visits.near(key, t):
            if visit.started_us - _EARLY_SERVER_US <= t < visit.ended_us + GAP_US and (
                best is None or visit.started_us > best.started_us
            ):
                best = visit
        return best

    def _user_visit(self, site: int, user_id: str, t: int) -> Visit | None:
        best: Visit | None = None
        for visitor_id in self.links.visitors_of(site, user_id):
            if self.links.user_at(site, visitor_id, t) != user_id:
                continue  # a shared device that belongs to someone else at that time
            visit = self._visit_in_progress((site, visitor_id), t)
            if visit is not None and (best is None or visit.started_us > best.started_us):
                best = visit
        return best

    def _person_bits(self, key: VisitorRef, time_us: int) -> int:
        """Whose a visit starting at `time_us` is, as far as the links known now say."""
        user = self.links.user_at(key[0], key[1], time_us)
        person = self.keys.user((key[0], user)) if user else self.keys.visitor(key)
        return keys.person_bits(person)

    def _restate_persons(self) -> None:
        """A new link changes whose some of a visitor's visits are, also long past ones: fetch
        them all (one query for every visitor linked in this batch) and restate those that
        changed, so visit queries need no identity map."""
        if not self._relinked:
            return
        memory = self.visits
        # A visitor whose visits were all fetched since memory last forgot any has them all.
        unknown = [key for key in self._relinked if not memory.was_fetched(key, _ALL_TIME)]
        if unknown:
            wanted = [(key[0], self.keys.visitor(key), 0, _FAR_FUTURE_US) for key in unknown]
            found: dict[VisitorRef, list[Visit]] = {}
            for visit in stored.visits_of_many(self.store, wanted):
                found.setdefault((visit.site_id, visit.visitor_id), []).append(visit)
            for key in unknown:
                memory.adopt(key, found.get(key, _NOTHING), _ALL_TIME)
        for site, visitor in self._relinked:
            for visit in memory.all_of(site, visitor):
                bits = self._person_bits((site, visitor), visit.started_us)
                if bits != visit.person_bits:
                    memory.change(visit).person_bits = bits

    def _link(self, event: Event, key: VisitorRef, user_id: str) -> None:
        site, visitor_id = key
        if self.links.observe(site, visitor_id, user_id, event.time_us):
            self._relinked[key] = None
            self._link_rows.append(
                (
                    site,
                    visitor_id,
                    self.keys.visitor(key),
                    user_id,
                    self.keys.user((site, user_id)),
                    event.time_us,
                    event.origin,
                    event.event_id,
                )
            )

    # Rows

    def _visit_table(self) -> pa.Table:
        """Each changed visit's new state, after the cancellation of its stored one."""
        rows: list[tuple[Any, ...]] = []
        signs: list[int] = []
        cancels = False
        for visit in self.visits.touched.values():
            if visit.stored is not None:
                rows.append(visit.stored)  # a +1 row: its sign is changed below
                signs.append(-1)
                cancels = True
            visit.state += 1
            visit.stored = visit.row(visit.state)
            rows.append(visit.stored)
            signs.append(1)
        table = rows_table(rows, VISIT_SCHEMA)
        if not cancels:
            return table
        return table.set_column(2, VISIT_SCHEMA.field(2), pa.array(signs, pa.int8()))

    # Erasure

    def forget(self, site_id: int, visitor_ids: list[str], user_ids: list[str]) -> None:
        self.visits.forget(site_id, visitor_ids)
        self.links.forget(site_id, visitor_ids, user_ids)


def _matching_visit(known: list[Visit], t: int, session: str | None) -> Visit | None:
    """The visit an event at `t` continues among several of its visitor's, if any."""
    matches = [
        visit
        for visit in known
        if (session is not None and session in visit.session_ids) or visit.covers(t)
    ]
    if not matches:
        return None
    # After a switch of user both halves cover the event: it continues the later one.
    before = [v for v in matches if v.started_us <= t]
    if before:
        return max(before, key=lambda v: v.started_us)
    return min(matches, key=lambda v: v.started_us)


def open_deriver(store: EventStore) -> IdentityDeriver | None:
    """The deriver for `store`, or None where the store keeps no derived tables yet."""
    if getattr(store, "create_derived", None) is None:
        return None
    return IdentityDeriver(store)
