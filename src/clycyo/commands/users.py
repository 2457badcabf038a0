"""`clycyo user add|list|remove|password|reset-2fa|role`: dashboard logins; a password is read
from the terminal or standard input.

Like `site add`, these write the configuration store directly, so they work whether or not a
server runs on the data folder. Only the password's hash is kept (`config/passwords.py`).
Removing a login, setting its password or turning its two-factor sign-in off for a lost device
ends every session it has at once: a running server reads sessions from the store on each
request, and so does a login's new role (`config/roles.py`), from their next request on.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import warnings
from pathlib import Path

from clycyo.commands.credentials import utc_text
from clycyo.commands.handlers import fail
from clycyo.config.access import AccessStore
from clycyo.config.passwords import MIN_PASSWORD_CHARS, hash_password
from clycyo.config.roles import VIEWER
from clycyo.config.store import ConfigError, ConfigStore
from clycyo.config.two_factor import TwoFactorStore
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
        password = _new_password(args)
        if config is None:
            config = ConfigStore(path)
        config.add_user(args.email, hash_password(password), site_ids, args.role)
    except ConfigError as exc:
        return fail(exc)
    as_viewer = " as a viewer" if args.role == VIEWER else ""
    print(f"user {args.email.strip()} added{as_viewer}")  # as stored
    return 0


def run_list(args: argparse.Namespace, config: ConfigStore) -> int:
    domains = {s.id: s.domain for s in config.sites()}
    rows = [
        {
            "email": user.email,
            "sites": [domains.get(i, str(i)) for i in user.site_ids],
            "every_site": not user.site_ids,  # a login added without --site sees every site
            "created_at": utc_text(user.created_at),
            "last_login_at": utc_text(user.last_login_at),
            "two_factor": user.two_factor,
            "role": user.role,
        }
        for user in config.users()
    ]
    if args.json:
        print(json.dumps(rows))
        return 0
    for row in rows:
        sites = "(every site)" if row["every_site"] else ",".join(row["sites"])  # type: ignore[arg-type]
        print(
            f"{row['email']}  {sites}  created {row['created_at']}"
            f"  last login {row['last_login_at'] or 'never'}"
            f"  two-factor {'on' if row['two_factor'] else 'off'}  role {row['role']}"
        )
    if not rows:
        print("no users")
    return 0


def run_remove(args: argparse.Namespace, config: ConfigStore) -> int:
    try:
        email = _stored_email(config, args.email)
        ended = AccessStore(config).remove_user(email)
    except ConfigError as exc:
        return fail(exc)
    print(f"user {email} removed ({_sessions(ended)} ended)")
    if not config.users():
        print(
            "No dashboard login is left: nobody can sign in until one is added with"
            " `clycyo user add EMAIL`.",
            file=sys.stderr,
        )
    return 0


def run_password(args: argparse.Namespace, config: ConfigStore) -> int:
    try:
        email = _stored_email(config, args.email)  # asked before the password is typed
        password = _new_password(args)
        ended = AccessStore(config).set_password(email, hash_password(password))
    except ConfigError as exc:
        return fail(exc)
    print(f"password of {email} changed ({_sessions(ended)} ended)")
    return 0


def run_reset_2fa(args: argparse.Namespace, config: ConfigStore) -> int:
    try:
        email = _stored_email(config, args.email)
    except ConfigError as exc:
        return fail(exc)
    user = next(u for u in config.users() if u.email == email)
    ended = TwoFactorStore(config).turn_off(user.id, end_sessions=True)
    if ended is None:
        print(f"two-factor sign-in of {email} was off already")
        return 0
    print(
        f"two-factor sign-in of {email} turned off ({_sessions(ended)} ended);"
        " the password alone signs in until it is turned on again on the Account page"
    )
    return 0


def run_role(args: argparse.Namespace, config: ConfigStore) -> int:
    try:
        email = _stored_email(config, args.email)
        changed = config.set_user_role(email, args.role)
    except ConfigError as exc:
        return fail(exc)
    named = "a viewer" if args.role == VIEWER else "an admin"
    if not changed:
        print(f"{email} is {named} already")
        return 0
    print(f"{email} is now {named} (its open sessions too, from their next request)")
    return 0


def _stored_email(config: ConfigStore, typed: str) -> str:
    """The login's email as it was added (logins are found whatever the case), which the
    command's output names rather than the text typed."""
    email = config.user_email(typed)
    if email is None:
        raise ConfigError(f"no user {typed.strip()}")
    return email


def _sessions(count: int) -> str:
    return "1 dashboard session" if count == 1 else f"{count} dashboard sessions"


def _new_password(args: argparse.Namespace) -> str:
    password = _read_password(args)
    if len(password) < MIN_PASSWORD_CHARS:
        raise ConfigError(f"the password needs at least {MIN_PASSWORD_CHARS} characters")
    return password


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
