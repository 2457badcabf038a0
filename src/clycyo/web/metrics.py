"""`GET /metrics`: the server's counters in Prometheus' text format (version 0.0.4).

It reads the counters that exist where the work happens — the collector's (`Ingest.counters`),
the rate limiter's, the intake log's backlog, the writer's (`Writer.stats`), the pipeline's step
timings — and the latency histograms of `observability.py`. It adds no counting of its own on the
hot path. Label values come only from closed sets (drop reasons, event fields, limits), never from
what a client sent, so a hostile client cannot blow up the number of series.

Like `/healthz` it needs no credentials: it tells counts, never content, names or addresses. An
operator who does not want it public blocks `/metrics` at the reverse proxy.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from clycyo.collect import http
from clycyo.collect.ingest import IngestCounters
from clycyo.collect.wire import EventIn
from clycyo.model import DropReason
from clycyo.observability import HISTOGRAMS, Histogram
from clycyo.pipeline import timings
from clycyo.runtime import Runtime

_FIELDS = frozenset(EventIn.__struct_fields__) | {"body", "batch"}
_CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"


def rejection_label(field: str) -> str:
    """The field an error named, cut to the top-level field (`props.plan` → `props`)."""
    top = field.split(".", 1)[0].split("[", 1)[0].strip()
    return top if top in _FIELDS else "other"


class Exposition:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def metric(self, name: str, kind: str, help_text: str) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")

    def sample(self, name: str, value: float, **labels: str) -> None:
        if labels:
            inner = ",".join(f'{key}="{value_}"' for key, value_ in sorted(labels.items()))
            self.lines.append(f"{name}{{{inner}}} {_number(value)}")
        else:
            self.lines.append(f"{name} {_number(value)}")

    def one(self, name: str, kind: str, help_text: str, value: float) -> None:
        self.metric(name, kind, help_text)
        self.sample(name, value)

    def histogram(self, histogram: Histogram) -> None:
        self.metric(histogram.name, "histogram", histogram.help_text)
        cumulative, total_s = histogram.snapshot()
        for bound, count in zip(histogram.buckets_s, cumulative, strict=False):
            self.sample(histogram.name + "_bucket", count, le=_number(bound))
        self.sample(histogram.name + "_bucket", cumulative[-1], le="+Inf")
        self.sample(histogram.name + "_sum", total_s)
        self.sample(histogram.name + "_count", cumulative[-1])

    def text(self) -> bytes:
        return ("\n".join(self.lines) + "\n").encode()


def _number(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def _with_collectors(runtime: Runtime) -> IngestCounters:
    """The core's ingest counters plus those collector processes report (`--workers N`)."""
    mine = runtime.ingest.counters
    merged = IngestCounters(
        accepted=mine.accepted,
        rejected=Counter(mine.rejected),
        dropped=Counter(mine.dropped),
        unavailable=mine.unavailable,
    )
    for path in sorted((runtime.settings.data_dir / "run").glob("collector-*.json")):
        try:
            stats = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        merged.accepted += int(stats.get("accepted", 0))
        merged.rejected.update(stats.get("rejected", {}))
        merged.dropped.update({DropReason(k): v for k, v in stats.get("dropped", {}).items()})
        merged.unavailable += int(stats.get("unavailable", 0))
    return merged


def render(runtime: Runtime) -> bytes:
    out = Exposition()
    counters = _with_collectors(runtime)
    out.one(
        "clycyo_events_accepted_total",
        "counter",
        "Events acknowledged durable.",
        counters.accepted,
    )
    out.metric("clycyo_events_rejected_total", "counter", "Invalid events, by the field at fault.")
    by_field: dict[str, int] = {}
    for field, count in counters.rejected.items():
        label = rejection_label(field)
        by_field[label] = by_field.get(label, 0) + count
    for label, count in sorted(by_field.items()):
        out.sample("clycyo_events_rejected_total", count, field=label)
    out.metric("clycyo_events_dropped_total", "counter", "Events let go, by reason.")
    for reason in DropReason:
        if reason is not DropReason.INVALID:
            out.sample("clycyo_events_dropped_total", counters.dropped[reason], reason=reason.value)
    out.one(
        "clycyo_requests_unavailable_total",
        "counter",
        "Requests answered 503 because the intake could not keep their events.",
        counters.unavailable,
    )
    out.metric("clycyo_requests_rate_limited_total", "counter", "Requests answered 429, by limit.")
    for limit in ("address", "key"):
        out.sample(
            "clycyo_requests_rate_limited_total", runtime.limiter.refused[limit], limit=limit
        )
    _intake_and_writer(out, runtime)
    out.metric(
        "clycyo_pipeline_step_seconds_sampled_total",
        "counter",
        "Seconds spent per pipeline step, over a 1-in-64 sample of events.",
    )
    for step, seconds in sorted(timings.seconds.items()):
        out.sample("clycyo_pipeline_step_seconds_sampled_total", seconds, step=step)
    for histogram in HISTOGRAMS:
        out.histogram(histogram)
    return out.text()


def _intake_and_writer(out: Exposition, runtime: Runtime) -> None:
    intake, writer = runtime.intake, runtime.writer
    stats = writer.stats
    out.one(
        "clycyo_intake_unloaded_bytes",
        "gauge",
        "Bytes in the intake log not yet loaded into the store.",
        intake.unloaded_bytes,
    )
    out.one(
        "clycyo_intake_lag_records",
        "gauge",
        "Intake log records not yet loaded into the store.",
        writer.lag_records,
    )
    out.one(
        "clycyo_intake_fault",
        "gauge",
        "1 while the intake log refuses writes (disk error).",
        1 if intake.fault else 0,
    )
    out.one("clycyo_store_events_total", "counter", "Events loaded into the store.", stats.stored)
    out.one(
        "clycyo_store_duplicates_total",
        "counter",
        "Events the writer found already stored.",
        stats.duplicates,
    )
    out.one(
        "clycyo_quarantined_total",
        "counter",
        "Rejected events kept in quarantine.",
        stats.quarantined,
    )
    out.one(
        "clycyo_store_refused_total",
        "counter",
        "Events the store refused for their values, quarantined (in clycyo_quarantined_total too).",
        stats.refused,
    )
    out.one(
        "clycyo_store_internal_errors_total",
        "counter",
        "Events the writer's own work failed on (a bug), quarantined (in"
        " clycyo_quarantined_total too).",
        stats.internal_errors,
    )
    out.one(
        "clycyo_intake_damaged_records_total",
        "counter",
        "Intake log records damaged on disk, skipped (their events lost).",
        stats.damaged,
    )
    out.one("clycyo_store_batches_total", "counter", "Batches loaded.", stats.batches)
    out.one("clycyo_store_failures_total", "counter", "Failed loads (retried).", stats.failures)
    out.one(
        "clycyo_store_writer_restarts_total",
        "counter",
        "Times the writer thread had died and was started again.",
        stats.restarts,
    )
    out.one(
        "clycyo_store_healthy",
        "gauge",
        "0 while the last load failed.",
        0 if stats.last_error else 1,
    )


class MetricsEndpoint:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def __call__(self, scope: http.Scope, receive: Any, send: Any) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await http.send_json(send, 405, {"error": "use GET"}, [(b"allow", b"GET, HEAD")])
            return
        body = render(self.runtime)
        headers = [(b"content-type", _CONTENT_TYPE), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )
