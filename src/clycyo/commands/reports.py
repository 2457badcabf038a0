"""`clycyo report send`: send a site's weekly or monthly email report now.

The report is the latest whole week's or month's in the site's time zone, as the server's
scheduler sends it on Monday or the 1st. Its numbers come from the query layer: through the
running server's admin query when one runs on the data folder, else from the folder opened
here. It goes through the SMTP server the environment sets (`CLYCYO_SMTP_URL`, as for `serve`).
Without `--to` it goes to the site's list for the period, and each delivery is remembered, so
the server does not send the same report again (and a cron job run twice sends once); with
`--to` it goes to those addresses only and is not remembered, for trying the setup.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from clycyo import local_server
from clycyo.commands.handlers import fail
from clycyo.commands.query import ADMIN_QUERY_PATH, open_folder
from clycyo.commands.site_lists import site_named
from clycyo.config.email_reports import EmailReportStore, RecipientError, check_address
from clycyo.config.store import ConfigError, ConfigStore
from clycyo.mail import periods
from clycyo.mail.smtp import WHAT_TO_SET, smtp_from_env
from clycyo.settings import check_public_url

Ask = Callable[[dict[str, Any]], dict[str, Any]]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--site", required=True, help="the site's domain")
    parser.add_argument(
        "--period", required=True, choices=periods.KINDS, help="last week's or last month's"
    )
    parser.add_argument(
        "--to",
        action="append",
        metavar="ADDRESS",
        help="send to this address only, not remembered (repeat; default: the site's list)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")


class _Refused(Exception):
    pass


@contextmanager
def _asking(data_dir: Path) -> Iterator[Ask]:
    """The query layer: the running server's admin query, or the folder opened here."""
    running = local_server.find(data_dir)
    if running is not None:

        def remote(body: dict[str, Any]) -> dict[str, Any]:
            url = running.url + ADMIN_QUERY_PATH
            status, answer = local_server.call_json("POST", url, running.admin_token, body, 120)
            if status != 200:
                raise _Refused(answer.get("error", answer) if isinstance(answer, dict) else answer)
            return dict(answer)

        yield remote
        return
    from clycyo.query import api

    runtime = open_folder(data_dir)
    try:
        yield lambda body: api.run(runtime, body)
    finally:
        runtime.close()


def run_send(args: argparse.Namespace, config: ConfigStore, data_dir: Path) -> int:
    from clycyo.mail.sending import Mailer

    try:
        smtp = smtp_from_env()
        public_url = check_public_url(os.environ.get("CLYCYO_PUBLIC_URL", ""))
    except ValueError as exc:
        return fail(exc, 2)
    if smtp is None:
        return fail(f"no SMTP server: {WHAT_TO_SET.removesuffix(', then restart it')}", 2)
    try:
        site = site_named(config, args.site)
        chosen = [check_address(address) for address in args.to or []]
    except (ConfigError, RecipientError) as exc:
        return fail(exc)
    now = dt.datetime.now(dt.UTC)
    period = periods.latest_complete(args.period, now, site.timezone)
    what = f"{periods.LISTS[period.kind]} report of {site.domain} for {period.title}"
    addresses = chosen
    if not chosen:
        store = EmailReportStore(config)
        listed = [r.address for r in store.list(site.id, periods.LISTS[period.kind])]
        if not listed:
            return fail(
                f"{site.domain} has no {periods.LISTS[period.kind]} report addresses: add some"
                " on the Settings page or with `clycyo report recipient add`, or pass --to"
            )
        had = store.delivered(site.id, period.kind, period.key)
        addresses = [address for address in listed if address not in had]
    mailer = Mailer(smtp, config, public_url)
    sent: list[str] = []
    failed: dict[str, str] = {}
    if addresses:
        try:
            with _asking(data_dir) as ask:
                report = mailer.report(ask, site, period)
        except (ValueError, _Refused) as exc:
            return fail(exc)
        outcome = mailer.send_report(report, site, addresses, now=now, remember=not chosen)
        sent, failed = outcome.sent, outcome.failed
    if args.json:
        answer = {"site": site.domain, "period": period.date_range(), "sent": sent}
        print(json.dumps({**answer, "failed": failed}))
    elif addresses:
        print(f"{what}: sent to {', '.join(sent) or 'nobody'}")
    else:
        print(f"{what}: every address on the list had it already")
    for address, why in failed.items():
        fail(f"not sent to {address}: {why}")
    return 1 if failed else 0
