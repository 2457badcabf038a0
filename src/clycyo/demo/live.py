"""The demo's live traffic: a few visitors a minute, sent through `POST /api/collect` as they act.

While `clycyo serve --demo` runs, the demo world goes on past its history (`World.live_visits`:
the same sources, countries, devices, pages, engagement, web vitals, signups and payments) and
each event is sent when its time comes, with that time as its timestamp, so the Realtime page and
today's numbers move. Events that come due together go in one request; between them the thread
sleeps until the next is due. It sends with the site's secret key, as the history is sent; it
must not run while the history is still being sent, and it stops (dropping what is not yet due)
when told to, without waiting for anything.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
import urllib.error
from collections.abc import Callable, Iterator

from clycyo.demo.send import post_batch
from clycyo.demo.world import World

log = logging.getLogger(__name__)

DEFAULT_VISITORS_PER_MINUTE = 0.5
MAX_VISITORS_PER_MINUTE = 600.0
# Events due within this much of each other are sent together.
GATHER_S = 1.0

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
        self.sent = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-live", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop; it does at once, or after the request it is sending. Safe to
        call from a signal handler: it waits for nothing."""
        self._stopping.set()

    def join(self, timeout_s: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stopping.is_set():
            now_ms = self.clock_ms()
            due = self.schedule.due(now_ms)
            if due and not self._send(due):
                return
            wait_s = (self.schedule.next_ms() - self.clock_ms()) / 1000
            self._stopping.wait(max(GATHER_S, wait_s))

    def _send(self, events: list[Event]) -> bool:
        """Send events; False when the traffic must stop (the server is going, or refuses)."""
        try:
            result = post_batch(self.url, self.secret_key, events)
        except (urllib.error.URLError, OSError) as exc:
            if self._stopping.is_set():
                return False  # the server stopped listening as it shut down
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            log.warning("demo live traffic stopped: %s answered %s", self.url, reason)
            return False
        self.sent += int(result["accepted"])  # type: ignore[call-overload]
        return True
