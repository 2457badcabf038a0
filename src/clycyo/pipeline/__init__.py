"""The event pipeline: an ordered list of named steps from a decoded `Hit` to a storable `Event`.

Steps before `minimize` take and return the `Hit` (or a `Drop` with a reason from a closed set);
`minimize` turns the hit into an `Event` that has no field for the IP address or the raw user
agent; `dedupe` then works on events only. Steps are pure functions of the hit and the long-lived
`Context`; none of them does I/O. Timing is sampled (one hit in `TIMING_SAMPLE`) to keep the hot
path cheap while `/metrics` still shows where time goes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from clycyo.model import Drop, Event, Hit
from clycyo.pipeline.bots import filter_bots
from clycyo.pipeline.context import Context
from clycyo.pipeline.dedupe import dedupe
from clycyo.pipeline.device import enrich_device
from clycyo.pipeline.expiry import filter_expired
from clycyo.pipeline.geo import enrich_geo
from clycyo.pipeline.identify import identify
from clycyo.pipeline.minimize import minimize
from clycyo.pipeline.shields import filter_excluded
from clycyo.pipeline.source import enrich_source
from clycyo.pipeline.validate import validate

Step = Callable[[Hit, Context], Hit | Drop]

STEPS: tuple[Step, ...] = (
    validate,
    filter_expired,
    filter_bots,
    enrich_device,
    enrich_geo,
    enrich_source,
    filter_excluded,
    identify,
)
TIMING_SAMPLE = 64


class StepTimings:
    """Sampled seconds spent per step, for `/metrics`."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.samples = 0
        self._countdown = TIMING_SAMPLE

    def due(self) -> bool:
        self._countdown -= 1
        if self._countdown:
            return False
        self._countdown = TIMING_SAMPLE
        self.samples += 1
        return True

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds


timings = StepTimings()


def _process_timed(hit: Hit, ctx: Context) -> Event | Drop:
    clock = time.perf_counter
    for step in STEPS:
        started = clock()
        result = step(hit, ctx)
        timings.add(step.__name__, clock() - started)
        if isinstance(result, Drop):
            return result
    started = clock()
    event = minimize(hit)
    timings.add("minimize", clock() - started)
    started = clock()
    outcome = dedupe(event, ctx)
    timings.add("dedupe", clock() - started)
    return outcome


def process(hit: Hit, ctx: Context) -> Event | Drop:
    """Run every step; the result is the event to store or the reason it was dropped."""
    if timings.due():
        return _process_timed(hit, ctx)
    for step in STEPS:
        result = step(hit, ctx)
        if isinstance(result, Drop):
            return result
    return dedupe(minimize(hit), ctx)
