"""Sending a report or a traffic-spike notice to addresses, one message each, and remembering
each that went (`config/email_reports.py`), so what failed is tried again and nothing twice.

The scheduler, the Settings page's test button and `clycyo report send` all send through here.
A failure is returned (and logged), never raised past the caller's loop: one address the
server refuses does not keep the others' messages back. Nothing here decides what is due.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from clycyo.config.email_reports import EmailReportStore
from clycyo.config.store import ConfigStore, Site
from clycyo.mail import render
from clycyo.mail.periods import ReportPeriod
from clycyo.mail.report import Ask, Report, gather
from clycyo.mail.smtp import MailError, SmtpSettings, connect

log = logging.getLogger(__name__)
SPIKE = "spike"  # the kind spike notices are remembered by


@dataclass
class Outcome:
    sent: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # address: why


@dataclass(frozen=True)
class Mailer:
    """What a sender needs: the SMTP server, the configuration store (to remember what went)
    and the server's public address (for links; None: none is set)."""

    smtp: SmtpSettings
    config: ConfigStore
    public_url: str | None

    def report(self, ask: Ask, site: Site, period: ReportPeriod) -> Report:
        url = render.dashboard_url(self.public_url, site.domain, period)
        return gather(ask, site.domain, period, url)

    def send_report(
        self,
        report: Report,
        site: Site,
        addresses: Sequence[str],
        *,
        now: dt.datetime,
        remember: bool = True,
    ) -> Outcome:
        """Send `report` to each address; with `remember`, note each that went under the
        period's key (a test report is not remembered: the scheduled one still goes)."""

        def message(address: str) -> Any:
            return render.report_message(report, sender=self.smtp.sender, to=address, now=now)

        kind = report.period.kind if remember else None
        return self._send(site, addresses, message, kind=kind, period=report.period.key, now=now)

    def send_spike(
        self,
        site: Site,
        realtime: dict[str, Any],
        threshold: int,
        addresses: Sequence[str],
        *,
        now: dt.datetime,
    ) -> Outcome:
        url = render.dashboard_url(self.public_url, site.domain, None)

        def message(address: str) -> Any:
            return render.spike_message(
                site.domain,
                realtime,
                threshold,
                url=url,
                sender=self.smtp.sender,
                to=address,
                now=now,
            )

        period = now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%MZ")
        return self._send(site, addresses, message, kind=SPIKE, period=period, now=now)

    def _send(
        self,
        site: Site,
        addresses: Sequence[str],
        message: Any,
        *,
        kind: str | None,
        period: str,
        now: dt.datetime,
    ) -> Outcome:
        outcome = Outcome()
        store = EmailReportStore(self.config)
        waiting = list(addresses)
        try:
            # A session the server ended on one address (a 421) is opened again for the next,
            # so an address that always ends it cannot keep the later ones from their message.
            while waiting:
                with connect(self.smtp) as connection:
                    while waiting:
                        address = waiting.pop(0)
                        try:
                            connection.send(message(address))
                        except MailError as exc:
                            outcome.failed[address] = str(exc)
                            if connection.closed:
                                break
                            continue
                        outcome.sent.append(address)
                        if kind is not None:
                            store.record(site.id, kind, period, address, now.timestamp())
        except MailError as exc:
            for address in addresses:
                if address not in outcome.sent:
                    outcome.failed.setdefault(address, str(exc))
        for address, why in outcome.failed.items():
            log.warning(
                "email to %s for %s (%s %s) not sent: %s", address, site.domain, kind, period, why
            )
        return outcome
