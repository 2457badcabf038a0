"""The event loop's CPU per collect request, without sockets, and the parts of a request alone.

Single events are capped by the thread that runs the event loop (docs/benchmarks.md, "Where the
time goes"), and over loopback the run-to-run spread of `bench/ingest.py` hides changes of a few
µs. This script measures that thread's work directly, in process:

* **loads**: `clycyo serve`'s application (`Runtime.open` on a fresh folder with one site, rate
  limits off, `build_app`) behind the HTTP protocol it is served with
  (`http_protocol.CoalescingHttpToolsProtocol`), fed by `--connections` in-memory connections.
  Each round sends every connection one request as the ingest benchmark's wrk would (the same
  headers and bodies, `bench/wrk_loads.py`) and ends when every answer is written, which for the
  collect API is after the intake log's group commit (`fdatasync`). The figure is the CPU time of
  the loop's thread (`time.thread_time`) per request and per event, over `--rounds` rounds after
  `--warmup`, the lowest of `--runs` runs (other work on the machine only ever adds time); every
  answer must be a `200` (`204` for the baseline). The store writer runs, as when serving
  (`--hold-writer` stops it: the loop alone, without the writer's share of the GIL);
* **baseline**: the empty ASGI app (`asgi_floor.py`) behind the same protocol, sent the same
  single events, in the same run: the column "vs empty app" is the ratio to it;
* **parts**: a single event's steps timed alone over `--events` events: decoding the body,
  finding the site by its key, `to_hit`, each pipeline step, `minimize`, `dedupe`, the intake
  append (with the wait for its commits left out) and encoding the answer. What a request costs
  beyond their sum is the HTTP protocol's, asyncio's and the CPU's caches' share.

`--shields` gives the site as many shields as it may have of the kinds that block (30 addresses
and ranges, 30 countries, 30 page patterns), none matching the benchmark's events, and one
hostname rule they pass: `filter_excluded`'s dearest case, every rule tried.

    .venv/bin/python bench/loop.py
    .venv/bin/python bench/loop.py --rounds 500 --hold-writer
    .venv/bin/python bench/loop.py --shields
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import asgi_floor
import msgspec
import uvicorn
import uvloop
from uvicorn.server import ServerState
from wrk_loads import (
    BATCH_SIZE,
    BROWSER_HEADERS,
    CHROME_UA,
    DOMAIN,
    batch_events,
    single_event,
)

from clycyo import gc_tuning
from clycyo.app import build_app
from clycyo.collect.ingest import Outcome
from clycyo.collect.wire import decode_valid_body, to_hit
from clycyo.config.shields import MAX_RULES_PER_KIND, ShieldStore
from clycyo.config.store import ConfigStore
from clycyo.http_protocol import CoalescingHttpToolsProtocol
from clycyo.model import Event
from clycyo.pipeline import STEPS, dedupe, minimize, process
from clycyo.runtime import Runtime, Settings
from clycyo.settings import config_path

CLIENT = "81.2.69.160"


class MemoryTransport(asyncio.Transport):
    """One connection's transport: keeps the status of each answer written to it."""

    def __init__(self, answers: Answers) -> None:
        super().__init__()
        self._answers = answers
        self._closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        # One request at a time per connection: each write (joined by the protocol's transport
        # within a turn of the loop) starts with one answer's status line.
        self._answers.add(bytes(data[9:12]))

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        self._closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": (CLIENT, 40000), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


class Answers:
    """The answers of a round, and a future that is done once all of them are in."""

    def __init__(self) -> None:
        self.statuses: dict[bytes, int] = {}
        self._left = 0
        self._done: asyncio.Future[None] | None = None

    def expect(self, count: int) -> asyncio.Future[None]:
        self._left = count
        self._done = asyncio.get_running_loop().create_future()
        return self._done

    def add(self, status: bytes) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self._left -= 1
        if self._left == 0 and self._done is not None:
            self._done.set_result(None)


def http_request(headers: dict[str, str], body: bytes) -> bytes:
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    head = f"POST /api/collect HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n{lines}"
    return f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body


def single_bodies(public_key: str, tag: str, count: int) -> list[bytes]:
    now_ms = int(time.time() * 1000)
    return [
        json.dumps(single_event(public_key, f"{tag}-{n}", now_ms), separators=(",", ":")).encode()
        for n in range(count)
    ]


def batch_requests(secret_key: str, tag: str, count: int) -> list[bytes]:
    marker = "REQUEST_MARKER"
    body = json.dumps({"batch": batch_events(tag, marker)}, separators=(",", ":"))
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {secret_key}",
        "User-Agent": "clycyo-python/0.1",
    }
    return [http_request(headers, body.replace(marker, str(n)).encode()) for n in range(count)]


async def drive(
    app: Any, requests: list[bytes], connections: int, warmup: int, expected: bytes
) -> float:
    """CPU seconds of this thread per request over the rounds after `warmup`."""
    config = uvicorn.Config(
        app, lifespan="off", access_log=False, proxy_headers=False, log_level="warning"
    )
    config.load()
    state = ServerState()
    answers = Answers()
    protocols = []
    for _ in range(connections):
        protocol = CoalescingHttpToolsProtocol(config=config, server_state=state, app_state={})
        protocol.connection_made(MemoryTransport(answers))
        protocols.append(protocol)
    rounds = len(requests) // connections
    started = 0.0
    for round_index in range(rounds):
        if round_index == warmup:
            started = time.thread_time()
        done = answers.expect(connections)
        batch = requests[round_index * connections : (round_index + 1) * connections]
        for protocol, request in zip(protocols, batch, strict=True):
            protocol.data_received(request)
        await done
    spent = time.thread_time() - started
    for protocol in protocols:
        protocol.connection_lost(None)
    wrong = {s.decode(): n for s, n in answers.statuses.items() if s != expected}
    if wrong:
        raise RuntimeError(f"answers other than {expected.decode()}: {wrong}")
    return spent / ((rounds - warmup) * connections)


def timed(items: Iterable[Any], work: Callable[[Any], Any]) -> tuple[float, list[Any]]:
    """CPU µs of this thread per item, and the results."""
    listed = list(items)
    started = time.thread_time()
    results = [work(item) for item in listed]
    return (time.thread_time() - started) / len(listed) * 1e6, results


async def parts(
    runtime: Runtime, public_key: str, count: int
) -> tuple[list[tuple[str, float]], float]:
    """A single event's steps, each timed alone over `count` events; and all of them, one event
    after another."""
    bodies = single_bodies(public_key, "parts", count)
    found: list[tuple[str, float]] = []
    cost, envelopes = timed(bodies, decode_valid_body)
    found.append(("decode the body", cost))
    cost, sites = timed(envelopes, lambda e: runtime.directory.by_public_key(e.key))
    found.append(("find the site by its key", cost))
    site = sites[0]
    received = time.time_ns() // 1000

    def hit_of(envelope: Any) -> Any:
        return to_hit(
            envelope,
            site_id=site.id,
            trusted=False,
            received_us=received,
            ip=CLIENT,
            user_agent=CHROME_UA,
            batch_sent_at=None,
        )

    cost, hits = timed(envelopes, hit_of)
    found.append(("to_hit", cost))
    ctx = runtime.ctx
    for step in STEPS:
        cost, hits = timed(hits, lambda hit, step=step: step(hit, ctx))
        found.append((step.__name__, cost))
    cost, events = timed(hits, minimize)
    found.append(("minimize", cost))
    cost, events = timed(events, lambda event: dedupe(event, ctx))
    found.append(("dedupe", cost))
    if not all(isinstance(event, Event) for event in events):
        raise RuntimeError("an event was dropped on its way through the pipeline")
    cost, commits = timed(events, lambda event: runtime.intake.append([event], []))
    found.append(("intake append (without the wait)", cost))
    await asyncio.gather(*commits)
    outcome = Outcome(accepted=1)
    cost, _ = timed(range(count), lambda _: msgspec.json.encode(outcome.body()))
    found.append(("encode the answer", cost))

    def whole(body: bytes) -> Any:
        envelope = decode_valid_body(body)
        assert envelope is not None
        runtime.directory.by_public_key(envelope.key)
        event = process(hit_of(envelope), ctx)
        assert isinstance(event, Event)
        commit = runtime.intake.append([event], [])
        msgspec.json.encode(outcome.body())
        return commit

    cost, commits = timed(single_bodies(public_key, "whole", count), whole)
    await asyncio.gather(*commits)
    return found, cost


def add_shields(folder: Path) -> None:
    """The site's shields at their limit, none of them matching the benchmark's events."""
    config = ConfigStore(config_path(folder))
    site = config.site_by_domain(DOMAIN)
    assert site is not None
    store = ShieldStore(config)
    countries = [a + b for a in "ACDEFHIJ" for b in "ELMNRST"][:MAX_RULES_PER_KIND]
    for index in range(MAX_RULES_PER_KIND):
        address = f"198.51.100.{index}" if index % 2 else f"2001:db8:{index:x}::/48"
        store.add(site.id, DOMAIN, "ip", address)
        store.add(site.id, DOMAIN, "country", countries[index])
        store.add(site.id, DOMAIN, "page", f"/section-{index}/**")
    store.add(site.id, DOMAIN, "hostname", DOMAIN)


async def measure(args: argparse.Namespace, folder: Path) -> None:
    clycyo = Path(sys.executable).with_name("clycyo")
    made = subprocess.run(
        [clycyo, "site", "add", DOMAIN, "--json", "--data", folder],
        capture_output=True,
        check=True,
    )
    site = json.loads(made.stdout)
    if args.shields:
        add_shields(folder)
    os.environ["CLYCYO_RATE_LIMIT_SOURCE"] = "0"
    os.environ["CLYCYO_RATE_LIMIT_KEY"] = "0"
    runtime = Runtime.open(Settings.from_env(folder))
    best = {"floor": float("inf"), "single": float("inf"), "batch": float("inf")}
    try:
        if args.hold_writer:
            runtime.writer.stop()
        app = build_app(runtime)
        gc_tuning.tune()
        total = (args.rounds + args.warmup) * args.connections
        headers = dict(BROWSER_HEADERS)
        for run in range(args.runs):
            # New event ids each run: a repeated one would be answered as a duplicate.
            bodies = single_bodies(site["public_key"], f"s{run}", total)
            singles = [http_request(headers, body) for body in bodies]
            batches = batch_requests(site["secret_key"], f"b{run}", total // 10)
            figures = {
                "floor": await drive(
                    asgi_floor.app, singles, args.connections, args.warmup, b"204"
                ),
                "single": await drive(app, singles, args.connections, args.warmup, b"200"),
                "batch": await drive(app, batches, args.connections, args.warmup // 10, b"200"),
            }
            best = {name: min(best[name], figures[name]) for name in best}
        found, in_turn = await parts(runtime, site["public_key"], args.events)
    finally:
        runtime.close()
    floor, single, batch = best["floor"] * 1e6, best["single"] * 1e6, best["batch"] * 1e6
    writer = "held back" if args.hold_writer else "running"
    shields = "; the site's shields at their limit" if args.shields else ""
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.1f}; {args.connections} connections, {args.rounds} rounds, "
        f"lowest of {args.runs} runs; store writer {writer}{shields}\n"
    )
    print("| load | loop CPU µs per request | per event | vs empty app |")
    print("|---|---:|---:|---:|")
    print(f"| empty ASGI app, single event | {floor:.1f} | {floor:.1f} | 1 |")
    print(f"| collect, single event | {single:.1f} | {single:.1f} | {single / floor:.2f} |")
    print(
        f"| collect, batch of {BATCH_SIZE} | {batch:.1f} | {batch / BATCH_SIZE:.2f} "
        f"| {batch / floor:.1f} |"
    )
    print("\n| part of a single event, alone | CPU µs |")
    print("|---|---:|")
    for name, cost in found:
        print(f"| {name} | {cost:.2f} |")
    summed = sum(cost for _, cost in found)
    print(f"| **sum of the parts** | **{summed:.2f}** |")
    print(f"| the same parts, one event after another | {in_turn:.2f} |")
    print(
        f"\nA single event's request cost the loop {single:.1f} µs: its parts {summed:.1f} "
        f"(timed alone) or {in_turn:.1f} (in turn), the empty app's request {floor:.1f}, "
        f"the rest {single - in_turn - floor:.1f}."
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=300, help="counted rounds per load")
    parser.add_argument("--warmup", type=int, default=30, help="uncounted rounds first")
    parser.add_argument("--events", type=int, default=20_000, help="events for the parts")
    parser.add_argument("--runs", type=int, default=3, help="each load's lowest figure counts")
    parser.add_argument(
        "--hold-writer", action="store_true", help="stop the store writer during the loads"
    )
    parser.add_argument(
        "--shields", action="store_true", help="give the site its most shields (none matching)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clycyo-bench-loop-") as tmp:
        uvloop.run(measure(args, Path(tmp)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
