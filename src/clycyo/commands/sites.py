"""`clycyo site add|set|list|remove`: sites, their keys and their settings.

They write the SQLite configuration store directly, so they work whether or not a server runs
on the data folder; a running server notices the change within a second (`PRAGMA data_version`,
see `config/directory.py`) and uses the new currency and time zone from its next request on.
Values are checked by the store (`config/site_settings.py`); errors name the option at fault.
`remove` deletes the site's data too (`store/site_removal.py`): through the server that owns the
folder when one runs (`POST /api/admin/sites/remove`), else on the folder opened here.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from clycyo.config.site_settings import InvalidSetting
from clycyo.config.store import ConfigError, ConfigStore, Site, normalize_domain


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


def run_remove(args: argparse.Namespace, data_dir: Path) -> int:
    from clycyo import local_server
    from clycyo.config import site_removal
    from clycyo.settings import config_path

    config = ConfigStore(config_path(data_dir))
    try:
        domain = normalize_domain(args.domain)
    except ConfigError as exc:
        return _fail(exc)
    if config.site_by_domain(domain) is None and site_removal.unfinished(config, domain) is None:
        return _fail(ConfigError(f"no site {domain}"))
    if not args.yes and not _confirmed(domain):
        return 1
    server = local_server.find(data_dir)
    if server is not None:
        status, body = server.call(
            "POST", "/api/admin/sites/remove", {"site": domain}, timeout_s=None
        )
        if status != 200:
            error = body.get("error") if isinstance(body, dict) else body
            print(f"clycyo: {error}", file=sys.stderr)
            return 1
        report: dict[str, Any] = body
    else:
        try:
            report = _remove_in_folder(data_dir, domain)
        except (ConfigError, TimeoutError) as exc:
            return _fail(exc)
    if args.json:
        print(json.dumps(report))
    else:
        _print_report(report)
    return 0


def _confirmed(domain: str) -> bool:
    """Whether the user typed the domain again; False (and why, on one line) otherwise."""
    if not sys.stdin.isatty():
        print(
            f"clycyo: removing {domain} deletes all its data for good: confirm with --yes"
            " (no terminal to ask on)",
            file=sys.stderr,
        )
        return False
    print(
        f"This removes the site {domain}: its keys stop working, and all its events, visits,"
        " people, funnels, links and quarantined events are deleted for good.",
        file=sys.stderr,
    )
    print(f"Type the domain to confirm ({domain}): ", end="", file=sys.stderr, flush=True)
    typed = sys.stdin.readline().strip().lower()
    if typed != domain:
        print(f"clycyo: {typed or 'nothing'} is not {domain}: nothing removed", file=sys.stderr)
        return False
    return True


def _remove_in_folder(data_dir: Path, domain: str) -> dict[str, Any]:
    """No server runs on the folder: open it, as `serve` would, for the time of the removal."""
    from clycyo.runtime import Runtime, Settings
    from clycyo.store.open import clickhouse_folder_refusal, loads_into_clickhouse
    from clycyo.store.site_removal import remove_offline

    if loads_into_clickhouse(data_dir):
        # Opened here, the folder would be served from DuckDB: the site's events, in
        # ClickHouse, would stay.
        raise ConfigError(clickhouse_folder_refusal(data_dir, "remove a site"))
    runtime = Runtime.open(Settings.from_env(data_dir))
    try:
        return remove_offline(runtime, domain).as_json()
    finally:
        runtime.close()


def _print_report(report: dict[str, Any]) -> None:
    def listed(counts: dict[str, int]) -> str:
        return ", ".join(f"{name} {count}" for name, count in sorted(counts.items())) or "none"

    again = " (finishing an earlier removal)" if report.get("resumed") else ""
    print(
        f"site {report['site']} removed{again}: {report['events']} events,"
        f" {report['visits']} visits deleted"
    )
    print(f"  event store    {listed(report['store'])}")
    # A log keeps what the writer loaded until its segment is trimmed: most of these events are
    # among the event store's above, not events that were never stored.
    print(f"  intake logs    {report['intake_events']} events, stored or not")
    print(f"  quarantine     {report['quarantined']} entries")
    print(f"  Stripe links   {report['stripe_links']}")
    print(f"  configuration  {listed(report['configuration'])}")
