"""`clycyo shield add|list|remove`: a site's shields, as the Settings page's Shields section.

It writes the configuration store directly, so it works whether or not a server runs on the data
folder; a running server applies the change within a second. A rule is checked as the Settings
page checks it (`config/shields.py`).
"""

from __future__ import annotations

import argparse

from clycyo.commands.site_lists import remove_row, run_action, site_named
from clycyo.config.shields import KINDS, Shield, ShieldError, ShieldStore
from clycyo.config.store import ConfigStore

ACTIONS = (
    ("add", "keep an address or range, a country, pages or other hosts out of a site's numbers"),
    ("list", "list shields"),
    ("remove", "remove a shield (what it kept out stays out)"),
)
_OPTIONS = {
    "ip": ("ADDRESS", "an IP address or CIDR range, IPv4 or IPv6 (203.0.113.0/24)"),
    "country": ("CODE", "an ISO 3166-1 alpha-2 country code (DE)"),
    "page": ("PATTERN", "a page path; * is any characters but /, ** any ('/admin/**')"),
    "hostname": (
        "HOST",
        "count only pages of the hosts named so ('example.com', '*.example.com')",
    ),
}


def _row(shield: Shield, domain: str) -> dict[str, object]:
    return {"id": shield.id, "site": domain, "kind": shield.kind, "value": shield.value}


def add_arguments(parser: argparse.ArgumentParser, action: str) -> None:
    """The options of `shield ACTION`."""
    if action == "add":
        parser.add_argument("--site", required=True, help="the site's domain")
        rule = parser.add_mutually_exclusive_group(required=True)
        for kind in KINDS:
            metavar, help_text = _OPTIONS[kind]
            rule.add_argument(f"--{kind}", metavar=metavar, help=help_text)
    elif action == "list":
        parser.add_argument("--site", help="only this site's shields")
    else:
        parser.add_argument("id", type=int, help="the shield's id (from `clycyo shield list`)")
        parser.add_argument("--site", required=True, help="the site's domain")
    parser.add_argument("--json", action="store_true", help="print JSON")


def _add(args: argparse.Namespace, config: ConfigStore) -> tuple[object, str]:
    site = site_named(config, args.site)
    kind = next(kind for kind in KINDS if getattr(args, kind) is not None)
    shield = ShieldStore(config).add(site.id, site.domain, kind, getattr(args, kind))
    return _row(shield, site.domain), f"{kind} shield {shield.value} added to {site.domain}"


def _list(args: argparse.Namespace, config: ConfigStore) -> tuple[object, str]:
    shields = ShieldStore(config)
    sites = [site_named(config, args.site)] if args.site else config.sites()
    rows = [_row(r, s.domain) for s in sites for r in shields.list(s.id)]
    lines = [f"{r['id']:>4}  {r['site']}  {r['kind']:<8}  {r['value']}" for r in rows]
    return rows, "\n".join(lines) or "no shields"


def _remove(args: argparse.Namespace, config: ConfigStore) -> tuple[object, str]:
    site = site_named(config, args.site)
    return remove_row(ShieldStore(config), site, args.id, "shield")


_RUN = {"add": _add, "list": _list, "remove": _remove}


def run_shield(args: argparse.Namespace, config: ConfigStore) -> int:
    return run_action(_RUN, (ShieldError,), args, config)
