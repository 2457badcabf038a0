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
from concurrent.futures import Future, ThreadPoolExecutor
from email.utils import parsedate_to_datetime
from pathlib import Path

from tqdm import tqdm

from clycyo.config.store import ConfigStore
from clycyo.demo.world import DEFAULT_DAYS, DEFAULT_VISITORS_PER_DAY, World
from clycyo.settings import config_path

BATCH_EVENTS = 500
MAX_WAIT_S = 600.0  # the longest `Retry-After` honoured


def _batches(events: Iterable[dict[str, object]], size: int) -> Iterator[list[dict[str, object]]]:
    batch: list[dict[str, object]] = []
    for event in events:
        batch.append(event)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _body(batch: list[dict[str, object]]) -> bytes:
    return json.dumps({"batch": batch, "sent_at": int(time.time() * 1000)}).encode()


def post_batch(
    url: str, secret_key: str, batch: list[dict[str, object]], *, attempts: int = 8
) -> dict[str, object]:
    """Send one batch; a `429` or `503` is waited out (its `Retry-After`) up to `attempts`
    sends in all. Raises `urllib.error.HTTPError` for a refusal, `URLError` or `OSError` when
    no answer came."""
    return _post(url, secret_key, _body(batch), attempts)


def retry_after_s(value: str | None) -> float | None:
    """A `Retry-After` header's wait in seconds (delay-seconds or an HTTP date), within
    0 to MAX_WAIT_S; None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return min(float(text), MAX_WAIT_S)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return min(max(moment.timestamp() - time.time(), 0.0), MAX_WAIT_S)


def _post(url: str, secret_key: str, body: bytes, attempts: int = 8) -> dict[str, object]:
    request = urllib.request.Request(
        url.rstrip("/") + "/api/collect",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {secret_key}"},
    )
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                result: dict[str, object] = json.loads(response.read())
                return result
        except urllib.error.HTTPError as exc:
            if exc.code not in (429, 503) or attempt == attempts - 1:
                raise
            wait_s = retry_after_s(exc.headers.get("Retry-After"))
            time.sleep(1.0 if wait_s is None else wait_s)
    raise RuntimeError("unreachable")


def send_world(
    url: str,
    domain: str,
    secret_key: str,
    *,
    days: int = DEFAULT_DAYS,
    visitors_per_day: int = DEFAULT_VISITORS_PER_DAY,
    seed: int = 7,
    progress: bool = True,
) -> tuple[int, int]:
    """Send the world; returns (accepted, rejected). `progress` shows a bar, on a terminal only
    (in a log or a pipe it would be a line per update). Raises `urllib.error.URLError` (and
    `HTTPError`) when the server cannot be reached or refuses a batch."""
    world = World(
        domain,
        days=days,
        visitors_per_day=visitors_per_day,
        seed=seed,
        end_ms=int(time.time() * 1000),
    )
    # Time order across visitors, as live traffic would arrive.
    events = sorted(world.events(), key=lambda e: int(e["timestamp"]))  # type: ignore[call-overload]
    totals = [0, 0]  # accepted, rejected
    # One request at a time keeps the time order; the next batch is encoded while the server
    # takes the one before.
    with (
        tqdm(
            total=len(events),
            unit="ev",
            desc="demo data",
            disable=not (progress and sys.stderr.isatty()),
            file=sys.stderr,
        ) as bar,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-send") as sender,
    ):

        def collect(sent: tuple[Future[dict[str, object]], int]) -> None:
            result = sent[0].result()
            totals[0] += int(result["accepted"])  # type: ignore[call-overload]
            totals[1] += len(result["rejected"])  # type: ignore[arg-type]
            bar.update(sent[1])

        pending: tuple[Future[dict[str, object]], int] | None = None
        for batch in _batches(events, BATCH_EVENTS):
            body = _body(batch)
            if pending is not None:
                collect(pending)
            pending = (sender.submit(_post, url, secret_key, body), len(batch))
        if pending is not None:
            collect(pending)
    return totals[0], totals[1]


def _reachable(url: str) -> None:
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/healthz", timeout=10):
            pass
    except urllib.error.HTTPError:
        pass  # it answers; whether it takes the events, the first batch tells


def answer_reason(error: urllib.error.HTTPError) -> str:
    """The server's `error` of a refusal, or its text."""
    raw = error.read()
    try:
        return str(json.loads(raw)["error"])
    except (ValueError, KeyError, TypeError):
        return raw.decode("utf-8", "replace").strip() or str(error.reason)


def run(args: argparse.Namespace, data_dir: Path) -> int:
    from clycyo.demo.setup import CHECKOUT_FUNNEL, ensure_checkout_funnel

    try:
        _reachable(args.url)  # before the world is made, which takes seconds
        accepted, rejected = send_world(
            args.url,
            args.site,
            args.secret_key,
            days=args.days,
            visitors_per_day=args.visitors_per_day,
            seed=args.seed,
        )
    except urllib.error.HTTPError as exc:
        print(f"clycyo: {exc.url} answered {exc.code}: {answer_reason(exc)}", file=sys.stderr)
        return 1
    except urllib.error.URLError as exc:
        print(f"clycyo: cannot reach {args.url}: {exc.reason}", file=sys.stderr)
        return 1
    except (TimeoutError, ConnectionError) as exc:
        print(f"clycyo: no answer from {args.url}: {exc}", file=sys.stderr)
        return 1
    print(f"sent a {args.days}-day world to {args.site}: {accepted} accepted, {rejected} rejected")
    # The site's funnels live in its data folder's configuration, when this machine holds it.
    if config_path(data_dir).exists() and ensure_checkout_funnel(
        ConfigStore(config_path(data_dir)), args.site
    ):
        print(f"saved the funnel {CHECKOUT_FUNNEL!r} (/pricing, /checkout, payment) in {data_dir}")
    return 0 if rejected == 0 else 1
