"""Latency histograms that the store and the read paths record into, for `/metrics`.

Counters already live where the work happens (`Ingest.counters`, `Writer.stats`, the pipeline's
step timings, the rate limiter); what was missing is the distribution of durations, which a
Prometheus histogram gives at a constant cost per observation. The histograms are process-wide
because the process is the unit Prometheus scrapes. This module renders nothing (see
`web/metrics.py`) and must never hold an event's content.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

# Seconds: from a fast DuckDB lookup to a slow full scan.
LATENCY_BUCKETS_S = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)


class Histogram:
    """Cumulative-bucket histogram of seconds; safe to observe from any thread."""

    def __init__(self, name: str, help_text: str, buckets_s: tuple[float, ...]) -> None:
        self.name = name
        self.help_text = help_text
        self.buckets_s = buckets_s
        self._counts = [0] * (len(buckets_s) + 1)  # the last is +Inf
        self._sum_s = 0.0
        self._lock = threading.Lock()

    def observe(self, seconds: float) -> None:
        index = bisect.bisect_left(self.buckets_s, seconds)
        with self._lock:
            self._counts[index] += 1
            self._sum_s += seconds

    @contextmanager
    def time(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.observe(time.perf_counter() - started)

    def snapshot(self) -> tuple[list[int], float]:
        """Cumulative counts per bucket (the last is every observation) and the sum of seconds."""
        with self._lock:
            counts = list(self._counts)
            total_s = self._sum_s
        cumulative = []
        running = 0
        for count in counts:
            running += count
            cumulative.append(running)
        return cumulative, total_s


WRITE_SECONDS = Histogram(
    "clycyo_store_write_seconds",
    "Time to load one batch from the intake log into the event store.",
    LATENCY_BUCKETS_S,
)
QUERY_SECONDS = Histogram(
    "clycyo_query_seconds",
    "Time to run one read query against the event store.",
    LATENCY_BUCKETS_S,
)
HISTOGRAMS = (WRITE_SECONDS, QUERY_SECONDS)
