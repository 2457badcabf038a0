"""`clycyo site add|set|list`: sites, their keys and their settings.

They write the SQLite configuration store directly, so they work whether or not a server runs
on the data folder; a running server notices the change within a second (`PRAGMA data_version`,
see `config/directory.py`) and uses the new currency and time zone from its next request on.
Values are checked by the store (`config/site_settings.py`); errors name the option at fault.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from clycyo.config.site_settings import InvalidSetting
from clycyo.config.store import ConfigError, ConfigStore, Site


def add_arguments(site: argparse.ArgumentParser, *, adding: bool) -> None:
    """The settings both `site add` and `site set` take."""
    default = {"currency": "; default USD", "timezone": "; default UTC"} if adding else {}
    site.add_argument(
        "--currency",
        help="the reporting currency, ISO 4217 (EUR)" + default.get("currency", ""),
    )
    site.add_argument(
        "--timezone",
        help="the IANA time zone of report days and hours (Europe/Berlin)"
        + default.get("timezone", ""),
    )
    site.add_argument("--json", action="store_true", help="print one JSON object")


def _fail(exc: Exception) -> int:
    if isinstance(exc, InvalidSetting):
        print(f"clycyo: --{exc.setting.replace('_', '-')}: {exc.reason}", file=sys.stderr)
    else:
        print(f"clycyo: {exc}", file=sys.stderr)
    return 1


def _settings(site: Site) -> dict[str, Any]:
    return {
        "site": site.domain,
        "id": site.id,
        "public_key": site.public_key,
        "currency": site.currency,
        "timezone": site.timezone,
        "retention_days": site.retention_days,
        "stripe_webhook": site.stripe_signing_secret is not None,
    }


def run_add(args: argparse.Namespace, config: ConfigStore) -> int:
    settings = {
        name: value
        for name, value in (("currency", args.currency), ("timezone", args.timezone))
        if value is not None
    }
    try:
        created = config.add_site(
            args.domain, stripe_signing_secret=args.stripe_signing_secret, **settings
        )
    except (ConfigError, InvalidSetting) as exc:
        return _fail(exc)
    site = created.site
    if args.json:
        print(json.dumps({**_settings(site), "secret_key": created.secret_key}))
    else:
        print(f"site        {site.domain}   ({site.currency}, {site.timezone})")
        print(f"public key  {site.public_key}   (for the tracker's data-key)")
        print(f"secret key  {created.secret_key}   (for your backend; shown only now)")
    return 0


def run_set(args: argparse.Namespace, config: ConfigStore) -> int:
    try:
        site = config.site_by_domain(args.domain)
        if site is None:
            raise ConfigError(f"no site {args.domain}")
        changes: dict[str, object] = {}
        if args.currency is not None:
            changes["currency"] = args.currency
        if args.timezone is not None:
            changes["timezone"] = args.timezone
        if args.retention_days is not None:
            if args.retention_days < 0:
                raise InvalidSetting("retention_days", "expected 0 (keep everything) or more")
            # 0 means keep everything, like a site that never had a retention.
            changes["retention_days"] = args.retention_days or None
        if args.stripe_signing_secret is not None:
            changes["stripe_signing_secret"] = args.stripe_signing_secret or None
        config.update_site(site.id, **changes)
    except (ConfigError, InvalidSetting) as exc:
        return _fail(exc)
    updated = config.site_by_id(site.id) or site
    if args.json:
        print(json.dumps({**_settings(updated), "changed": sorted(changes)}))
        return 0
    done = ", ".join(_described(updated, name) for name in changes) or "nothing to change"
    print(f"site {updated.domain} updated: {done}")
    return 0


def _described(site: Site, setting: str) -> str:
    if setting == "retention_days":
        days = site.retention_days
        return "retention: keep everything" if days is None else f"retention: {days} days"
    if setting == "stripe_signing_secret":
        return "Stripe signing secret " + ("set" if site.stripe_signing_secret else "cleared")
    return f"{setting} {getattr(site, setting)}"


def run_list(args: argparse.Namespace, config: ConfigStore) -> int:
    sites = config.sites()
    if args.json:
        print(json.dumps([_settings(s) for s in sites]))
    elif not sites:
        print("no sites")
    else:
        for site in sites:
            print(
                f"{site.id:>4}  {site.domain:<40} {site.public_key}  {site.currency}  "
                f"{site.timezone}"
            )
    return 0
