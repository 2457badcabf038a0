"""`clycyo token add|list|revoke` and `clycyo share add|list|revoke`: API tokens and shared links.

Both write the configuration store directly (like `site add`), so they work whether or not a
server runs on the data folder, and a running server honours a new or revoked credential on its
next request. A new token or link is printed once; only its hash is kept.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from clycyo.config.access import AccessStore
from clycyo.config.store import ConfigError, ConfigStore


def utc_text(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _site_ids(config: ConfigStore, domains: list[str]) -> list[int]:
    ids = []
    for domain in domains:
        site = config.site_by_domain(domain)
        if site is None:
            raise ConfigError(f"no site {domain}")
        ids.append(site.id)
    return ids


def _print(args: argparse.Namespace, data: object, text: str) -> None:
    print(json.dumps(data) if args.json else text)


def run_token(args: argparse.Namespace, config: ConfigStore) -> int:
    access = AccessStore(config)
    domains = {s.id: s.domain for s in config.sites()}
    try:
        if args.action == "add":
            if not args.site:
                raise ConfigError("name at least one --site the token may read")
            token, record = access.add_api_token(_site_ids(config, args.site), args.label or "")
            sites = [domains[i] for i in record.site_ids]
            _print(
                args,
                {"id": record.id, "token": token, "sites": sites, "label": record.label},
                f"token  {token}   (shown only now)\nreads  {', '.join(sites)}",
            )
        elif args.action == "list":
            tokens = access.api_tokens()
            rows = [
                {
                    "id": t.id,
                    "hint": t.hint,
                    "label": t.label,
                    "sites": [domains.get(i, str(i)) for i in t.site_ids],
                    "created_at": utc_text(t.created_at),
                    "revoked_at": utc_text(t.revoked_at),
                }
                for t in tokens
            ]
            lines = [
                f"{r['id']:>4}  {r['hint']}…  {','.join(r['sites'])}  {r['label']}"  # type: ignore[arg-type]
                + ("  (revoked)" if r["revoked_at"] else "")
                for r in rows
            ]
            _print(args, rows, "\n".join(lines) or "no API tokens")
        else:
            if args.id is None or not access.revoke_api_token(args.id):
                raise ConfigError("no such live token (give its id, from `clycyo token list`)")
            _print(args, {"revoked": args.id}, f"token {args.id} revoked")
    except (ConfigError, ValueError) as exc:
        print(f"clycyo: {exc}", file=sys.stderr)
        return 1
    return 0


def run_share(args: argparse.Namespace, config: ConfigStore) -> int:
    access = AccessStore(config)
    try:
        if args.action == "add":
            if not args.site:
                raise ConfigError("name the site to share with --site")
            (site_id,) = _site_ids(config, [args.site])
            token, record = access.add_shared_link(site_id, args.label or "")
            path = f"/share/{token}"
            _print(
                args,
                {"id": record.id, "path": path, "token": token, "site": args.site},
                f"shared link  {path}   (append it to the server's address; shown only now)",
            )
        elif args.action == "list":
            sites = [s for s in config.sites() if not args.site or s.domain == args.site]
            rows = [
                {
                    "id": link.id,
                    "site": site.domain,
                    "hint": link.hint,
                    "label": link.label,
                    "created_at": utc_text(link.created_at),
                    "revoked_at": utc_text(link.revoked_at),
                }
                for site in sites
                for link in access.shared_links(site.id)
            ]
            lines = [
                f"{r['id']:>4}  {r['site']}  /share/{r['hint']}…  {r['label']}"
                + ("  (revoked)" if r["revoked_at"] else "")
                for r in rows
            ]
            _print(args, rows, "\n".join(lines) or "no shared links")
        else:
            if args.id is None or not access.revoke_shared_link(args.id):
                raise ConfigError("no such live link (give its id, from `clycyo share list`)")
            _print(args, {"revoked": args.id}, f"shared link {args.id} revoked")
    except (ConfigError, ValueError) as exc:
        print(f"clycyo: {exc}", file=sys.stderr)
        return 1
    return 0


ACTIONS = {
    "token": (
        ("add", "create an API token for one or more sites (shown once)"),
        ("list", "list API tokens"),
        ("revoke", "revoke an API token"),
    ),
    "share": (
        ("add", "create a shared link to a site's dashboard (shown once)"),
        ("list", "list shared links"),
        ("revoke", "revoke a shared link"),
    ),
}


def add_arguments(parser: argparse.ArgumentParser, action: str, *, many_sites: bool) -> None:
    """The options of `token ACTION` (`many_sites`) or `share ACTION`."""
    from clycyo.cli import positive

    if action == "revoke":
        # A required positional: argparse takes it before or after the options alike.
        parser.add_argument("id", type=positive, help="the id to revoke (from list)")
    if action == "add":
        parser.add_argument(
            "--site",
            action="append" if many_sites else "store",
            required=True,
            help="a site it may read (repeat)" if many_sites else "the site to share",
        )
        parser.add_argument("--label", help="a name to recognise it by")
    elif action == "list" and not many_sites:
        parser.add_argument("--site", help="only this site's links")
    parser.add_argument("--json", action="store_true", help="print JSON")
