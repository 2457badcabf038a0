"""From decoded events to a durable answer: the part every wire format shares.

The wire-format handlers (ours, Segment, PostHog, Plausible) decode their bodies into `EventIn`
values and call `Ingest.ingest`. It runs the pipeline on each, sends what passes (and what is
invalid, for the quarantine) to the intake log, waits for the group commit and reports what
happened to each event. It knows nothing of HTTP.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from dataclasses import dataclass, field

import msgspec

from clycyo.collect.origins import belongs_to, host_of
from clycyo.collect.wire import JSON_ERRORS, EventIn, Instant, WireError, to_hit
from clycyo.config.store import Site
from clycyo.model import Drop, DropReason, Event, Hit, Observed, Rejection
from clycyo.pipeline import process
from clycyo.pipeline.context import Context
from clycyo.pipeline.dedupe import undo
from clycyo.pipeline.observe import observe, process_observed
from clycyo.pipeline.source import url_parts
from clycyo.store.intake import IntakeLog, IntakeUnavailable

_DUPLICATE_REASONS = frozenset(
    {DropReason.DUPLICATE_EVENT, DropReason.DUPLICATE_ORDER, DropReason.SUPERSEDED_ORDER}
)
_encode = msgspec.json.encode


class Invalid(msgspec.Struct):
    """An event that did not decode: its raw JSON and what was wrong with it."""

    raw: bytes
    error: str


@dataclass
class Outcome:
    accepted: int = 0
    duplicates: int = 0
    ignored: int = 0  # bot traffic: answered, not stored
    rejected: list[dict[str, object]] = field(default_factory=list)

    def body(self) -> dict[str, object]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "ignored": self.ignored,
            "rejected": self.rejected,
        }


@dataclass
class IngestCounters:
    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)  # by field name
    dropped: Counter[str] = field(default_factory=Counter)  # by DropReason
    unavailable: int = 0


def quarantined_payload(payload: bytes) -> str:
    """A rejected event as the quarantine keeps it: without the end user's address (`ip`,
    `context.ip`, or a `context` of another shape, which may hold it), and without anything
    that cannot be read as JSON, where it could not be found and removed."""
    try:
        value = msgspec.json.decode(payload)
    except JSON_ERRORS:
        # Mostly an event rejected for invalid UTF-8: each bad byte read as U+FFFD, whatever it
        # held (part of an address too, packed in bytes) is gone, and the rest can be scrubbed.
        try:
            value = msgspec.json.decode(payload.decode("utf-8", "replace").encode())
        except JSON_ERRORS:
            return f"(not kept: {len(payload)} bytes that are not JSON)"
    if isinstance(value, dict):
        if "batch" in value and value["batch"] is None:
            # A body of one event is decoded as an envelope whose `batch` is empty: no part of
            # the event, and kept it would make the payload differ from its replay's (the event
            # alone), so a replay that fails again would become an entry of its own.
            del value["batch"]
        context = value.get("context")
        if isinstance(context, dict):
            context.pop("ip", None)
        elif context is not None:
            del value["context"]
        value.pop("ip", None)
    return _encode(value).decode()


def _field_of(error: str) -> str:
    """The top-level field an error names (`props.plan: …` → `props`): a closed set to count by,
    where the full name may hold a key the client chose."""
    if ":" not in error:
        return "body"
    return re.split(r"[.\[]", error.split(":", 1)[0], maxsplit=1)[0]


class Ingest:
    def __init__(self, ctx: Context, intake: IntakeLog, *, max_waiting_requests: int = 4096):
        self.ctx = ctx
        self.intake = intake
        self.counters = IngestCounters()
        self.max_waiting_requests = max_waiting_requests
        self.waiting_requests = 0

    def saturated(self) -> bool:
        return self.waiting_requests >= self.max_waiting_requests

    async def ingest(
        self,
        site: Site,
        trusted: bool,
        items: list[EventIn | Invalid],
        *,
        ip: str | None,
        user_agent: str | None,
        batch_sent_at: Instant | None = None,
        received_us: int | None = None,
        observed: Observed | None = None,
    ) -> Outcome:
        """Run the pipeline on each item and make the accepted ones durable.

        A browser event rejected here is quarantined with what its request showed (`Observed`);
        `observed` is that of a replayed one, used in place of the request it lacks.
        Raises `IntakeUnavailable` when the log cannot take them; then nothing was accepted.
        """
        received = received_us if received_us is not None else time.time_ns() // 1000
        outcome = Outcome()
        accepted: list[Event] = []
        logged: list[Event] = []  # `accepted`, and the dropped copies of orders handed on
        rejections: list[Rejection] = []
        counters = self.counters
        ctx = self.ctx

        def reject(index: int, error: str, raw: bytes, hit: Hit | None = None) -> None:
            outcome.rejected.append({"index": index, "error": error})
            counters.rejected[_field_of(error)] += 1
            seen = observed
            if seen is None and not trusted:
                if hit is None:
                    hit = Hit(site.id, False, "browser", received, ip, user_agent)
                seen = observe(hit, ctx)
            rejections.append(
                Rejection(
                    site_id=site.id,
                    received_us=received,
                    trusted=trusted,
                    error=error,
                    payload=quarantined_payload(raw),
                    observed=seen,
                )
            )

        for index, item in enumerate(items):
            if isinstance(item, Invalid):
                reject(index, item.error, item.raw)
                continue
            problem = None if trusted else _foreign_url(item, site)
            try:
                hit = to_hit(
                    item,
                    site_id=site.id,
                    trusted=trusted,
                    received_us=received,
                    ip=ip,
                    user_agent=user_agent,
                    batch_sent_at=batch_sent_at,
                )
            except WireError as exc:
                reject(index, str(exc), _encode(item))
                continue
            if problem is not None:
                reject(index, problem, _encode(item), hit)
                continue
            result = process(hit, ctx) if observed is None else process_observed(hit, ctx, observed)
            if isinstance(result, Drop):
                reason = result.reason
                if reason is DropReason.INVALID:
                    reject(index, result.detail, _encode(item), hit)
                elif reason in _DUPLICATE_REASONS:
                    outcome.duplicates += 1
                    counters.dropped[reason] += 1
                    if result.handed_on is not None:
                        logged.append(result.handed_on)
                else:
                    outcome.ignored += 1
                    counters.dropped[reason] += 1
                continue
            accepted.append(result)
            logged.append(result)
        if logged or rejections:
            self.waiting_requests += 1
            try:
                await self.intake.append(logged, rejections)
            except (IntakeUnavailable, asyncio.CancelledError):
                # Not acknowledged: the client will retry, and the retry must not be a duplicate.
                for event in accepted:
                    undo(event, ctx)
                counters.unavailable += 1
                raise
            finally:
                self.waiting_requests -= 1
        outcome.accepted = len(accepted)
        counters.accepted += len(accepted)
        return outcome


def _foreign_url(event: EventIn, site: Site) -> str | None:
    """A public key may only report pages of its own site."""
    url = event.url
    if url is None:
        return None
    host = url_parts(url)[0] if url.startswith(("http://", "https://")) else host_of(url)
    if not host or not belongs_to(host, site.domain):
        return f"url: not a page of {site.domain}"
    return None
