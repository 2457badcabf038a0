"""Send a generated world to a running Clycyo through `POST /api/collect`, the real path.

Browser-shaped events are sent with the secret key and `"origin": "browser"`, which is how a
backend imports history: only the secret key may place events more than 24 hours back and
forward the end user's IP address and user agent.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator

from tqdm import tqdm

from clycyo.demo.world import World

BATCH_EVENTS = 500


def _batches(events: Iterable[dict[str, object]], size: int) -> Iterator[list[dict[str, object]]]:
    batch: list[dict[str, object]] = []
    for event in events:
        batch.append(event)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def post_batch(url: str, secret_key: str, batch: list[dict[str, object]]) -> dict[str, object]:
    body = json.dumps({"batch": batch, "sent_at": int(time.time() * 1000)}).encode()
    request = urllib.request.Request(
        url.rstrip("/") + "/api/collect",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {secret_key}"},
    )
    for attempt in range(8):
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                result: dict[str, object] = json.loads(response.read())
                return result
        except urllib.error.HTTPError as exc:
            if exc.code not in (429, 503) or attempt == 7:
                raise
            time.sleep(float(exc.headers.get("Retry-After", "1")))
    raise RuntimeError("unreachable")


def send_world(
    url: str,
    domain: str,
    secret_key: str,
    *,
    days: int = 30,
    visitors_per_day: int = 400,
    seed: int = 7,
    progress: bool = True,
) -> tuple[int, int]:
    """Send the world; returns (accepted, rejected)."""
    world = World(
        domain,
        days=days,
        visitors_per_day=visitors_per_day,
        seed=seed,
        end_ms=int(time.time() * 1000),
    )
    # Time order across visitors, as live traffic would arrive.
    events = sorted(world.events(), key=lambda e: int(e["timestamp"]))  # type: ignore[call-overload]
    accepted = rejected = 0
    with tqdm(
        total=len(events), unit="ev", desc="demo data", disable=not progress, file=sys.stderr
    ) as bar:
        for batch in _batches(events, BATCH_EVENTS):
            result = post_batch(url, secret_key, batch)
            accepted += int(result["accepted"])  # type: ignore[call-overload]
            rejected += len(result["rejected"])  # type: ignore[arg-type]
            bar.update(len(batch))
    return accepted, rejected


def run(args: argparse.Namespace) -> int:
    accepted, rejected = send_world(
        args.url,
        args.site,
        args.secret_key,
        days=args.days,
        visitors_per_day=args.visitors_per_day,
        seed=args.seed,
    )
    print(f"sent a {args.days}-day world to {args.site}: {accepted} accepted, {rejected} rejected")
    return 0 if rejected == 0 else 1
