"""The `clycyo` command line: parse arguments and hand each command to the module that does it.

Commands that change configuration (`site add`, `site set`, `user add`) write the SQLite
configuration store directly, so they work whether or not a server runs on the data folder; a
running server notices within a second.

An expected failure — a data folder missing or not this user's, a port in use, a server that
does not answer — ends with a `clycyo: …` line on standard error, never a traceback, and the exit
status says what happened: 1 a failure, 2 a wrong argument, 130 Ctrl-C, 141 standard output
closed early (`clycyo site list | head`), as for any command in a pipe.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sqlite3
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from clycyo import data_folder
from clycyo.config.passwords import MIN_PASSWORD_CHARS, hash_password
from clycyo.config.store import ConfigError, ConfigStore
from clycyo.settings import Settings, config_path, env_count

DESCRIPTION = (
    "Clycyo: self-hosted web and product analytics. `clycyo serve` runs the collector, the"
    " tracker script, the APIs and the dashboard; the other commands manage its sites, logins"
    " and data. `clycyo COMMAND --help` shows a command's options."
)


def _data_dir(args: argparse.Namespace) -> Path:
    value = args.data or os.environ.get("CLYCYO_DATA") or "./clycyo-data"
    return Path(value).resolve()


def _config(args: argparse.Namespace) -> ConfigStore:
    return ConfigStore(config_path(_data_dir(args)))


def _fail(message: object, status: int = 1) -> int:
    print(f"clycyo: {message}", file=sys.stderr)
    return status


def cmd_serve(args: argparse.Namespace) -> int:
    from clycyo.server import ListenError, public_sockets, serve
    from clycyo.store.clickhouse.transport import TransportError
    from clycyo.store.open import check_url

    data_dir = _data_dir(args)
    try:
        settings = Settings.from_env(
            data_dir,
            storage_url=args.storage,
            geoip_path=Path(args.geoip) if args.geoip else None,
            trusted_proxies=args.trusted_proxies,
            memory_limit=args.memory_limit,
        )
        check_url(settings.storage_url)
        _check_geoip(settings.geoip_path)
        workers = args.workers
        if workers is None:
            workers = env_count("CLYCYO_WORKERS") or 0
    except ValueError as exc:
        return _fail(exc, 2)
    # Everything that can be checked without opening the folder is checked before it is created.
    try:
        sockets = public_sockets(args.host, args.port)
    except ListenError as exc:
        return _fail(exc)
    try:
        data_folder.create(data_dir)
        demo = None
        if args.demo:
            from clycyo.demo.setup import prepare_demo

            demo = prepare_demo(settings.data_dir, args.host, args.port)
        serve(settings, args.host, args.port, workers=workers, after_start=demo, sockets=sockets)
    except TransportError as exc:
        return _fail(exc)
    finally:
        for sock in sockets:
            sock.close()
    return 0


def _check_geoip(path: Path | None) -> None:
    """Open the GeoIP database once, so a wrong path fails before the server starts."""
    if path is None:
        return
    from clycyo.pipeline.geo import open_city_reader

    try:
        open_city_reader(path).close()
    except OSError as exc:
        raise ValueError(f"--geoip (CLYCYO_GEOIP_DB) {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ValueError(f"--geoip (CLYCYO_GEOIP_DB) {exc}") from None


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
    if not _has_terminal():
        raise ConfigError(
            "no terminal to ask for the password: give it on standard input with --password-stdin"
        )
    try:
        with warnings.catch_warnings():
            # Without a terminal getpass would read standard input, echoing: refused above.
            warnings.simplefilter("error", getpass.GetPassWarning)
            first = getpass.getpass("Password: ")
            if first != getpass.getpass("Password again: "):
                raise ConfigError("the passwords differ")
    except (EOFError, getpass.GetPassWarning):
        raise ConfigError("no password given") from None
    return first


def _has_terminal() -> bool:
    """Whether getpass can ask on a terminal (it asks on /dev/tty, else on standard input)."""
    try:
        with open("/dev/tty", "rb"):
            return True
    except OSError:
        return sys.stdin.isatty()


def cmd_user_add(args: argparse.Namespace) -> int:
    path = config_path(_data_dir(args))
    # The configuration is created only once there is a password to keep: a prompt cut short
    # (Ctrl-C, no terminal, nothing on standard input) leaves no new file behind. Sites are
    # checked first where a configuration exists, so a mistyped one costs no typing.
    config = ConfigStore(path) if path.exists() else None
    try:
        site_ids = []
        for domain in args.site or []:
            site = config.site_by_domain(domain) if config is not None else None
            if site is None:
                raise ConfigError(f"no site {domain}")
            site_ids.append(site.id)
        password = _read_password(args)
        if len(password) < MIN_PASSWORD_CHARS:
            raise ConfigError(f"the password needs at least {MIN_PASSWORD_CHARS} characters")
        if config is None:
            config = ConfigStore(path)
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

    if args.url is None:  # a query sent to --url needs no data folder here
        data_folder.require(_data_dir(args))
    return run(args, _data_dir(args))


def cmd_demo(args: argparse.Namespace) -> int:
    from clycyo.demo.send import run

    return run(args, _data_dir(args))


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
        "serve", cmd_serve, "serve the collector, APIs, tracker and dashboard", folder=None
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
        "--workers",
        type=count,
        default=None,
        help="collector processes sharing the port (default 0: one process; env CLYCYO_WORKERS)",
    )

    from clycyo.commands.sites import add_arguments as site_arguments

    site_commands = group("site", "manage sites, their keys and settings")
    add = command("add", cmd_site_add, "create a site and its keys", site_commands, folder="create")
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
    listing.add_argument("--json", action="store_true", help="print a JSON list")

    user_commands = group("user", "manage dashboard logins")
    user_add = command(
        "add", cmd_user_add, "create a dashboard login", user_commands, folder="create"
    )
    user_add.add_argument("email")
    user_add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    user_add.add_argument(
        "--site", action="append", help="a site this user may see (repeat; default: every site)"
    )

    quarantine = group("quarantine", "inspect and replay rejected events")
    listed = command("list", cmd_quarantine, "list rejected events, newest first", quarantine)
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
        entry = command(action, cmd_quarantine, help_text, quarantine)
        entry.set_defaults(action=action)
        entry.add_argument("entry", type=positive, help="the entry's id (from list)")
        entry.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # it always is

    from clycyo.commands.credentials import ACTIONS
    from clycyo.commands.credentials import add_arguments as credential_arguments

    for name, handler, help_text, many_sites in (
        ("token", cmd_token, "API tokens for the query API and dashboard data", True),
        ("share", cmd_share, "read-only shared links to a site's dashboard", False),
    ):
        actions = group(name, help_text)
        for action, action_help in ACTIONS[name]:
            sub = command(action, handler, action_help, actions)
            sub.set_defaults(action=action)
            credential_arguments(sub, action, many_sites=many_sites)

    export = command("export", cmd_export, "write a site's raw events to Parquet or CSV")
    export.add_argument("--site", required=True, help="the site's domain")
    export.add_argument(
        "--format", choices=["parquet", "csv"], default="parquet", help="(default parquet)"
    )
    export.add_argument("--out", required=True, help="the file to write")
    export.add_argument("--from", dest="from_day", help="first day, YYYY-MM-DD (UTC)")
    export.add_argument("--to", dest="to_day", help="last day, YYYY-MM-DD (UTC), included")
    backup = command("backup", cmd_backup, "copy the data folder consistently, even while serving")
    backup.add_argument("dest", help="a new or empty folder")
    backup.add_argument("--json", action="store_true", help="print a JSON report")
    compact = command(
        "compact", cmd_compact, "rewrite the event store with only its live rows (server stopped)"
    )
    compact.add_argument("--json", action="store_true", help="print a JSON report")
    compact.add_argument(
        "--memory-limit",
        help="the most memory DuckDB may use for the copy, e.g. 512MB (default: DuckDB's, 80%% of"
        " RAM; env CLYCYO_MEMORY_LIMIT)",
    )

    migrate = command("migrate", cmd_migrate, "copy the event store to ClickHouse (resumable)")
    migrate.add_argument("--from", dest="source", help="duckdb://PATH (default: the data folder's)")
    migrate.add_argument("--to", dest="target", required=True, help="chdb://PATH or clickhouse://…")
    migrate.add_argument("--quiet", action="store_true", help="no progress bar")

    query = command(
        "query", cmd_query, "run a stats query (the query API's spec) and print it", folder=None
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
        "--compare", action="store_true", help="add the previous period and the change"
    )
    query.add_argument("--spec", help="a JSON file with the query's spec ('-': standard input)")
    query.add_argument("--url", help="a server to ask (default: the one running on --data)")
    query.add_argument("--key", help="secret key or API token for the server (env CLYCYO_KEY)")
    query.add_argument("--json", action="store_true", help="print the API's JSON answer")

    from clycyo.demo.world import DEFAULT_DAYS, DEFAULT_VISITORS_PER_DAY

    demo = command(
        "demo", cmd_demo, "send two months of realistic demo events to a server", folder=None
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
            data_folder.create(_data_dir(args))
        elif args.folder == "existing":
            data_folder.require(_data_dir(args))
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
        return _fail(f"{exc}\nIs a server already running on this data folder?")
    except (data_folder.FolderError, Unreachable) as exc:
        return _fail(exc)
    except sqlite3.OperationalError as exc:
        if not exc.sqlite_errorname.startswith(_CANNOT_OPEN):
            raise
        return _fail(
            f"cannot open the SQLite files of {_data_dir(args)} ({exc}): run the command as the"
            " folder's owner"
        )
    except PermissionError as exc:
        return _fail(f"{exc.strerror}: {exc.filename}")


if __name__ == "__main__":
    sys.exit(main())
