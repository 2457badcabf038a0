"""Submit a quarantined event again: same site, same trust, through the whole pipeline.

The original request's IP address and user agent were never kept, so a replayed event gets no
country, device or cookieless visitor hash from them; an event that fails again is quarantined
again with its new reason.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import msgspec

from clycyo.collect.ingest import Invalid, quarantined_payload
from clycyo.collect.wire import JSON_ERRORS, EventIn, WireError, decode_event

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
    outcome = await runtime.ingest.ingest(site, entry.trusted, [item], ip=None, user_agent=None)
    if outcome.accepted or outcome.duplicates:
        runtime.quarantine.mark_replayed(entry_id, time.time_ns() // 1000)
    return outcome.body()


def _current_form(payload: str) -> str:
    """The payload as the quarantine keeps a rejected event today (a note kept in place of a
    body that was no JSON stays as it is)."""
    try:
        msgspec.json.decode(payload)
    except JSON_ERRORS:
        return payload
    return quarantined_payload(payload.encode())
