"""`clycyo user add`: a dashboard login, its password read from the terminal or standard input.

Like `site add`, it writes the configuration store directly, so it works whether or not a server
runs on the data folder. Only the password's hash is kept (`config/passwords.py`).
"""

from __future__ import annotations

import argparse
import getpass
import sys
import warnings
from pathlib import Path

from clycyo.commands.handlers import fail
from clycyo.config.passwords import MIN_PASSWORD_CHARS, hash_password
from clycyo.config.store import ConfigError, ConfigStore
from clycyo.settings import config_path


def run_add(args: argparse.Namespace, data_dir: Path) -> int:
    path = config_path(data_dir)
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
        return fail(exc)
    print(f"user {args.email} added")
    return 0


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
