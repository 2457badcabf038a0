"""Submit a quarantined event again: same site, same trust, through the whole pipeline.

The original request's IP address and user agent were never kept. A browser event's entry holds
what the steps that read them made of it on arrival (`pipeline/observe.py`): its replay is judged
a bot or not, and gets its device, country and cookieless visitor hash, from those. One kept by an
earlier version has none: its replay, without a user agent, is dropped by the bot filter, and
the answer says so. An event that fails again is quarantined again with its new reason.
An event the writer quarantined (`refusals.accepted_first`) was accepted on arrival: before its
first replay the pipeline forgets its id, and takes its order's rank from the store, so that the
replay is not answered as a duplicate of itself; and a browser event among them is replayed as
trusted as it was accepted (its payload names its origin).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import msgspec

from clycyo.collect.ingest import Invalid, quarantined_payload
from clycyo.collect.wire import JSON_ERRORS, EventIn, WireError, decode_event
from clycyo.store.refusals import accepted_first

if TYPE_CHECKING:
    from clycyo.runtime import Runtime


class ReplayError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def replay_entry(runtime: Runtime, entry_id: int) -> dict[str, object]:
    """The ingest outcome of replaying one quarantine entry (raises `ReplayError`)."""
    entry = runtime.quarantine.get(entry_id)
    if entry is None:
        raise ReplayError(404, f"entry: no quarantined event {entry_id}")
    site = runtime.directory.by_id(entry.site_id)
    if site is None:
        raise ReplayError(404, "site: the entry's site no longer exists")
    raw = entry.payload.encode()
    current = _current_form(entry.payload)
    if current != entry.payload:
        # Kept by an earlier version in another form (a single event with the envelope's
        # `"batch": null`): restated, a rejection of this replay counts on the entry.
        runtime.quarantine.restate_payload(entry_id, current)
    item: EventIn | Invalid
    try:
        item = decode_event(raw)
    except WireError as exc:
        item = Invalid(raw, str(exc))
    trusted = entry.trusted
    if isinstance(item, EventIn) and accepted_first(entry.error):
        # Its time, origin and page were checked when it was accepted: a browser event is taken
        # as then, neither refused for its age (the public key's 24 hours) nor dropped for the
        # user agent a replay does not have.
        trusted = True
        if entry.replayed_us is None:
            await _forget_unstored(runtime, entry.site_id, item)
    observed = None if trusted else entry.observed
    outcome = await runtime.ingest.ingest(
        site, trusted, [item], ip=None, user_agent=None, observed=observed
    )
    if outcome.accepted or outcome.duplicates:
        runtime.quarantine.mark_replayed(entry_id, time.time_ns() // 1000)
    body = outcome.body()
    if outcome.ignored and not trusted:
        body["dropped"] = (
            _UNOBSERVED if observed is None else f"bot filter, on arrival: {observed.bot}"
        )
    return body


# Why a browser event kept by an earlier version is dropped on replay.
_UNOBSERVED = (
    "bot filter: kept by an earlier version, without what its request showed, so the replay"
    " has no user agent, and a browser event without one is taken for a bot"
)


def _current_form(payload: str) -> str:
    """The payload as the quarantine keeps a rejected event today (a note kept in place of a
    body that was no JSON stays as it is)."""
    try:
        msgspec.json.decode(payload)
    except JSON_ERRORS:
        return payload
    return quarantined_payload(payload.encode())


async def _forget_unstored(runtime: Runtime, site_id: int, event: EventIn) -> None:
    """Forget what the pipeline learnt of an event it accepted and the writer quarantined: its
    id, and its order's rank, which becomes the store's (the writer's authority: a copy the
    store holds still outranks the replay)."""
    ctx = runtime.ctx
    if event.event_id is not None:
        ctx.recent_ids.forget(site_id, str(event.event_id))
    if event.order_id is None:
        return
    name = event.name or (event.type if event.type != "event" else "")
    key = (site_id, name, str(event.order_id))
    store = runtime.store
    # On the writer thread, between loads: the store is read there as the writer's dedupe reads it.
    stored = await asyncio.wrap_future(runtime.writer.submit(lambda: store.orders([key])))
    rank = stored.get(key)
    if rank is None:
        ctx.orders.forget(*key)
    else:
        ctx.orders.remember(*key, rank)
