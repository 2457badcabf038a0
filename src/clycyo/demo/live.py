"""The demo's live traffic: a few visitors a minute, sent through `POST /api/collect` as they act.

While `clycyo serve --demo` runs, the demo world goes on past its history (`World.live_visits`:
the same sources, countries, devices, pages, engagement, web vitals, signups and payments) and
each event is sent when its time comes, with that time as its timestamp, so the Realtime page and
today's numbers move. Events that come due together go in one request; between them the thread
sleeps until the next is due. It sends with the site's secret key, as the history is sent; it
must not run while the history is still being sent, and it stops (dropping what is not yet due)
when told to, without waiting for anything.

A busy or unreachable server only delays the traffic: an answer worth waiting out (`408`, `429`,
a `5xx`) is waited out as its `Retry-After` says, a connection that fails is tried again after a
growing pause, and the same events (the same event ids, so the store keeps each once) are sent
again with those that came due meanwhile. Only a refusal that would be given again (another
`4xx`: a revoked key, say) ends the traffic before the server stops, with one line saying why.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
import urllib.error
from collections.abc import Callable, Iterator

from clycyo.demo.send import BATCH_EVENTS, answer_reason, post_batch, retry_after_s
from clycyo.demo.world import World

log = logging.getLogger(__name__)

DEFAULT_VISITORS_PER_MINUTE = 0.5
MAX_VISITORS_PER_MINUTE = 600.0
# Events due within this much of each other are sent together.
GATHER_S = 1.0
# Pauses after failed sends: doubling from the first, up to the last; a `Retry-After` is
# honoured up to MAX_WAIT_S (`send.retry_after_s`).
FIRST_PAUSE_S = 1.0
MAX_PAUSE_S = 60.0
# Events kept while the server cannot take them; beyond this the oldest are dropped. About 20
# minutes of the busiest rate (600 visits a minute, some 8 events each), weeks of the default.
MAX_WAITING_EVENTS = 100_000

Event = dict[str, object]


def parse_rate(text: str) -> float:
    """`--demo-live`'s value: visitors a minute, `on` for the default, `off` (or 0) for none."""
    word = text.strip().lower()
    if word == "on":
        return DEFAULT_VISITORS_PER_MINUTE
    if word in ("off", "0"):
        return 0.0
    try:
        rate = float(word)
    except ValueError:
        rate = -1.0
    if not 0 <= rate <= MAX_VISITORS_PER_MINUTE:
        raise ValueError(
            f"--demo-live (CLYCYO_DEMO_LIVE) {text!r}: visitors a minute,"
            f" 0 to {MAX_VISITORS_PER_MINUTE:g}, or on or off"
        )
    return rate


class Schedule:
    """The live world's events in time order, taken as they come due (no thread, no clock)."""

    def __init__(self, visits: Iterator[list[Event]]) -> None:
        self._visits = visits
        self._next_visit = next(visits)
        self._waiting: list[tuple[int, int, Event]] = []
        self._order = itertools.count()

    def _starts_at(self, visit: list[Event]) -> int:
        return min(int(str(e["timestamp"])) for e in visit)

    def due(self, now_ms: int) -> list[Event]:
        """Every event whose time is `now_ms` or earlier, oldest first."""
        while self._starts_at(self._next_visit) <= now_ms:
            for event in self._next_visit:
                stamp = int(str(event["timestamp"]))
                heapq.heappush(self._waiting, (stamp, next(self._order), event))
            self._next_visit = next(self._visits)
        taken = []
        while self._waiting and self._waiting[0][0] <= now_ms:
            taken.append(heapq.heappop(self._waiting)[2])
        return taken

    def next_ms(self) -> int:
        """When the next event is due."""
        upcoming = self._starts_at(self._next_visit)
        return min(upcoming, self._waiting[0][0]) if self._waiting else upcoming


def live_schedule(domain: str, *, visitors_per_minute: float, seed: int, start_ms: int) -> Schedule:
    """The live traffic from `start_ms` on. The same seed and start make the same events; the
    start is part of the randomness, so another start (a restart) makes other visitors, event
    ids and customers' ids, none the store would take for one it has."""
    world = World(
        domain,
        days=0,
        visitors_per_day=0,
        seed=seed * 10**13 + start_ms,
        end_ms=start_ms,
        users_before=start_ms // 1000,
    )
    return Schedule(world.live_visits(start_ms, visitors_per_minute))


def worth_retrying(status: int) -> bool:
    """Whether an answer may change if the same request is sent later: the server was busy
    (`429`, `503`), timed the request out (`408`) or failed (`5xx`)."""
    return status in (408, 429) or status >= 500


class LiveTraffic:
    """A daemon thread that sends a `Schedule` to a server in real time until `stop`."""

    def __init__(
        self,
        url: str,
        secret_key: str,
        schedule: Schedule,
        *,
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.url = url
        self.secret_key = secret_key
        self.schedule = schedule
        self.clock_ms = clock_ms
        self.sent = 0  # events the server accepted
        self.put_off = 0  # sends that failed and were tried again later
        self.dropped = 0  # events dropped, the server having been unreachable too long
        self._waiting: list[Event] = []  # due, not yet taken by the server, oldest first
        self._failures = 0  # failed sends in a row
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-live", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop; it does at once, or after the request it is sending. Safe to
        call from a signal handler: it waits for nothing."""
        self._stopping.set()

    @property
    def running(self) -> bool:
        """Whether the thread still sends (it ends on `stop` or a refusal for good)."""
        return self._thread.is_alive()

    def join(self, timeout_s: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._keep(self.schedule.due(self.clock_ms()))
            pause_s = self._send_waiting() if self._waiting else 0.0
            if pause_s is None:
                return
            if not pause_s:
                pause_s = max(GATHER_S, (self.schedule.next_ms() - self.clock_ms()) / 1000)
            self._stopping.wait(pause_s)

    def _keep(self, events: list[Event]) -> None:
        self._waiting += events
        extra = len(self._waiting) - MAX_WAITING_EVENTS
        if extra > 0:
            del self._waiting[:extra]
            self.dropped += extra

    def _send_waiting(self) -> float | None:
        """Send the events waiting, a batch at a time: 0 when all are sent, the seconds to wait
        before sending the rest again, or None when the traffic must stop (the server is
        going, or refuses them for good)."""
        while self._waiting:
            batch = self._waiting[:BATCH_EVENTS]
            try:
                result = post_batch(self.url, self.secret_key, batch, attempts=1)
            except urllib.error.HTTPError as exc:
                if self._stopping.is_set():
                    return None
                answer = f"{self.url} answered {exc.code} ({answer_reason(exc)})"
                if not worth_retrying(exc.code):
                    log.warning("demo live traffic stopped: %s", answer)
                    return None
                return self._put_off(answer, retry_after_s(exc.headers.get("Retry-After")))
            except (urllib.error.URLError, OSError) as exc:
                if self._stopping.is_set():
                    return None  # the server stopped listening as it shut down
                reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
                return self._put_off(f"no answer from {self.url} ({reason})", None)
            del self._waiting[: len(batch)]
            self.sent += int(result["accepted"])  # type: ignore[call-overload]
            if self._failures:
                log.info("demo live traffic resumed after %d failed sends", self._failures)
                self._failures = 0
        return 0.0

    def _put_off(self, reason: str, wait_s: float | None) -> float:
        """Count a failed send and tell how long to wait: the server's word, else a pause that
        doubles with each failure in a row. Says so once per run of failures."""
        self.put_off += 1
        pause_s = min(MAX_PAUSE_S, FIRST_PAUSE_S * 2 ** min(self._failures, 16))
        self._failures += 1
        if wait_s is None:
            wait_s = pause_s
        if self._failures == 1:
            log.warning("demo live traffic waits: %s; sending again in %g s", reason, wait_s)
        return max(wait_s, 0.1)
