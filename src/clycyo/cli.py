"""The `clycyo` command line: parse arguments and hand each command to its handler.

This module holds the arguments of every command, their help text and their checks; the
commands themselves are in `commands/` (`commands/handlers.py` maps each to its module).

An expected failure — a data folder missing or not this user's, a port in use, a server that
does not answer — ends with a `clycyo: …` line on standard error, never a traceback, and the exit
status says what happened: 1 a failure, 2 a wrong argument, 130 Ctrl-C, 141 standard output
closed early (`clycyo site list | head`), as for any command in a pipe.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from collections.abc import Callable, Sequence

from clycyo import data_folder
from clycyo.commands import handlers
from clycyo.commands.handlers import data_dir, fail
from clycyo.config.roles import ADMIN, ROLES

DESCRIPTION = (
    "Clycyo: self-hosted web and product analytics. `clycyo serve` runs the collector, the"
    " tracker script, the APIs and the dashboard; the other commands manage its sites, logins"
    " and data. `clycyo COMMAND --help` shows a command's options."
)


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def port(text: str) -> int:
    value = _whole(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port: expected 1 to 65535")
    return value


def count(text: str) -> int:
    value = _whole(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value}: expected 0 or more")
    return value


def positive(text: str) -> int:
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: expected 1 or more")
    return value


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("clycyo")
    except PackageNotFoundError:
        return "(version unknown: not installed as a package)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clycyo", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str,
        handler: Callable[[argparse.Namespace], int],
        help_text: str,
        parent: argparse._SubParsersAction[argparse.ArgumentParser] | None = None,
        *,
        folder: str | None = "existing",
    ) -> argparse.ArgumentParser:
        """`folder`: what to do with the data folder before the command runs: "create" it when
        missing, require an "existing" one, or nothing (None: the command decides)."""
        sub = (parent or commands).add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler, folder=folder)
        sub.add_argument("--data", help="data folder (default ./clycyo-data, env CLYCYO_DATA)")
        return sub

    def group(name: str, help_text: str) -> argparse._SubParsersAction[argparse.ArgumentParser]:
        parent = commands.add_parser(name, help=help_text, description=help_text)
        return parent.add_subparsers(dest=f"{name}_command", required=True, metavar="COMMAND")

    serve = command(
        "serve", handlers.serve, "serve the collector, APIs, tracker and dashboard", folder=None
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address to listen on (default 127.0.0.1; 0.0.0.0 for every IPv4 interface)",
    )
    serve.add_argument(
        "--port", type=port, default=8000, help="the port to listen on, 1-65535 (default 8000)"
    )
    serve.add_argument(
        "--storage",
        help="the event store: duckdb://PATH, chdb://PATH or clickhouse://user:pass@host:8123/db"
        " (default: DuckDB in the data folder, events.duckdb)",
    )
    serve.add_argument(
        "--geoip",
        help="a MaxMind-format database for regions and cities (default none; env CLYCYO_GEOIP_DB)",
    )
    serve.add_argument(
        "--trusted-proxies",
        type=count,
        default=None,
        help="proxy hops whose X-Forwarded-For to believe (default 0; env CLYCYO_TRUSTED_PROXIES)",
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
        "--demo-live",
        metavar="RATE",
        help="with --demo, live visits a minute after the history: a number, on or off"
        " (default 0.5; env CLYCYO_DEMO_LIVE)",
    )
    serve.add_argument(
        "--workers",
        type=count,
        default=None,
        help="collector processes sharing the port (default 0: one process; env CLYCYO_WORKERS)",
    )

    from clycyo.commands.sites import add_arguments as site_arguments

    site_commands = group("site", "manage sites, their keys and settings")
    add = command(
        "add", handlers.site_add, "create a site and its keys", site_commands, folder="create"
    )
    add.add_argument("domain")
    site_arguments(add, adding=True)
    add.add_argument("--stripe-signing-secret", help="the site's Stripe webhook secret (whsec_…)")
    site_set = command("set", handlers.site_set, "change a site's settings", site_commands)
    site_set.add_argument("domain")
    site_arguments(site_set, adding=False)
    site_set.add_argument(
        "--retention-days", type=int, help="delete events older than this (0: keep everything)"
    )
    site_set.add_argument("--stripe-signing-secret", help="the Stripe webhook secret ('' clears)")
    listing = command("list", handlers.site_list, "list sites", site_commands)
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    site_remove = command(
        "remove",
        handlers.site_remove,
        "remove a site: its keys stop working, and every event and row of it is deleted",
        site_commands,
    )
    site_remove.add_argument("domain")
    site_remove.add_argument(
        "--yes", action="store_true", help="do not ask to type the domain again (no undo!)"
    )
    site_remove.add_argument("--json", action="store_true", help="print a JSON report")

    user_commands = group("user", "manage dashboard logins")
    user_add = command(
        "add", handlers.user_add, "create a dashboard login", user_commands, folder="create"
    )
    user_add.add_argument("email")
    user_add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    user_add.add_argument(
        "--site", action="append", help="a site this user may see (repeat; default: every site)"
    )
    user_add.add_argument(
        "--role",
        choices=ROLES,
        default=ADMIN,
        help="admin changes its sites' settings and credentials, viewer only reads (default admin)",
    )
    user_list = command("list", handlers.user_list, "list dashboard logins", user_commands)
    user_list.add_argument("--json", action="store_true", help="print a JSON list")
    user_remove = command(
        "remove",
        handlers.user_remove,
        "remove a dashboard login (its sessions end at once)",
        user_commands,
    )
    user_remove.add_argument("email")
    user_password = command(
        "password",
        handlers.user_password,
        "set a login's new password (its sessions end at once)",
        user_commands,
    )
    user_password.add_argument("email")
    user_password.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    user_reset_2fa = command(
        "reset-2fa",
        handlers.user_reset_2fa,
        "turn a login's two-factor sign-in off, for a lost device (its sessions end at once)",
        user_commands,
    )
    user_reset_2fa.add_argument("email")
    user_role = command(
        "role",
        handlers.user_role,
        "make a login an admin or a viewer (its sessions act in the new role from their next"
        " request)",
        user_commands,
    )
    user_role.add_argument("email")
    user_role.add_argument("role", choices=ROLES)

    quarantine = group("quarantine", "inspect and replay rejected events")
    listed = command("list", handlers.quarantine, "list rejected events, newest first", quarantine)
    listed.set_defaults(action="list")
    listed.add_argument("--site", help="only this site's entries")
    listed.add_argument(
        "--limit", type=positive, default=50, help="at most this many entries (default 50)"
    )
    listed.add_argument("--json", action="store_true", help="print a JSON list")
    for action, help_text in (
        ("show", "print one rejected event as JSON"),
        ("replay", "submit one rejected event again (through the running server, if one runs)"),
    ):
        entry = command(action, handlers.quarantine, help_text, quarantine)
        entry.set_defaults(action=action)
        entry.add_argument("entry", type=positive, help="the entry's id (from list)")
        entry.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # it always is

    from clycyo.commands.credentials import ACTIONS
    from clycyo.commands.credentials import add_arguments as credential_arguments

    for name, handler, help_text, many_sites in (
        ("token", handlers.token, "API tokens for the query API and dashboard data", True),
        ("share", handlers.share, "read-only shared links to a site's dashboard", False),
    ):
        actions = group(name, help_text)
        for action, action_help in ACTIONS[name]:
            sub = command(action, handler, action_help, actions)
            sub.set_defaults(action=action)
            credential_arguments(sub, action, many_sites=many_sites)

    from clycyo.commands.keys import ACTIONS as KEY_ACTIONS
    from clycyo.commands.keys import add_arguments as key_arguments

    key_commands = group("key", "a site's secret keys: add a new one, revoke a leaked one")
    for action, action_help in KEY_ACTIONS:
        sub = command(action, handlers.key, action_help, key_commands)
        sub.set_defaults(action=action)
        key_arguments(sub, action)

    from clycyo.commands import annotations, goals, segments, shields

    for name, handler, help_text, module in (
        ("goal", handlers.goal, "a site's page goals ('Visit /pattern'), as on Settings", goals),
        (
            "shield",
            handlers.shield,
            "traffic kept out of a site's numbers (addresses, countries, pages, hosts)",
            shields,
        ),
        (
            "annotation",
            handlers.annotation,
            "a site's annotations: releases and campaigns marked on the chart",
            annotations,
        ),
        (
            "segment",
            handlers.segment,
            "a site's segments: named sets of filters, applied in one click",
            segments,
        ),
    ):
        list_commands = group(name, help_text)
        for action, action_help in module.ACTIONS:
            sub = command(action, handler, action_help, list_commands)
            sub.set_defaults(action=action)
            module.add_arguments(sub, action)

    from clycyo.commands.reports import add_arguments as report_arguments

    report_commands = group(
        "report", "a site's weekly and monthly email reports and traffic-spike notices"
    )
    report_send = command(
        "send",
        handlers.report_send,
        "send a site's email report for last week or last month now",
        report_commands,
    )
    report_arguments(report_send)

    from clycyo.commands.report_recipients import ACTIONS as RECIPIENT_ACTIONS
    from clycyo.commands.report_recipients import THRESHOLD_HELP
    from clycyo.commands.report_recipients import add_arguments as recipient_arguments

    recipients_help = "the addresses a site's reports and spike notices go to, as on Settings"
    recipient_commands = report_commands.add_parser(
        "recipient", help=recipients_help, description=recipients_help
    ).add_subparsers(dest="recipient_command", required=True, metavar="COMMAND")
    for action, action_help in RECIPIENT_ACTIONS:
        sub = command(action, handlers.report_recipient, action_help, recipient_commands)
        sub.set_defaults(action=action)
        recipient_arguments(sub, action)
    threshold = command(
        "spike-threshold", handlers.report_recipient, THRESHOLD_HELP, report_commands
    )
    threshold.set_defaults(action="spike-threshold")
    recipient_arguments(threshold, "spike-threshold")

    export = command("export", handlers.export, "write a site's raw events to Parquet or CSV")
    export.add_argument("--site", required=True, help="the site's domain")
    export.add_argument(
        "--format", choices=["parquet", "csv"], default="parquet", help="(default parquet)"
    )
    export.add_argument("--out", required=True, help="the file to write")
    export.add_argument("--from", dest="from_day", help="first day, YYYY-MM-DD (UTC)")
    export.add_argument("--to", dest="to_day", help="last day, YYYY-MM-DD (UTC), included")
    imports = command(
        "import",
        handlers.import_events,
        "load a file clycyo export wrote into a site (events already present are skipped)",
    )
    imports.add_argument("--site", required=True, help="the site's domain (it must exist)")
    imports.add_argument("--in", dest="in_file", required=True, help="the file to read")
    imports.add_argument(
        "--format", choices=["parquet", "csv"], help="(default: from the file's extension)"
    )
    imports.add_argument("--json", action="store_true", help="print a JSON summary")
    backup = command(
        "backup", handlers.backup, "copy the data folder consistently, even while serving"
    )
    backup.add_argument("dest", help="a new or empty folder")
    backup.add_argument("--json", action="store_true", help="print a JSON report")
    compact = command(
        "compact",
        handlers.compact,
        "rewrite the event store with only its live rows (server stopped)",
    )
    compact.add_argument("--json", action="store_true", help="print a JSON report")
    compact.add_argument(
        "--memory-limit",
        help="the most memory DuckDB may use for the copy, e.g. 512MB (default: DuckDB's, 80%% of"
        " RAM; env CLYCYO_MEMORY_LIMIT)",
    )

    migrate = command("migrate", handlers.migrate, "copy the event store to ClickHouse (resumable)")
    migrate.add_argument("--from", dest="source", help="duckdb://PATH (default: the data folder's)")
    migrate.add_argument("--to", dest="target", required=True, help="chdb://PATH or clickhouse://…")
    migrate.add_argument("--quiet", action="store_true", help="no progress bar")

    query = command(
        "query",
        handlers.query,
        "run a stats query (the query API's spec) and print it",
        folder=None,
    )
    query.add_argument("--site", help="the site's domain")
    query.add_argument("--metrics", action="append", help="comma-separated (visitors,revenue)")
    query.add_argument("--dimensions", action="append", help="comma-separated (visit:source)")
    query.add_argument(
        "--filter", action="append", help="'is event:name signup' or a JSON list (repeat)"
    )
    query.add_argument("--date-range", help="today, 7d, 30d, month, 12mo, …")
    query.add_argument("--from", dest="start", help="first day (YYYY-MM-DD), with --to")
    query.add_argument("--to", dest="end", help="last day (YYYY-MM-DD), with --from")
    query.add_argument("--order-by", action="append", help="NAME:desc or NAME:asc (repeat)")
    query.add_argument("--limit", type=positive, help="at most this many rows (default 100)")
    query.add_argument(
        "--compare",
        nargs="?",
        const="previous",
        metavar="previous|year|FIRST,LAST",
        help="add another period and the change: the one just before (the default), the same"
        " days a year before, or the days FIRST to LAST (YYYY-MM-DD)",
    )
    query.add_argument("--spec", help="a JSON file with the query's spec ('-': standard input)")
    query.add_argument("--url", help="a server to ask (default: the one running on --data)")
    query.add_argument("--key", help="secret key or API token for the server (env CLYCYO_KEY)")
    query.add_argument("--json", action="store_true", help="print the API's JSON answer")

    from clycyo.demo.world import DEFAULT_DAYS, DEFAULT_VISITORS_PER_DAY

    demo = command(
        "demo", handlers.demo, "send two months of realistic demo events to a server", folder=None
    )
    demo.add_argument(
        "--url",
        default="http://127.0.0.1:8000",
        help="the server's address (default http://127.0.0.1:8000)",
    )
    demo.add_argument(
        "--site",
        default="demo.clycyo.test",
        help="the site's domain (default demo.clycyo.test)",
    )
    demo.add_argument("--secret-key", required=True, help="the site's secret key")
    demo.add_argument(
        "--days",
        type=positive,
        default=DEFAULT_DAYS,
        help=f"days of history (default {DEFAULT_DAYS})",
    )
    demo.add_argument(
        "--visitors-per-day",
        type=positive,
        default=DEFAULT_VISITORS_PER_DAY,
        help=f"new visitors on an average weekday (default {DEFAULT_VISITORS_PER_DAY})",
    )
    demo.add_argument(
        "--seed", type=int, default=7, help="the same seed makes the same world (default 7)"
    )
    return parser


# SQLite's codes for a file it may not open or write: the folder's permissions, not a bug.
_CANNOT_OPEN = ("SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    umask = os.umask(data_folder.PRIVATE_UMASK)
    try:
        return _run(args)
    finally:
        os.umask(umask)


def _run(args: argparse.Namespace) -> int:
    from clycyo.local_server import Unreachable
    from clycyo.store.base import InUse

    try:
        if args.folder == "create":
            data_folder.create(data_dir(args))
        elif args.folder == "existing":
            data_folder.require(data_dir(args))
        handler: Callable[[argparse.Namespace], int] = args.handler
        status = handler(args)
        sys.stdout.flush()  # so that a reader gone early shows here, not at exit
        return status
    except KeyboardInterrupt:
        if sys.stderr.isatty():
            print(file=sys.stderr)  # end the line a prompt left open
        return 130
    except BrokenPipeError:
        # The reader of standard output is gone (`| head`): stop quietly, as `cat` would, and
        # keep Python from failing again on the output still buffered when it exits.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except InUse as exc:
        return fail(f"{exc}\nIs a server already running on this data folder?")
    except (data_folder.FolderError, Unreachable) as exc:
        return fail(exc)
    except sqlite3.OperationalError as exc:
        if not exc.sqlite_errorname.startswith(_CANNOT_OPEN):
            raise
        return fail(
            f"cannot open the SQLite files of {data_dir(args)} ({exc}): run the command as the"
            " folder's owner"
        )
    except PermissionError as exc:
        return fail(f"{exc.strerror}: {exc.filename}")


if __name__ == "__main__":
    sys.exit(main())
