"""`clycyo key add|list|revoke`: a site's secret keys, for rotating one that leaked.

Like `token`, it writes the configuration store directly, so it works whether or not a server
runs on the data folder; a running server (and its collectors) refuses a revoked key within a
second. A new key is printed once; only its hash is kept, and lists show a key's id (the start
of its hash) and hint (its first characters), never the key.

A site's last live key is not revoked without `--force`: the way to rotate is add, deploy the
new key, revoke the old one; `--force` is for a leak that must stop before a new key is deployed.
"""

from __future__ import annotations

import argparse
import json

from clycyo.commands.credentials import utc_text
from clycyo.commands.handlers import fail
from clycyo.config.store import ConfigError, ConfigStore, SecretKey, hash_secret, key_id

ACTIONS = (
    ("add", "create a new secret key for a site (shown once)"),
    ("list", "list secret keys (ids and hints, never the keys)"),
    ("revoke", "revoke a secret key (a running server refuses it within a second)"),
)


def _row(key: SecretKey, domains: dict[int, str]) -> dict[str, object]:
    return {
        "id": key.id,
        "site": domains.get(key.site_id, str(key.site_id)),
        "hint": key.hint,
        "created_at": utc_text(key.created_at),
        "revoked_at": utc_text(key.revoked_at),
    }


def run_key(args: argparse.Namespace, config: ConfigStore) -> int:
    domains = {s.id: s.domain for s in config.sites()}
    try:
        if args.action == "add":
            site = config.site_by_domain(args.site)
            if site is None:
                raise ConfigError(f"no site {args.site}")
            secret_key = config.add_secret_key(site.id)
            made_id = key_id(hash_secret(secret_key))
            made = next(k for k in config.secret_keys(site.id) if k.id == made_id)
            data: object = {**_row(made, domains), "secret_key": secret_key}
            text = (
                f"secret key  {secret_key}   (shown only now)\nid  {made.id}   site  {site.domain}"
            )
        elif args.action == "list":
            site_id = None
            if args.site:
                site = config.site_by_domain(args.site)
                if site is None:
                    raise ConfigError(f"no site {args.site}")
                site_id = site.id
            rows = [_row(k, domains) for k in config.secret_keys(site_id)]
            data = rows
            text = "\n".join(
                f"{r['id']}  {r['site']}  {r['hint']}…  created {r['created_at']}"
                + (f"  (revoked {r['revoked_at']})" if r["revoked_at"] else "")
                for r in rows
            )
            text = text or "no secret keys"
        else:
            revoked = config.revoke_secret_key_by_id(args.id, force=args.force)
            data = _row(revoked, domains)
            text = f"secret key {revoked.id} of {data['site']} revoked"
    except (ConfigError, ValueError) as exc:
        return fail(exc)
    print(json.dumps(data) if args.json else text)
    return 0


def add_arguments(parser: argparse.ArgumentParser, action: str) -> None:
    """The options of `key ACTION`."""
    if action == "add":
        parser.add_argument("--site", required=True, help="the site's domain")
    elif action == "list":
        parser.add_argument("--site", help="only this site's keys")
    else:
        parser.add_argument("id", help="the key's id (from `clycyo key list`)")
        parser.add_argument(
            "--force",
            action="store_true",
            help="revoke it even if it is the site's last live secret key",
        )
    parser.add_argument("--json", action="store_true", help="print JSON")
