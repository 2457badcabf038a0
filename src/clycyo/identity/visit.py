"""One visit's running state, and what one browser event does to it.

A visit is a visitor's (one device's) browser events with no gap of 30 minutes or more. Its
acquisition (source, channel, campaign tags, click id), place and device come from its earliest
event with a URL; the entry page from its earliest pageview, the exit page from its latest.
Durations and bounces follow `docs/identity.md`: a bounce is a visit with at most one pageview
and no interaction, where passive events (engagement reports, web vitals, script errors) are no
interaction. This module holds the rules of one visit; finding the visit is `sessions.py`'s job.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Any

from clycyo.model import Event
from clycyo.pipeline.channels import DIRECT
from clycyo.prop_numbers import prop_number

GAP_US = 30 * 60 * 1_000_000  # inactivity that ends a visit
PASSIVE_EVENTS = frozenset({"engagement", "web_vital", "js_error"})
_NEVER = 1 << 62

ACQUISITION_FIELDS = (
    "source",
    "channel",
    "referrer_host",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "click_id",
)
PLACE_FIELDS = ("country", "region", "city", "browser", "os", "device")
_NO_ACQUISITION = (None,) * len(ACQUISITION_FIELDS)
_NO_PLACE = (None,) * len(PLACE_FIELDS)


def is_passive(event: Event) -> bool:
    return event.type == "event" and event.name in PASSIVE_EVENTS


@dataclass(slots=True)
class Visit:
    visit_id: int
    site_id: int
    visitor_id: str
    visitor_key: int
    started_us: int
    ended_us: int
    person_bits: int = 0
    user_id: str | None = None
    # A tuple, not a set: a visit has one session id or a few, and a set costs 216 bytes.
    session_ids: tuple[str, ...] = ()
    first_session: str | None = None
    hostname: str | None = None
    entry_page: str | None = None
    entry_us: int = _NEVER
    exit_page: str | None = None
    exit_us: int = -1
    pageviews: int = 0
    events: int = 0
    interactions: int = 0
    engaged_ms: int = 0
    landing_us: int = _NEVER  # time of the event the acquisition was taken from
    acquisition: tuple[str | None, ...] = _NO_ACQUISITION
    place: tuple[str | None, ...] = _NO_PLACE
    state: int = 0  # number of the stored state (0: none stored yet)
    stored: tuple[Any, ...] | None = None  # the stored state's row, for its cancellation

    def snapshot(self) -> tuple[Any, ...]:
        """This state, to be put back by `restore` (a failed batch). Every field is immutable
        (the session ids are a tuple), so the snapshot can share them."""
        return _STATE(self)

    def restore(self, state: tuple[Any, ...]) -> None:
        for name, value in zip(_SLOTS, state, strict=True):
            setattr(self, name, value)

    def covers(self, time_us: int) -> bool:
        """Whether an event at `time_us` continues this visit (no 30-minute gap either side)."""
        return self.started_us - GAP_US < time_us < self.ended_us + GAP_US

    def add(self, event: Event) -> None:
        # The writer calls this for most events it stores: attributes are read once, and checks
        # are ordered so that the usual event (a later one of the same visit) skips the rest.
        t = event.time_us
        self.events += 1
        # Comparisons, not min() and max(): two calls per event cost more. A visit never ends
        # before it starts, so an earlier start leaves the end as it is.
        if t < self.started_us:
            self.started_us = t
        elif t > self.ended_us:
            self.ended_us = t
        session = event.session_id
        if session is not None:
            if self.first_session is None:
                self.first_session = session
            if session not in self.session_ids:
                self.session_ids = (*self.session_ids, session)
        if self.user_id is None and event.user_id is not None:
            self.user_id = event.user_id
        kind, name = event.type, event.name
        if kind == "pageview":
            self.pageviews += 1
            if t < self.entry_us:
                self.entry_page, self.entry_us = event.page, t
            if t >= self.exit_us:
                self.exit_page, self.exit_us = event.page, t
        elif kind != "event" or name not in PASSIVE_EVENTS:
            self.interactions += 1
        if name == "engagement" and event.props:
            self.engaged_ms += _milliseconds(event.props.get("engaged_ms"))
        if t <= self.landing_us:
            self._land(event, t)
        elif self.place == _NO_PLACE and (event.browser is not None or event.country is not None):
            self.place = _place_of(event)

    def _land(self, event: Event, t: int) -> None:
        """An event at or before the one the acquisition came from (a visit's first, mostly)."""
        if event.url is not None and t < self.landing_us:
            self.landing_us = t
            self.hostname = event.hostname
            channel = event.channel
            # A visit that starts on an internal link (an old tab, say) came from nowhere new.
            self.acquisition = (
                event.source,
                channel if channel is not None else DIRECT,
                event.referrer_host,
                event.utm_source,
                event.utm_medium,
                event.utm_campaign,
                event.utm_term,
                event.utm_content,
                event.click_id,
            )
        if event.browser is not None or event.country is not None:
            self.place = _place_of(event)

    @property
    def duration_s(self) -> int:
        return (self.ended_us - self.started_us) // 1_000_000

    @property
    def is_bounce(self) -> bool:
        return self.pageviews <= 1 and self.interactions == 0

    def row(self, state: int) -> tuple[Any, ...]:
        """This state as a `visits` row (in `schema.VISIT_COLUMNS` order), `sign` = +1."""
        return (
            self.visit_id,
            state,
            1,
            self.site_id,
            self.visitor_id,
            self.visitor_key,
            self.person_bits,
            self.user_id,
            self.first_session,
            self.started_us,
            self.ended_us,
            self.hostname,
            self.entry_page,
            self.exit_page,
            self.pageviews,
            self.events,
            self.interactions,
            self.engaged_ms,
            self.duration_s,
            int(self.is_bounce),
            *self.acquisition,
            *self.place,
        )


_SLOTS = tuple(f for f in Visit.__slots__ if f != "__weakref__")
_STATE = operator.attrgetter(*_SLOTS)


def _place_of(event: Event) -> tuple[str | None, ...]:
    return (event.country, event.region, event.city, event.browser, event.os, event.device)


# An engagement report counts for a day at most: `engaged_ms` is a prop the client sets, and the
# visit's sum is stored as a 64-bit integer ("1e300" or "inf" would not fit, nor would a few sums
# of "9e18").
_MAX_ENGAGED_MS = 24 * 3600 * 1000


def _milliseconds(value: str | None) -> int:
    """A report's `engaged_ms` as the reports read it (`prop_numbers`); none, or infinite: 0."""
    milliseconds = prop_number(value)
    if milliseconds is None or not math.isfinite(milliseconds):
        return 0
    return int(min(max(milliseconds, 0.0), _MAX_ENGAGED_MS))


def from_row(row: dict[str, Any]) -> Visit:
    """A stored live state back as a running visit (after a restart, or for a late event).

    The stored row keeps the first session id only, and no separate entry and exit times; the
    visit's start and end stand in for them, which only matters for events older than the visit.
    """
    started = row["started_at"]
    ended = row["ended_at"]
    visit = Visit(
        visit_id=int(row["visit_id"]),
        site_id=int(row["site_id"]),
        visitor_id=row["visitor_id"],
        visitor_key=int(row["visitor_key"]),
        person_bits=int(row["person_bits"]),
        started_us=started,
        ended_us=ended,
        user_id=row["user_id"],
        first_session=row["session_id"],
        hostname=row["hostname"],
        entry_page=row["entry_page"],
        entry_us=started if row["entry_page"] is not None else _NEVER,
        exit_page=row["exit_page"],
        exit_us=ended if row["exit_page"] is not None else -1,
        pageviews=int(row["pageviews"]),
        events=int(row["events"]),
        interactions=int(row["interactions"]),
        engaged_ms=int(row["engaged_ms"]),
        landing_us=started,
        acquisition=tuple(row[name] for name in ACQUISITION_FIELDS),
        place=tuple(row[name] for name in PLACE_FIELDS),
        state=int(row["state"]),
    )
    if visit.first_session is not None:
        visit.session_ids = (visit.first_session,)
    visit.stored = visit.row(visit.state)
    return visit
