"""What a rejected browser event's request showed, kept for its replay in place of the request.

The IP address and the raw user agent exist only until `minimize`, so a quarantined event has
neither. `observe` runs the steps that read them (`filter_bots`, `enrich_device`, `enrich_geo`,
and `identify`'s cookieless hash, whose daily salt may be gone by the time of a replay) on the
rejected event when it arrives, and keeps their results only: `process_observed` then runs the
pipeline on its replay with those results in place of those steps. A bot on arrival is a bot on
replay; a browser is not taken for a bot for lacking the user agent a replay does not have.

This module reads no request and keeps no IP address or user agent.
"""

from __future__ import annotations

from clycyo.model import Drop, DropReason, Event, Hit, Observed
from clycyo.pipeline import STEPS
from clycyo.pipeline.bots import filter_bots
from clycyo.pipeline.context import Context
from clycyo.pipeline.dedupe import dedupe
from clycyo.pipeline.device import enrich_device
from clycyo.pipeline.geo import enrich_geo
from clycyo.pipeline.identify import identify
from clycyo.pipeline.minimize import minimize

# The steps whose results `Observed` holds.
_REQUEST_STEPS = (filter_bots, enrich_device, enrich_geo)


def observe(hit: Hit, ctx: Context) -> Observed:
    """The results of the steps that read `hit`'s IP address and user agent (the hit, which
    was rejected, is changed and should not be used again)."""
    verdict = filter_bots(hit, ctx)
    if isinstance(verdict, Drop):
        return Observed(bot=verdict.detail)
    enrich_device(hit, ctx)
    enrich_geo(hit, ctx)
    visitor_id = None
    if hit.visitor_id is None and hit.user_id is None and identify(hit, ctx) is hit:
        visitor_id = hit.visitor_id if hit.visitor_kind == "hash" else None
    return Observed(
        browser=hit.browser,
        browser_version=hit.browser_version,
        os=hit.os,
        os_version=hit.os_version,
        device=hit.device,
        country=hit.country,
        region=hit.region,
        city=hit.city,
        visitor_id=visitor_id,
    )


def process_observed(hit: Hit, ctx: Context, observed: Observed) -> Event | Drop:
    """`process` for a replayed browser event, with `observed` in place of the steps that read
    the request (the hit has no IP address or user agent)."""
    # Before the steps: the country is one of the things a site's shields may exclude.
    hit.country, hit.region, hit.city = observed.country, observed.region, observed.city
    for step in STEPS:
        if step is filter_bots and observed.bot is not None:
            return Drop(DropReason.BOT, f"on arrival: {observed.bot}")
        if step in _REQUEST_STEPS:
            continue
        if step is identify and hit.visitor_id is None and hit.user_id is None:
            if observed.visitor_id is not None:
                hit.visitor_id = observed.visitor_id
                hit.visitor_kind = "hash"
            continue
        result = step(hit, ctx)
        if isinstance(result, Drop):
            return result
    hit.browser, hit.browser_version = observed.browser, observed.browser_version
    hit.os, hit.os_version, hit.device = observed.os, observed.os_version, observed.device
    return dedupe(minimize(hit), ctx)
