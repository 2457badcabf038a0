"""Each command's handler, as the parser (`cli.py`) calls it: `handler(args) -> exit status`.

A handler finds what its command works on (the data folder, the configuration store) and
imports the command's module only then, so that `clycyo --help` or `clycyo site list` does not
load what `serve` or `export` needs (the server, the event stores, pyarrow).

Commands that change configuration (`site add`, `site set`, users, secret keys, tokens,
shared links, page goals, shields, annotations, segments and email report recipients)
write the SQLite configuration store directly, so they work whether or not a server runs on the
data folder; a running server notices within a second.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from clycyo import data_folder
from clycyo.config.store import ConfigStore
from clycyo.settings import config_path


def data_dir(args: argparse.Namespace) -> Path:
    """The data folder a command works on: `--data`, else `CLYCYO_DATA`, else ./clycyo-data."""
    value = args.data or os.environ.get("CLYCYO_DATA") or "./clycyo-data"
    return Path(value).resolve()


def fail(message: object, status: int = 1) -> int:
    """Say why a command failed, on one `clycyo: …` line; `status` to exit with."""
    print(f"clycyo: {message}", file=sys.stderr)
    return status


def _config(args: argparse.Namespace) -> ConfigStore:
    return ConfigStore(config_path(data_dir(args)))


def serve(args: argparse.Namespace) -> int:
    from clycyo.commands.serve import run

    return run(args, data_dir(args))


def site_add(args: argparse.Namespace) -> int:
    from clycyo.commands.sites import run_add

    return run_add(args, _config(args))


def site_set(args: argparse.Namespace) -> int:
    from clycyo.commands.sites import run_set

    return run_set(args, _config(args))


def site_list(args: argparse.Namespace) -> int:
    from clycyo.commands.sites import run_list

    return run_list(args, _config(args))


def site_remove(args: argparse.Namespace) -> int:
    from clycyo.commands.sites import run_remove

    return run_remove(args, data_dir(args))


def user_add(args: argparse.Namespace) -> int:
    from clycyo.commands.users import run_add

    return run_add(args, data_dir(args))


def user_list(args: argparse.Namespace) -> int:
    from clycyo.commands.users import run_list

    return run_list(args, _config(args))


def user_remove(args: argparse.Namespace) -> int:
    from clycyo.commands.users import run_remove

    return run_remove(args, _config(args))


def user_password(args: argparse.Namespace) -> int:
    from clycyo.commands.users import run_password

    return run_password(args, _config(args))


def user_reset_2fa(args: argparse.Namespace) -> int:
    from clycyo.commands.users import run_reset_2fa

    return run_reset_2fa(args, _config(args))


def user_role(args: argparse.Namespace) -> int:
    from clycyo.commands.users import run_role

    return run_role(args, _config(args))


def key(args: argparse.Namespace) -> int:
    from clycyo.commands.keys import run_key

    return run_key(args, _config(args))


def quarantine(args: argparse.Namespace) -> int:
    from clycyo.commands.quarantine import run

    return run(args, data_dir(args))


def token(args: argparse.Namespace) -> int:
    from clycyo.commands.credentials import run_token

    return run_token(args, _config(args))


def share(args: argparse.Namespace) -> int:
    from clycyo.commands.credentials import run_share

    return run_share(args, _config(args))


def goal(args: argparse.Namespace) -> int:
    from clycyo.commands.goals import run_goal

    return run_goal(args, _config(args))


def shield(args: argparse.Namespace) -> int:
    from clycyo.commands.shields import run_shield

    return run_shield(args, _config(args))


def annotation(args: argparse.Namespace) -> int:
    from clycyo.commands.annotations import run_annotation

    return run_annotation(args, _config(args))


def segment(args: argparse.Namespace) -> int:
    from clycyo.commands.segments import run_segment

    return run_segment(args, _config(args))


def report_send(args: argparse.Namespace) -> int:
    from clycyo.commands.reports import run_send

    return run_send(args, _config(args), data_dir(args))


def report_recipient(args: argparse.Namespace) -> int:
    from clycyo.commands.report_recipients import run_recipient

    return run_recipient(args, _config(args))


def export(args: argparse.Namespace) -> int:
    from clycyo.commands.export import run

    return run(args, data_dir(args))


def import_events(args: argparse.Namespace) -> int:
    from clycyo.commands.import_events import run

    return run(args, data_dir(args))


def backup(args: argparse.Namespace) -> int:
    from clycyo.commands.backup import run

    return run(args, data_dir(args))


def compact(args: argparse.Namespace) -> int:
    from clycyo.commands.compact import run

    return run(args, data_dir(args))


def migrate(args: argparse.Namespace) -> int:
    from clycyo.commands.migrate import run

    return run(args, data_dir(args))


def query(args: argparse.Namespace) -> int:
    from clycyo.commands.query import run

    if args.url is None:  # a query sent to --url needs no data folder here
        data_folder.require(data_dir(args))
    return run(args, data_dir(args))


def demo(args: argparse.Namespace) -> int:
    from clycyo.demo.send import run

    return run(args, data_dir(args))
