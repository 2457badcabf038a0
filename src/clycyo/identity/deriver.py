"""The writer's deriver: a visit id for every event, and the `visits` and `identities` rows.

Browser events start and continue visits (`sessions.py`, `visit.py`). A server event joins the
visit its visitor (or, naming only a user, that user's device) has in progress, and changes
nothing about it; otherwise it gets its person's "outside" id (`keys.py`). An event that names a
different user than the visit's ends the visit there: a shared browser's visits never mix two
users. Every event carrying both ids is an identity link (`links.py`).

Each batch is handled in time order. State changes stay undoable until `commit`; `rollback`
restores the memory exactly as before the batch. This module does not write to the store.
"""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa

from clycyo.identity import keys, stored
from clycyo.identity.links import LinkMemory
from clycyo.identity.schema import (
    IDENTITY_SCHEMA,
    PAGEVIEW_SCHEMA,
    VISIT_SCHEMA,
    VITAL_HOUR_SCHEMA,
    VITAL_SCHEMA,
    create_tables,
)
from clycyo.identity.sessions import KEEP_US, VisitMemory
from clycyo.identity.visit import GAP_US, Visit, is_passive
from clycyo.model import SERVER, Event
from clycyo.store.base import EventStore
from clycyo.store.columns import fingerprint, to_arrow
from clycyo.store.derive import Derived

_EARLY_SERVER_US = 60 * 1_000_000  # a server clock may run a little ahead of the browser's
VITAL_METRICS = frozenset({"LCP", "INP", "CLS", "FCP", "TTFB"})
_NOT_ACTIONS = frozenset({"engagement", "web_vital"})
_HOUR_US = 3600 * 1_000_000


def is_action(event: Event) -> bool:
    """Events copied to `actions`: all but pageviews, engagement reports and web vitals (money
    always is one)."""
    if event.revenue_amount is not None:
        return True
    return event.type != "pageview" and event.name not in _NOT_ACTIONS


_EARLIEST = -(1 << 62)
_FAR_FUTURE_US = 4_102_444_800 * 1_000_000  # 2100-01-01


class IdentityDeriver:
    def __init__(self, store: EventStore) -> None:
        create_tables(store)
        self.store = store
        self.links = LinkMemory()
        self.links.load(stored.links(store))
        newest = stored.newest_visit_end_us(store)
        since = _EARLIEST if newest is None else newest - KEEP_US
        self.visits = VisitMemory(self._lookup, since)
        if newest is not None:
            self.visits.load(stored.recent_visits(store, since))
        self._link_rows: list[tuple[Any, ...]] = []
        self._vital_rows: list[tuple[Any, ...]] = []
        self._vital_hours: dict[tuple[int, int, str, int], int] = {}
        self._relinked: set[tuple[int, str]] = set()
        self._page_keys: dict[str, int] = {}

    def _lookup(self, site_id: int, visitor_id: str, from_us: int, to_us: int) -> list[Visit]:
        visitor = keys.visitor_key(site_id, visitor_id)
        return stored.visits_around(self.store, site_id, visitor, from_us, to_us)

    # The Deriver protocol

    def derive(self, events: list[Event]) -> Derived:
        visit_ids: list[int | None] = [None] * len(events)
        self._link_rows = []
        self._vital_rows = []
        self._vital_hours = {}
        self._relinked = set()
        pageview_rows: list[tuple[Any, ...]] = []
        actions: list[int] = []
        self._fetch_late(events)
        for index in sorted(range(len(events)), key=lambda i: events[i].time_us):
            event = events[index]
            visit_id = visit_ids[index] = self._place(event)
            if event.type == "pageview":
                page = event.page
                pageview_rows.append(
                    (
                        event.site_id,
                        event.time_us,
                        visit_id,
                        self._page_key(page or ""),
                        page,
                        event.hostname,
                        "pageview",
                        event.name,
                        event.origin,
                    )
                )
            if event.name == "web_vital" and event.props:
                self._vital(event, visit_id)
            if is_action(event):
                actions.append(index)
        self._restate_persons()
        chosen = [events[i] for i in actions]
        return Derived(
            visit_ids,
            {
                "visits": self._visit_table(),
                "identities": _table(self._link_rows, IDENTITY_SCHEMA),
                "vitals": _table(self._vital_rows, VITAL_SCHEMA),
                "vital_hours": _table(
                    [(*key, n) for key, n in self._vital_hours.items()], VITAL_HOUR_SCHEMA
                ),
                "pageviews": _table(pageview_rows, PAGEVIEW_SCHEMA),
                "actions": to_arrow(
                    chosen,
                    [fingerprint(e.site_id, e.event_id) for e in chosen],
                    [0] * len(chosen),
                    [visit_ids[i] for i in actions],
                ),
            },
        )

    def _page_key(self, page: str) -> int:
        key = self._page_keys.get(page)
        if key is None:
            if len(self._page_keys) > 100_000:
                self._page_keys.clear()
            key = self._page_keys[page] = keys.page_key(page)
        return key

    def commit(self) -> None:
        self.visits.commit()
        self.links.commit()

    def rollback(self) -> None:
        self.visits.rollback()
        self.links.rollback()

    def _fetch_late(self, events: list[Event]) -> None:
        """One query for the stored visits of every visitor whose events in this batch are
        older than memory's reach (a replay, an import): not one query per event."""
        since = self.visits.complete_since_us
        spans: dict[tuple[int, str], tuple[int, int]] = {}
        for event in events:
            t = event.time_us
            if event.visitor_id is not None and t - GAP_US < since:
                key = (event.site_id, event.visitor_id)
                low, high = spans.get(key, (t, t))
                spans[key] = (min(low, t), max(high, t))
        if not spans:
            return
        wanted = [
            (site, keys.visitor_key(site, visitor), low - GAP_US, high + GAP_US)
            for (site, visitor), (low, high) in spans.items()
        ]
        found: dict[tuple[int, str], list[Visit]] = {key: [] for key in spans}
        for visit in stored.visits_of_many(self.store, wanted):
            found.setdefault((visit.site_id, visit.visitor_id), []).append(visit)
        for key, visits in found.items():
            low, high = spans[key]
            self.visits.adopt(key, visits, (low - GAP_US, high + GAP_US))

    # Placing one event

    def _place(self, event: Event) -> int | None:
        site, t = event.site_id, event.time_us
        visitor_id, user_id = event.visitor_id, event.user_id
        self.visits.seen(t)
        if visitor_id is not None and user_id is not None:
            self._link(event, visitor_id, user_id)
        if visitor_id is None:
            if user_id is None:
                return None
            visit = self._user_visit(site, user_id, t)
            return visit.visit_id if visit else keys.outside_visit_id(keys.user_key(site, user_id))
        if event.origin == SERVER:
            visit = self._visit_in_progress(site, visitor_id, t)
            if visit is None:
                return keys.outside_visit_id(keys.visitor_key(site, visitor_id))
            return visit.visit_id
        visit = self._matching_visit(event, visitor_id)
        if visit is not None and user_id is not None and visit.user_id not in (None, user_id):
            visit = None  # another user on the same browser: their visit starts here
        if visit is None:
            if is_passive(event):
                # Reports sent as a page is left never open a visit of their own.
                return keys.outside_visit_id(keys.visitor_key(site, visitor_id))
            user = user_id or self.links.user_at(site, visitor_id, t)
            visit = self.visits.start(
                site, visitor_id, t, user, self._person_bits(site, visitor_id, t)
            )
        else:
            self.visits.change(visit)
        visit.add(event)
        return visit.visit_id

    def _matching_visit(self, event: Event, visitor_id: str) -> Visit | None:
        t, session = event.time_us, event.session_id
        matches = [
            visit
            for visit in self.visits.visits_of(event.site_id, visitor_id, t)
            if (session is not None and session in visit.session_ids) or visit.covers(t)
        ]
        if not matches:
            return None
        # After a switch of user both halves cover the event: it continues the later one.
        before = [v for v in matches if v.started_us <= t]
        if before:
            return max(before, key=lambda v: v.started_us)
        return min(matches, key=lambda v: v.started_us)

    def _visit_in_progress(self, site: int, visitor_id: str, t: int) -> Visit | None:
        best: Visit | None = None
        for visit in self.visits.visits_of(site, visitor_id, t):
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
            visit = self._visit_in_progress(site, visitor_id, t)
            if visit is not None and (best is None or visit.started_us > best.started_us):
                best = visit
        return best

    def _person_bits(self, site: int, visitor_id: str, time_us: int) -> int:
        """Whose a visit starting at `time_us` is, as far as the links known now say."""
        user = self.links.user_at(site, visitor_id, time_us)
        key = keys.user_key(site, user) if user else keys.visitor_key(site, visitor_id)
        return keys.person_bits(key)

    def _restate_persons(self) -> None:
        """A new link changes whose some of a visitor's visits are, also long past ones: fetch
        them all (one query for every visitor linked in this batch) and restate those that
        changed, so visit queries need no identity map."""
        if not self._relinked:
            return
        wanted = [
            (site, keys.visitor_key(site, visitor), 0, _FAR_FUTURE_US)
            for site, visitor in self._relinked
        ]
        stored_visits: dict[tuple[int, str], list[Visit]] = {k: [] for k in self._relinked}
        for visit in stored.visits_of_many(self.store, wanted):
            stored_visits.setdefault((visit.site_id, visit.visitor_id), []).append(visit)
        for (site, visitor), found in stored_visits.items():
            self.visits.adopt((site, visitor), found, (_EARLIEST, _FAR_FUTURE_US))
            for visit in self.visits.all_of(site, visitor):
                bits = self._person_bits(site, visitor, visit.started_us)
                if bits != visit.person_bits:
                    self.visits.change(visit).person_bits = bits

    def _link(self, event: Event, visitor_id: str, user_id: str) -> None:
        site = event.site_id
        if self.links.observe(site, visitor_id, user_id, event.time_us):
            self._relinked.add((site, visitor_id))
            self._link_rows.append(
                (
                    site,
                    visitor_id,
                    keys.visitor_key(site, visitor_id),
                    user_id,
                    keys.user_key(site, user_id),
                    event.time_us,
                    event.origin,
                    event.event_id,
                )
            )

    # Rows

    def _visit_table(self) -> pa.Table:
        rows: list[tuple[Any, ...]] = []
        for visit in self.visits.touched.values():
            if visit.stored is not None:
                cancel = list(visit.stored)
                cancel[2] = -1
                rows.append(tuple(cancel))
            visit.state += 1
            visit.stored = visit.row(visit.state)
            rows.append(visit.stored)
        return _table(rows, VISIT_SCHEMA)

    def _vital(self, event: Event, visit_id: int | None) -> None:
        props = event.props or {}
        metric = props.get("metric")
        try:
            value = float(props.get("value", ""))
        except ValueError:
            return
        if metric in VITAL_METRICS and math.isfinite(value) and abs(value) < 1e12:
            self._vital_rows.append(
                (event.site_id, event.time_us, visit_id, event.page, metric, value)
            )
            hour = event.time_us - event.time_us % _HOUR_US
            key = (event.site_id, hour, metric, keys.vital_bucket(value))
            self._vital_hours[key] = self._vital_hours.get(key, 0) + 1

    # Erasure

    def forget(self, site_id: int, visitor_ids: list[str], user_ids: list[str]) -> None:
        self.visits.forget(site_id, visitor_ids)
        self.links.forget(site_id, visitor_ids, user_ids)


def _table(rows: list[tuple[Any, ...]], schema: pa.Schema) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
    arrays = [_array(values, field.type) for values, field in zip(columns, schema, strict=True)]
    return pa.Table.from_arrays(arrays, schema=schema)


def _array(values: tuple[Any, ...], kind: pa.DataType) -> pa.Array:
    if pa.types.is_timestamp(kind):
        # Arrow's conversion of Python integers to timestamps is two orders of magnitude slower.
        return pa.array(values, pa.int64()).cast(kind)
    return pa.array(values, kind)


def open_deriver(store: EventStore) -> IdentityDeriver | None:
    """The deriver for `store`, or None where the store keeps no derived tables yet."""
    if getattr(store, "create_derived", None) is None:
        return None
    return IdentityDeriver(store)
