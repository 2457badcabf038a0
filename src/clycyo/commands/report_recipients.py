"""`clycyo report recipient add|list|remove` and `clycyo report spike-threshold`: a site's email
report lists and traffic-spike threshold, as the Settings page's Email reports section.

It writes the configuration store directly, so it works whether or not a server runs on the data
folder; a running server's scheduler reads the lists and the threshold at each tick (once a
minute). Addresses and thresholds are checked as the Settings page checks them
(`config/email_reports.py`). Nothing is sent here (`clycyo report send` sends).
"""

from __future__ import annotations

import argparse
import datetime as dt

from clycyo.commands.site_lists import remove_row, run_action, site_named
from clycyo.config.email_reports import (
    LISTS,
    EmailReportStore,
    Recipient,
    RecipientError,
    check_address,
)
from clycyo.config.store import ConfigError, ConfigStore

ACTIONS = (
    ("add", "put an address on a site's weekly, monthly or spike list"),
    ("list", "list the addresses email reports and spike notices go to"),
    ("remove", "take an address off a site's lists (by its id, or the address)"),
)
THRESHOLD_HELP = "set (or show) the current visitors at which a site's spike list is notified"


def _row(recipient: Recipient, domain: str) -> dict[str, object]:
    added = dt.datetime.fromtimestamp(recipient.created_at, dt.UTC)
    return {
        "id": recipient.id,
        "site": domain,
        "list": recipient.list,
        "address": recipient.address,
        "added_at": added.isoformat(timespec="seconds").replace("+00:00", "Z"),
    }


def add_arguments(parser: argparse.ArgumentParser, action: str) -> None:
    """The options of `report recipient ACTION` and of `report spike-threshold`."""
    list_help = f"the list: {', '.join(LISTS)}"
    if action == "add":
        parser.add_argument("address", help="an email address (ann@example.com)")
        parser.add_argument("--site", required=True, help="the site's domain")
        parser.add_argument("--list", required=True, choices=LISTS, help=list_help)
    elif action == "list":
        parser.add_argument("--site", help="only this site's recipients")
        parser.add_argument("--list", choices=LISTS, help="only this list's")
    elif action == "remove":
        parser.add_argument(
            "recipient",
            help="the recipient's id (from `clycyo report recipient list`) or its address",
        )
        parser.add_argument("--site", required=True, help="the site's domain")
        parser.add_argument(
            "--list", choices=LISTS, help="with an address: only this list (default: every list)"
        )
    else:
        parser.add_argument(
            "visitors",
            nargs="?",
            help="current visitors (the last 5 minutes), 1 or more; off: no spike notices;"
            " none: show the threshold",
        )
        parser.add_argument("--site", required=True, help="the site's domain")
    parser.add_argument("--json", action="store_true", help="print JSON")


def _add(args: argparse.Namespace, config: ConfigStore) -> tuple[object, str]:
    site = site_named(config, args.site)
    store = EmailReportStore(config)
    recipient = store.add(site.id, args.list, args.address)
    text = f"{recipient.address} added to the {recipient.list} list of {site.domain}"
    if recipient.list == "spike" and store.threshold(site.id) is None:
        text += f" (no spike threshold yet: clycyo report spike-threshold N --site {site.domain})"
    return _row(recipient, site.domain), text


def _list(args: argparse.Namespace, config: ConfigStore) -> tuple[object, str]:
    store = EmailReportStore(config)
    sites = [site_named(config, args.site)] if args.site else config.sites()
    rows = [_row(r, s.domain) for s in sites for r in store.list(s.id, args.list)]
    lines = [f"{r['id']:>4}  {r['site']}  {r['list']:<7}  {r['address']}" for r in rows]
    return rows, "\n".join(lines) or "no report recipients"


def _remove(args: argparse.Namespace, config: ConfigStore) -> tuple[object, str]:
    site = site_named(config, args.site)
    store = EmailReportStore(config)
    given = args.recipient.strip()
    if given.isascii() and given.isdigit():
        if args.list is not None:
            raise ConfigError("--list goes with an address, not with a recipient's id")
        return remove_row(store, site, int(given), "recipient")
    address = check_address(given)
    found = [r for r in store.list(site.id, args.list) if r.address == address]
    if not found:
        lists = f"the {args.list} list" if args.list else "any list"
        raise ConfigError(f"{address} is not on {lists} of {site.domain}")
    for recipient in found:
        store.delete(site.id, recipient.id)
    names = [r.list for r in found]
    data = {"removed": [r.id for r in found], "site": site.domain, "address": address}
    lists = "list" if len(names) == 1 else "lists"
    text = f"{address} taken off the {', '.join(names)} {lists} of {site.domain}"
    return {**data, "lists": names}, text


def _threshold(args: argparse.Namespace, config: ConfigStore) -> tuple[object, str]:
    site = site_named(config, args.site)
    store = EmailReportStore(config)
    if args.visitors is None:
        value = store.threshold(site.id)
    elif args.visitors.strip().lower() == "off":
        store.clear_threshold(site.id)
        value = None
    else:
        value = store.set_threshold(site.id, args.visitors)
    data = {"site": site.domain, "spike_threshold": value}
    if value is None:
        return data, f"{site.domain} has no spike threshold"
    return data, f"{site.domain} notifies its spike list at {value} current visitors"


_RUN = {"add": _add, "list": _list, "remove": _remove, "spike-threshold": _threshold}


def run_recipient(args: argparse.Namespace, config: ConfigStore) -> int:
    return run_action(_RUN, (RecipientError,), args, config)
