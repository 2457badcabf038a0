"""The `clycyo` command line: parse arguments and hand each command to the module that does it.

Commands that change configuration (`site add`, `site set`, `user add`) write the SQLite
configuration store directly, so they work whether or not a server runs on the data folder; a
running server notices within a second.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from clycyo.config.passwords import MIN_PASSWORD_CHARS, hash_password
from clycyo.config.store import ConfigError, ConfigStore
from clycyo.settings import Settings, config_path


def _data_dir(args: argparse.Namespace) -> Path:
    value = args.data or os.environ.get("CLYCYO_DATA") or "./clycyo-data"
    return Path(value).resolve()


def _config(args: argparse.Namespace) -> ConfigStore:
    return ConfigStore(config_path(_data_dir(args)))


def cmd_serve(args: argparse.Namespace) -> int:
    from clycyo.server import serve

    try:
        settings = Settings.from_env(
            _data_dir(args),
            storage_url=args.storage,
            geoip_path=Path(args.geoip) if args.geoip else None,
            trusted_proxies=args.trusted_proxies,
            memory_limit=args.memory_limit,
        )
    except ValueError as exc:
        print(f"clycyo: {exc}", file=sys.stderr)
        return 2
    demo = None
    if args.demo:
        from clycyo.demo.setup import prepare_demo

        demo = prepare_demo(settings.data_dir, args.host, args.port)
    workers = args.workers
    if workers is None:
        workers = int(os.environ.get("CLYCYO_WORKERS", "0"))
    serve(settings, args.host, args.port, workers=workers, after_start=demo)
    return 0


def cmd_site_add(args: argparse.Namespace) -> int:
    from clycyo.commands.sites import run_add

    return run_add(args, _config(args))


def cmd_site_set(args: argparse.Namespace) -> int:
    from clycyo.commands.sites import run_set

    return run_set(args, _config(args))


def cmd_site_list(args: argparse.Namespace) -> int:
    from clycyo.commands.sites import run_list

    return run_list(args, _config(args))


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password again: "):
        raise ConfigError("the passwords differ")
    return first


def cmd_user_add(args: argparse.Namespace) -> int:
    config = _config(args)
    try:
        site_ids = []
        for domain in args.site or []:
            site = config.site_by_domain(domain)
            if site is None:
                raise ConfigError(f"no site {domain}")
            site_ids.append(site.id)
        password = _read_password(args)
        if len(password) < MIN_PASSWORD_CHARS:
            raise ConfigError(f"the password needs at least {MIN_PASSWORD_CHARS} characters")
        config.add_user(args.email, hash_password(password), site_ids)
    except ConfigError as exc:
        print(f"clycyo: {exc}", file=sys.stderr)
        return 1
    print(f"user {args.email} added")
    return 0


def cmd_quarantine(args: argparse.Namespace) -> int:
    from clycyo.commands.quarantine import run

    return run(args, _data_dir(args))


def cmd_token(args: argparse.Namespace) -> int:
    from clycyo.commands.credentials import run_token

    return run_token(args, _config(args))


def cmd_share(args: argparse.Namespace) -> int:
    from clycyo.commands.credentials import run_share

    return run_share(args, _config(args))


def cmd_export(args: argparse.Namespace) -> int:
    from clycyo.commands.export import run

    return run(args, _data_dir(args))


def cmd_backup(args: argparse.Namespace) -> int:
    from clycyo.commands.backup import run

    return run(args, _data_dir(args))


def cmd_compact(args: argparse.Namespace) -> int:
    from clycyo.commands.compact import run

    try:
        settings = Settings.from_env(_data_dir(args), memory_limit=args.memory_limit)
    except ValueError as exc:
        print(f"clycyo: {exc}", file=sys.stderr)
        return 2
    return run(args, settings)


def cmd_migrate(args: argparse.Namespace) -> int:
    from clycyo.commands.migrate import run

    return run(args, _data_dir(args))


def cmd_query(args: argparse.Namespace) -> int:
    from clycyo.commands.query import run

    return run(args, _data_dir(args))


def cmd_demo(args: argparse.Namespace) -> int:
    from clycyo.demo.send import run

    return run(args, _data_dir(args))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clycyo", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str,
        handler: Callable[[argparse.Namespace], int],
        help_text: str,
        parent: argparse._SubParsersAction[argparse.ArgumentParser] | None = None,
    ) -> argparse.ArgumentParser:
        sub = (parent or commands).add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        sub.add_argument("--data", help="data folder (default ./clycyo-data, env CLYCYO_DATA)")
        return sub

    serve = command("serve", cmd_serve, "serve the collector, APIs, tracker and dashboard")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--storage", help="duckdb://PATH, chdb://PATH or clickhouse://…")
    serve.add_argument("--geoip", help="a MaxMind-format database for regions and cities")
    serve.add_argument(
        "--trusted-proxies",
        type=int,
        default=None,
        help="proxy hops whose X-Forwarded-For to believe (default 0)",
    )
    serve.add_argument(
        "--memory-limit",
        help="the most memory DuckDB may use, e.g. 512MB (default: DuckDB's, 80%% of RAM;"
        " env CLYCYO_MEMORY_LIMIT)",
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help="create a demo site and fill it with two months of realistic data",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        help="collector processes sharing the port (default 0: one process; env CLYCYO_WORKERS)",
    )

    from clycyo.commands.sites import add_arguments as site_arguments

    site = commands.add_parser("site", help="manage sites, their keys and settings")
    site_commands = site.add_subparsers(dest="site_command", required=True, metavar="COMMAND")
    add = command("add", cmd_site_add, "create a site and its keys", site_commands)
    add.add_argument("domain")
    site_arguments(add, adding=True)
    add.add_argument("--stripe-signing-secret", help="the site's Stripe webhook secret (whsec_…)")
    site_set = command("set", cmd_site_set, "change a site's settings", site_commands)
    site_set.add_argument("domain")
    site_arguments(site_set, adding=False)
    site_set.add_argument(
        "--retention-days", type=int, help="delete events older than this (0: keep everything)"
    )
    site_set.add_argument("--stripe-signing-secret", help="the Stripe webhook secret ('' clears)")
    listing = command("list", cmd_site_list, "list sites", site_commands)
    listing.add_argument("--json", action="store_true")

    user = commands.add_parser("user", help="manage dashboard logins")
    user_commands = user.add_subparsers(dest="user_command", required=True, metavar="COMMAND")
    user_add = command("add", cmd_user_add, "create a dashboard login", user_commands)
    user_add.add_argument("email")
    user_add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    user_add.add_argument(
        "--site", action="append", help="a site this user may see (repeat; default: every site)"
    )

    quarantine = command("quarantine", cmd_quarantine, "inspect and replay rejected events")
    quarantine.add_argument("action", choices=["list", "show", "replay"])
    quarantine.add_argument("entry", nargs="?", type=int, help="entry id (show, replay)")
    quarantine.add_argument("--site", help="only this site's entries")
    quarantine.add_argument("--limit", type=int, default=50)
    quarantine.add_argument("--url", help="server to replay into (default http://127.0.0.1:8000)")
    quarantine.add_argument("--json", action="store_true")

    from clycyo.commands.credentials import add_arguments as credential_arguments

    token = command("token", cmd_token, "API tokens for the query API and dashboard data")
    credential_arguments(token, many_sites=True)
    share = command("share", cmd_share, "read-only shared links to a site's dashboard")
    credential_arguments(share, many_sites=False)

    export = command("export", cmd_export, "write a site's raw events to Parquet or CSV")
    export.add_argument("--site", required=True, help="the site's domain")
    export.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    export.add_argument("--out", required=True, help="the file to write")
    export.add_argument("--from", dest="from_day", help="first day, YYYY-MM-DD (UTC)")
    export.add_argument("--to", dest="to_day", help="last day, YYYY-MM-DD (UTC), included")
    backup = command("backup", cmd_backup, "copy the data folder consistently, even while serving")
    backup.add_argument("dest", help="a new or empty folder")
    backup.add_argument("--json", action="store_true")
    compact = command(
        "compact", cmd_compact, "rewrite the event store with only its live rows (server stopped)"
    )
    compact.add_argument("--json", action="store_true")
    compact.add_argument(
        "--memory-limit",
        help="the most memory DuckDB may use for the copy, e.g. 512MB (default: DuckDB's, 80%% of"
        " RAM; env CLYCYO_MEMORY_LIMIT)",
    )

    migrate = command("migrate", cmd_migrate, "copy the event store to ClickHouse (resumable)")
    migrate.add_argument("--from", dest="source", help="duckdb://PATH (default: the data folder's)")
    migrate.add_argument("--to", dest="target", required=True, help="chdb://PATH or clickhouse://…")
    migrate.add_argument("--quiet", action="store_true", help="no progress bar")

    query = command("query", cmd_query, "run a stats query (the query API's spec) and print it")
    query.add_argument("--site", help="the site's domain")
    query.add_argument("--metrics", action="append", help="comma-separated (visitors,revenue)")
    query.add_argument("--dimensions", action="append", help="comma-separated (visit:source)")
    query.add_argument(
        "--filter", action="append", help="'is event:name signup' or a JSON list (repeat)"
    )
    query.add_argument("--date-range", help="today, 7d, 30d, month, 12mo, …")
    query.add_argument("--from", dest="start", help="first day (YYYY-MM-DD), with --to")
    query.add_argument("--to", dest="end", help="last day (YYYY-MM-DD), with --from")
    query.add_argument("--order-by", action="append", help="name:desc or name:asc")
    query.add_argument("--limit", type=int)
    query.add_argument("--compare", action="store_true", help="add the previous period")
    query.add_argument("--spec", help="a JSON file with the query's spec ('-': standard input)")
    query.add_argument("--url", help="a server to ask (default: the one running on --data)")
    query.add_argument("--key", help="secret key or API token for the server (env CLYCYO_KEY)")
    query.add_argument("--json", action="store_true", help="print the API's JSON answer")

    from clycyo.demo.world import DEFAULT_DAYS, DEFAULT_VISITORS_PER_DAY

    demo = command("demo", cmd_demo, "send two months of realistic demo events to a server")
    demo.add_argument("--url", default="http://127.0.0.1:8000", help="the server's address")
    demo.add_argument("--site", default="demo.clycyo.test", help="the site's domain")
    demo.add_argument("--secret-key", required=True, help="the site's secret key")
    demo.add_argument(
        "--days", type=int, default=DEFAULT_DAYS, help=f"days of history (default {DEFAULT_DAYS})"
    )
    demo.add_argument(
        "--visitors-per-day",
        type=int,
        default=DEFAULT_VISITORS_PER_DAY,
        help=f"new visitors on an average weekday (default {DEFAULT_VISITORS_PER_DAY})",
    )
    demo.add_argument("--seed", type=int, default=7, help="the same seed makes the same world")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    from clycyo.store.base import InUse

    try:
        return handler(args)
    except InUse as exc:
        print(f"clycyo: {exc}\nIs a server already running on this data folder?", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
