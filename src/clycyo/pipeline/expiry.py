"""The `filter_expired` step: an event older than its site's retention is not kept.

Retention (`store/retention.py`) deletes a site's events older than its `retention_days`, once
a day. An event that arrives already older than that — a late retry, a backend's backfill, a
copy of an order whose kept copy retention deleted — would bring back what retention removed
and stay until the next run, so it is dropped here (`DropReason.EXPIRED`) and answered as
ignored. The cutoff is the one retention would use at the moment the event is received. This
step only filters; it reads the event's time as `validate` corrected it.
"""

from __future__ import annotations

from clycyo.model import Drop, DropReason, Hit
from clycyo.pipeline.context import Context

DAY_US = 86_400 * 1_000_000


def filter_expired(hit: Hit, ctx: Context) -> Hit | Drop:
    retention_days = ctx.retention_days
    if retention_days is None:
        return hit
    days = retention_days(hit.site_id)
    if days is not None and days > 0 and hit.time_us < hit.received_us - days * DAY_US:
        return Drop(DropReason.EXPIRED, f"older than the site's retention of {days} days")
    return hit
