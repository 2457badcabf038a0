"""The serving process's email: what is due each minute, sent on a thread of its own.

Each `tick` sends, for every site with recipients, the weekly and monthly reports that are due
(`periods.due`) to each recipient added before the report's sending time who has not had it
(the deliveries in the configuration store say who had: a restart sends nothing twice and
skips nothing), and checks the traffic-spike threshold against the Realtime count (at most once
a minute), notifying each spike recipient not notified in the last `SPIKE_COOL_DOWN` (12 hours,
as Plausible). What fails is logged and tried again at the next tick; nothing here raises into
the server. The clock is a parameter, so tests run a Monday morning whenever they run.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Any

from clycyo.config.email_reports import EmailReportStore
from clycyo.config.store import Site
from clycyo.mail import periods
from clycyo.mail.sending import SPIKE, Mailer
from clycyo.query import api

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]  # now, aware
TICK_S = 60.0
FIRST_TICK_S = 5.0  # soon after start: a server back on Monday morning sends at once
SPIKE_EVERY = dt.timedelta(minutes=1)
SPIKE_COOL_DOWN = dt.timedelta(hours=12)


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
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:
        """Send what is due now; each site's failure is logged and left for the next tick."""
        now = self.clock()
        check_spikes = self._spike_checked is None or now - self._spike_checked >= SPIKE_EVERY
        if check_spikes:
            self._spike_checked = now
        for site_id in self.store.site_ids():
            site = self.runtime.directory.by_id(site_id)
            if site is None:
                continue  # removed meanwhile
            try:
                for kind in periods.KINDS:
                    self._report(site, kind, now)
                if check_spikes:
                    self._spike(site, now)
            except Exception:
                log.exception("email for %s failed; tried again at the next tick", site.domain)

    def _report(self, site: Site, kind: periods.Kind, now: dt.datetime) -> None:
        recipients = self.store.list(site.id, periods.LISTS[kind])
        if not recipients:
            return
        period = periods.due(kind, now, site.timezone)
        due_at = period.sending_time(site.timezone).timestamp()
        had = self.store.delivered(site.id, kind, period.key)
        pending = [r.address for r in recipients if r.created_at <= due_at and r.address not in had]
        if not pending:
            return
        report = self.mailer.report(runtime_ask(self.runtime), site, period)
        outcome = self.mailer.send_report(report, site, pending, now=now)
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
        if not pending:
            return
        realtime = api.now_on_site(self.runtime, site)
        if int(realtime["visitors"]) < threshold:
            return
        outcome = self.mailer.send_spike(site, realtime, threshold, pending, now=now)
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
