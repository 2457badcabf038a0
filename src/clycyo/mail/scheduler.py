"""The serving process's email: what is due each minute, sent on a thread of its own.

Each `tick` sends, for every site with recipients, the weekly and monthly reports that are due
(`periods.due`) to each recipient added before the report's sending time who has not had it
(the deliveries in the configuration store say who had: a restart sends nothing twice and
skips nothing), and checks the traffic-spike threshold against the Realtime count (at most once
a minute), notifying each spike recipient not notified in the last `SPIKE_COOL_DOWN` (12 hours,
as Plausible). What fails is logged and tried again: an address at the next tick, then after
twice as long at each failure in a row, up to an hour (`RETRY_FIRST`, `RETRY_MOST`), so an
address the server always refuses is tried some 170 times in a week rather than 10,000; a
report, a notice or a site that fails does not hold back the others. Nothing here raises into
the server. The clock is a parameter, so tests run a Monday morning whenever they run.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from clycyo.config.email_reports import EmailReportStore
from clycyo.config.store import Site
from clycyo.mail import periods
from clycyo.mail.sending import SPIKE, Mailer, Outcome
from clycyo.query import api

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]  # now, aware
TICK_S = 60.0
FIRST_TICK_S = 5.0  # soon after start: a server back on Monday morning sends at once
SPIKE_EVERY = dt.timedelta(minutes=1)
SPIKE_COOL_DOWN = dt.timedelta(hours=12)
RETRY_FIRST = dt.timedelta(minutes=1)
RETRY_MOST = dt.timedelta(hours=1)

# A site, a kind of message (`periods.KINDS` or `SPIKE`) and an address.
RetryKey = tuple[int, str, str]


@dataclass(frozen=True)
class Retry:
    failures: int  # in a row
    at: dt.datetime  # not tried again before


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def runtime_ask(runtime: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The query layer of a running server, as a report asks it."""
    return lambda body: api.run(runtime, body)


class Scheduler:
    def __init__(self, runtime: Any, mailer: Mailer, clock: Clock = utc_now) -> None:
        self.runtime = runtime
        self.mailer = mailer
        self.clock = clock
        self.store = EmailReportStore(runtime.config)
        self._spike_checked: dt.datetime | None = None
        self._retries: dict[RetryKey, Retry] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:
        """Send what is due now; each site's failure is logged and left for the next tick."""
        now = self.clock()
        check_spikes = self._spike_checked is None or now - self._spike_checked >= SPIKE_EVERY
        if check_spikes:
            self._spike_checked = now
        # An address not tried for longer than the longest pause is on no list any more, or its
        # message went: forget its failures.
        stale = now - 2 * RETRY_MOST
        self._retries = {k: r for k, r in self._retries.items() if r.at > stale}
        for site_id in self.store.site_ids():
            site = self.runtime.directory.by_id(site_id)
            if site is None:
                continue  # removed meanwhile
            for kind, send in self._sends(site, now, check_spikes):
                try:
                    send()
                except Exception:
                    log.exception(
                        "%s email for %s failed; tried again at the next tick", kind, site.domain
                    )

    def _sends(
        self, site: Site, now: dt.datetime, check_spikes: bool
    ) -> Iterator[tuple[str, Callable[[], None]]]:
        """Each message kind's sending for `site`, each failing on its own."""
        for kind in periods.KINDS:
            yield kind, partial(self._report, site, kind, now)
        if check_spikes:
            yield SPIKE, partial(self._spike, site, now)

    def _ready(self, site: Site, kind: str, addresses: list[str], now: dt.datetime) -> list[str]:
        """The addresses not waiting for their next try after a failure."""
        return [
            a
            for a in addresses
            if (found := self._retries.get((site.id, kind, a))) is None or found.at <= now
        ]

    def _note(self, site: Site, kind: str, outcome: Outcome, now: dt.datetime) -> None:
        """Forget the failures of the addresses that got their message; put off the others."""
        for address in outcome.sent:
            self._retries.pop((site.id, kind, address), None)
        for address in outcome.failed:
            key = (site.id, kind, address)
            before = self._retries.get(key)
            failures = 1 if before is None else before.failures + 1
            pause = min(RETRY_FIRST * 2 ** min(failures - 1, 16), RETRY_MOST)
            self._retries[key] = Retry(failures, now + pause)

    def _report(self, site: Site, kind: periods.Kind, now: dt.datetime) -> None:
        recipients = self.store.list(site.id, periods.LISTS[kind])
        if not recipients:
            return
        period = periods.due(kind, now, site.timezone)
        due_at = period.sending_time(site.timezone).timestamp()
        had = self.store.delivered(site.id, kind, period.key)
        pending = [r.address for r in recipients if r.created_at <= due_at and r.address not in had]
        pending = self._ready(site, kind, pending, now)
        if not pending:
            return
        report = self.mailer.report(runtime_ask(self.runtime), site, period)
        outcome = self.mailer.send_report(report, site, pending, now=now)
        self._note(site, kind, outcome, now)
        if outcome.sent:
            log.info(
                "%s report of %s for %s sent to %d addresses",
                kind,
                site.domain,
                period.key,
                len(outcome.sent),
            )

    def _spike(self, site: Site, now: dt.datetime) -> None:
        recipients = self.store.list(site.id, "spike")
        threshold = self.store.threshold(site.id)
        if not recipients or threshold is None:
            return
        last = self.store.last_sent(site.id, SPIKE)
        quiet_since = (now - SPIKE_COOL_DOWN).timestamp()
        pending = [r.address for r in recipients if last.get(r.address, 0.0) <= quiet_since]
        pending = self._ready(site, SPIKE, pending, now)
        if not pending:
            return
        realtime = api.now_on_site(self.runtime, site)
        if int(realtime["visitors"]) < threshold:
            return
        outcome = self.mailer.send_spike(site, realtime, threshold, pending, now=now)
        self._note(site, SPIKE, outcome, now)
        if outcome.sent:
            log.info(
                "traffic spike on %s (%d current visitors): %d addresses notified",
                site.domain,
                realtime["visitors"],
                len(outcome.sent),
            )

    # The thread of a serving process

    def start(self, interval_s: float = TICK_S, first_s: float = FIRST_TICK_S) -> None:
        def run() -> None:
            wait = first_s
            while not self._stop.wait(wait):
                wait = interval_s
                try:
                    self.tick()
                except Exception:
                    log.exception("email tick failed")

        self._thread = threading.Thread(target=run, name="email", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 40.0) -> None:
        """Stop ticking; a tick under way (an SMTP exchange) may finish first."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)


def start_for(runtime: Any) -> Scheduler | None:
    """The serving process's scheduler, ticking until the runtime closes; None (and nothing
    sent) when no SMTP server is set."""
    smtp = runtime.settings.smtp
    if smtp is None:
        log.info("email reports and spike notices off: no SMTP server (CLYCYO_SMTP_URL)")
        return None
    scheduler = Scheduler(runtime, Mailer(smtp, runtime.config, runtime.settings.public_url))
    scheduler.start()
    runtime.before_close.insert(0, scheduler.stop)
    return scheduler
