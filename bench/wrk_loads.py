"""What the ingest benchmark's load generator sends: wrk's Lua scripts for a browser's single
`sendBeacon` pageview (one fixed body, or an `event_id` per request) and for batches of server
events, and one wrk run read back as numbers."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WRK = shutil.which("wrk") or "/usr/bin/wrk"

DOMAIN = "bench.example.com"
CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
BATCH_SIZE = 100
PAGE_URL = f"https://{DOMAIN}/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=spring"

# Headers a browser sends with `navigator.sendBeacon` from a page of the site.
BROWSER_HEADERS = {
    "Content-Type": "text/plain;charset=UTF-8",
    "Origin": f"https://{DOMAIN}",
    "Referer": PAGE_URL,
    "User-Agent": CHROME_UA,
    "Accept": "*/*",
    "Accept-Language": "en-GB,en;q=0.9",
    "Accept-Encoding": "gzip, deflate, br, zstd",
    "Sec-Fetch-Site": "same-site",
    "Sec-Fetch-Mode": "no-cors",
    "Sec-Fetch-Dest": "empty",
}


# Prints the summary as one JSON line; `done` runs once, after every thread stopped.
LUA_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d,' ..
    '"mean_us":%.1f,"max_us":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max))
end
"""

# Gives each wrk thread a number, so ids made in different threads never meet.
LUA_THREADS = """
local threads_made = 0
setup = function(thread)
  threads_made = threads_made + 1
  thread:set("thread_number", threads_made)
end
"""


def lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal here


def lua_headers(headers: dict[str, str]) -> str:
    return "\n".join(f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items())


def single_event(public_key: str, event_id: str | None, timestamp_ms: int) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "pageview",
        "url": PAGE_URL,
        "referrer": "https://www.google.com/",
        "title": "Pricing - Bench",
        "visitor_id": "v_8f14e45fceea167a",
        "session_id": "s_c9f0f895fb98ab91",
        "timestamp": timestamp_ms,
        "sent_at": timestamp_ms,
        "key": public_key,
    }
    if event_id is not None:
        event = {"event_id": event_id, **event}
    return event


def static_lua(headers: dict[str, str], body: bytes) -> str:
    return "\n".join(
        [
            'wrk.method = "POST"',
            f"wrk.body = {lua_string(body.decode())}",
            lua_headers(headers),
            LUA_DONE,
        ]
    )


def unique_single_lua(public_key: str, run_tag: str, timestamp_ms: int) -> str:
    """Single events whose `event_id` (and visitor) differ on every request."""
    marker = "EVENT_ID_MARKER"
    body = json.dumps(single_event(public_key, marker, timestamp_ms), separators=(",", ":"))
    before, after = body.split(marker)
    return "\n".join(
        [
            'wrk.method = "POST"',
            lua_headers(BROWSER_HEADERS),
            LUA_THREADS,
            f"local before = {lua_string(before)}",
            f"local after = {lua_string(after)}",
            "local counter = 0",
            "request = function()",
            "  counter = counter + 1",
            f'  local id = "{run_tag}-" .. thread_number .. "-" .. counter',
            "  return wrk.format(nil, nil, nil, before .. id .. after)",
            "end",
            LUA_DONE,
        ]
    )


def batch_events(run_tag: str | None, request_marker: str) -> list[dict[str, Any]]:
    """Server events as a backend sends them, forwarding its end users' context."""
    events = []
    for index in range(BATCH_SIZE):
        event: dict[str, Any] = {
            "type": "event",
            "name": ("api.request", "invoice.created", "search", "export")[index % 4],
            "user_id": f"user_{index % 37}",
            "props": {"plan": ("free", "pro", "team")[index % 3], "items": index % 7},
            "context": {
                "ip": f"81.2.69.{index + 1}",
                "user_agent": CHROME_UA,
                "locale": "en-GB",
            },
        }
        if run_tag is not None:
            event = {"event_id": f"{run_tag}-{request_marker}-{index}", **event}
        events.append(event)
    return events


def batch_lua(secret_key: str, run_tag: str) -> str:
    """Batches of 100 events; every request carries new `event_id`s."""
    marker = "REQUEST_MARKER"
    body = json.dumps({"batch": batch_events(run_tag, marker)}, separators=(",", ":"))
    pieces = body.split(marker)
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {secret_key}",
        "User-Agent": "clycyo-python/0.1",
    }
    return "\n".join(
        [
            'wrk.method = "POST"',
            lua_headers(headers),
            LUA_THREADS,
            "local pieces = {" + ", ".join(lua_string(p) for p in pieces) + "}",
            "local parts = {}",
            "local counter = 0",
            "request = function()",
            "  counter = counter + 1",
            '  local tag = thread_number .. "." .. counter',
            "  for i = 1, #pieces - 1 do",
            "    parts[2 * i - 1] = pieces[i]",
            "    parts[2 * i] = tag",
            "  end",
            "  parts[2 * #pieces - 1] = pieces[#pieces]",
            "  return wrk.format(nil, nil, nil, table.concat(parts))",
            "end",
            LUA_DONE,
        ]
    )


@dataclass
class WrkRun:
    requests: int
    duration_s: float
    errors: int
    non_2xx: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.duration_s

    @property
    def answered(self) -> int:
        """Responses with a 2xx or 3xx status."""
        return self.requests - self.non_2xx


def run_wrk(url: str, lua: Path, args: argparse.Namespace, duration_s: float) -> WrkRun:
    command = [
        WRK,
        f"-t{args.wrk_threads}",
        f"-c{args.connections}",
        f"-d{round(duration_s)}s",
        "--timeout",
        "10s",
        "-s",
        str(lua),
        url,
    ]
    completed = subprocess.run(command, capture_output=True, text=True, check=True)
    line = next(
        (x for x in completed.stdout.splitlines() if x.startswith("WRK_RESULT ")),
        None,
    )
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{completed.stdout}\n{completed.stderr}")
    raw = json.loads(line.removeprefix("WRK_RESULT "))
    socket_errors = (
        raw["connect_errors"] + raw["read_errors"] + raw["write_errors"] + raw["timeouts"]
    )
    return WrkRun(
        requests=raw["requests"],
        duration_s=raw["duration_us"] / 1e6,
        errors=socket_errors,
        non_2xx=raw["status_errors"],
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        mean_ms=raw["mean_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
    )
