"""What one load of `bench/ingest.py` measured, and the tables it is reported in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from processes import NATIVE


@dataclass
class Load:
    name: str
    target: str  # nginx, asgi floor under a server, or clycyo under a server
    events_per_request: int
    requests_per_s: float
    events_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    peak_rss_mb: float | None = None
    ratio_to_nginx: float | None = None
    stored_events_per_s: float | None = None
    catch_up_s: float | None = None
    acknowledged_events: int | None = None
    stored_events: int | None = None
    cpu_us_per_event: dict[str, float] = field(default_factory=dict)
    check: str = ""
    profile: dict[str, Any] | None = None


def add_ratios(loads: list[Load], nginx_rps: float) -> None:
    for load in loads:
        load.ratio_to_nginx = round(load.requests_per_s / nginx_rps, 3)


def table(loads: list[Load]) -> str:
    head = (
        "| target | load | req/s | events/s | stored ev/s | p50 ms | p99 ms | vs nginx | "
        "peak RSS MB | CPU µs/event | check |"
    )
    lines = [head, "|" + "---|" * 11]
    for load in loads:
        cpu = load.cpu_us_per_event.get("total")
        lines.append(
            f"| {load.target} | {load.name} | {load.requests_per_s:,} | {load.events_per_s:,} | "
            f"{'' if load.stored_events_per_s is None else f'{load.stored_events_per_s:,}'} | "
            f"{load.p50_ms} | {load.p99_ms} | "
            f"{'' if load.ratio_to_nginx is None else f'{load.ratio_to_nginx:.2f}'} | "
            f"{'' if load.peak_rss_mb is None else load.peak_rss_mb} | "
            f"{'' if cpu is None else cpu} | {load.check or ''} |"
        )
    return "\n".join(lines)


def cpu_table(loads: list[Load]) -> str:
    shown = [load for load in loads if load.cpu_us_per_event and load.stored_events is not None]
    known = [
        *(f"collectors: {g}" for g in ("event loop", "intake-flusher", NATIVE)),
        "event loop",
        "intake-flusher",
        "store-writer",
        NATIVE,
    ]
    seen = {g for load in shown for g in load.cpu_us_per_event} - {"total"}
    groups = [g for g in known if g in seen] + sorted(seen - set(known))
    lines = [
        "| target | load | " + " | ".join(groups) + " | total |",
        "|" + "---|" * (len(groups) + 3),
    ]
    for load in shown:
        cells = [str(load.cpu_us_per_event.get(g, 0)) for g in [*groups, "total"]]
        lines.append(f"| {load.target} | {load.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def profile_text(loads: list[Load]) -> str:
    lines = []
    for load in loads:
        if not load.profile:
            continue
        lines.append(f"### {load.target}: {load.name}")
        for thread, info in load.profile.items():
            lines.append(f"- {thread} ({info['share_of_samples']:.0%} of samples); self:")
            lines.extend(f"  - {share:.1%} {function}" for function, share in info["self"])
        lines.append("")
    return "\n".join(lines)
