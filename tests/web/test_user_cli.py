"""`clycyo user list|remove|password` against a running server: a removed login and a reset
password end the login's dashboard sessions at once, and the new password logs in."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from clycyo.config.access import AccessStore
from clycyo.config.passwords import hash_password
from clycyo.config.store import ConfigError, ConfigStore
from tests.serverproc import Site, clycyo, run_clycyo
from tests.web.http_login import Clients, clients

__all__ = ["clients"]  # the fixture

PASSWORD = "correct horse battery"


def _add(site: Site, email: str, *sites: str) -> None:
    options = [arg for domain in sites for arg in ("--site", domain)]
    clycyo(
        "user", "add", email, *options, "--password-stdin",
        data=site.data_dir, stdin=PASSWORD + "\n",
    )  # fmt: skip


def _reads(client: httpx.Client, site: Site) -> int:
    """The status of the logged-in overview's `.json` twin: 200 while the session lives."""
    return client.get(f"/sites/{site.site}.json").status_code


def _logged_in(site: Site, email: str, password: str, clients: Clients) -> httpx.Client:
    status, client = clients.log_in(site.server, email, password)
    assert status == 303
    assert _reads(client, site) == 200
    return client


def test_user_list_shows_each_login_its_sites_and_last_login(
    server: Site, clients: Clients
) -> None:
    email = f"list-{server.site}@example.com"
    _add(server, email, server.site)
    before = {
        u["email"]: u for u in json.loads(clycyo("user", "list", "--json", data=server.data_dir))
    }
    assert before[email]["sites"] == [server.site] and before[email]["every_site"] is False
    assert before[email]["last_login_at"] is None and before[email]["created_at"]
    _logged_in(server, email, PASSWORD, clients)
    after = {
        u["email"]: u for u in json.loads(clycyo("user", "list", "--json", data=server.data_dir))
    }
    assert after[email]["last_login_at"] is not None
    text = clycyo("user", "list", data=server.data_dir)
    line = next(line for line in text.splitlines() if line.startswith(email))
    assert server.site in line and "last login never" not in line and "$" not in text


def test_a_password_reset_ends_every_session_and_only_the_new_password_logs_in(
    server: Site, clients: Clients
) -> None:
    email = f"reset-{server.site}@example.com"
    _add(server, email, server.site)
    first = _logged_in(server, email, PASSWORD, clients)
    second = _logged_in(server, email, PASSWORD, clients)

    short = run_clycyo(
        "user", "password", email, "--password-stdin", data=server.data_dir, stdin="short\n"
    )
    assert short.returncode == 1 and "at least 8 characters" in short.stderr
    assert _reads(first, server) == 200  # a refused reset changes nothing
    unknown = run_clycyo(
        "user", "password", "nobody@example.com", "--password-stdin",
        data=server.data_dir, stdin="long enough password\n",
    )  # fmt: skip
    assert unknown.returncode == 1 and "no user" in unknown.stderr

    new_password = "a new long password"
    said = clycyo(
        "user", "password", email, "--password-stdin",
        data=server.data_dir, stdin=new_password + "\n",
    )  # fmt: skip
    assert "2 dashboard sessions ended" in said
    assert _reads(first, server) == 401 and _reads(second, server) == 401
    assert clients.log_in(server.server, email, PASSWORD)[0] == 401
    _logged_in(server, email, new_password, clients)


def test_a_removed_login_loses_its_sessions_at_once_and_cannot_log_in(
    server: Site, clients: Clients
) -> None:
    email = f"gone-{server.site}@example.com"
    _add(server, email, server.site)
    kept = f"kept-{server.site}@example.com"
    _add(server, kept, server.site)
    session = _logged_in(server, email, PASSWORD, clients)
    other = _logged_in(server, kept, PASSWORD, clients)
    page = session.get(f"/sites/{server.site}/settings")
    assert page.status_code == 200 and "sk_" in page.text  # the keys' hints

    said = clycyo("user", "remove", email, data=server.data_dir)
    assert "1 dashboard session ended" in said
    assert _reads(session, server) == 401
    assert session.get(f"/sites/{server.site}/settings").status_code == 303  # to the login
    assert clients.log_in(server.server, email, PASSWORD)[0] == 401
    assert _reads(other, server) == 200  # another login's session is untouched
    listed = json.loads(clycyo("user", "list", "--json", data=server.data_dir))
    assert email not in [u["email"] for u in listed] and kept in [u["email"] for u in listed]
    again = run_clycyo("user", "remove", email, data=server.data_dir)
    assert again.returncode == 1 and "no user" in again.stderr


def test_a_login_checked_against_an_old_password_opens_no_session(tmp_path: Path) -> None:
    """A login whose password was verified just before a reset (or a removal) finishes after
    it: no session may come of it."""
    config = ConfigStore(tmp_path / "config.sqlite")
    access = AccessStore(config)
    user_id = config.add_user("ada@example.com", hash_password(PASSWORD))
    checked = config.user_by_email("ada@example.com")
    assert checked is not None
    access.set_password("ada@example.com", hash_password("a new long password"))
    with pytest.raises(ConfigError):
        access.open_session(user_id, checked[1])
    fresh = config.user_by_email("ada@example.com")
    assert fresh is not None
    token, _ = access.open_session(user_id, fresh[1])
    assert access.session(token) is not None
    access.remove_user("ada@example.com")
    assert access.session(token) is None
    with pytest.raises(ConfigError):
        access.open_session(user_id, fresh[1])


def test_a_store_made_before_last_login_was_kept_gains_it(tmp_path: Path) -> None:
    """A configuration written by an earlier version (users without `last_login_at`) opens, keeps
    its logins, and records their next login."""
    import sqlite3

    path = tmp_path / "config.sqlite"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE COLLATE NOCASE,"
            " password_hash TEXT NOT NULL, created_at REAL NOT NULL)"
        )
        old.execute(
            "INSERT INTO users (email, password_hash, created_at) VALUES (?, ?, 1.0)",
            ("ada@example.com", hash_password(PASSWORD)),
        )
    old.close()
    config = ConfigStore(path)
    ConfigStore(path)  # a second opening (another process) finds it done
    (user,) = config.users()
    assert (user.email, user.last_login_at, user.site_ids) == ("ada@example.com", None, ())
    assert user.role == "admin"  # as every login was before roles
    checked = config.user_by_email("ada@example.com")
    assert checked is not None
    AccessStore(config).open_session(user.id, checked[1])
    (user,) = config.users()
    assert user.last_login_at is not None


def test_logins_are_named_as_stored_and_removing_the_last_says_none_is_left(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    added = clycyo(
        "user", "add", " Ann@Example.com ", "--password-stdin", data=data, stdin=PASSWORD + "\n"
    )
    assert added == "user Ann@Example.com added\n"
    clycyo("user", "add", "bob@example.com", "--password-stdin", data=data, stdin=PASSWORD + "\n")
    # Typed in another case, with spaces around: found, and named as it was added.
    changed = run_clycyo(
        "user", "password", " ann@EXAMPLE.COM ", "--password-stdin",
        data=data, stdin="another long password\n",
    )  # fmt: skip
    assert (changed.returncode, changed.stderr) == (0, "")
    assert changed.stdout == "password of Ann@Example.com changed (0 dashboard sessions ended)\n"
    removed = run_clycyo("user", "remove", " ANN@example.com ", data=data)
    assert (removed.returncode, removed.stderr) == (0, "")  # another login is left
    assert removed.stdout == "user Ann@Example.com removed (0 dashboard sessions ended)\n"

    last = run_clycyo("user", "remove", "Bob@Example.COM", data=data)
    assert last.returncode == 0
    assert last.stdout == "user bob@example.com removed (0 dashboard sessions ended)\n"
    assert last.stderr == (
        "No dashboard login is left: nobody can sign in until one is added with"
        " `clycyo user add EMAIL`.\n"
    )
    assert json.loads(clycyo("user", "list", "--json", data=data)) == []
    # The command it names is the one that adds a login.
    (named,) = re.findall(r"`clycyo ([^`]+)`", last.stderr)
    args = named.replace("EMAIL", "cy@example.com").split()
    clycyo(*args, "--password-stdin", data=data, stdin=PASSWORD + "\n")
    assert [u["email"] for u in json.loads(clycyo("user", "list", "--json", data=data))] == [
        "cy@example.com"
    ]


def _settings_form(client: httpx.Client, site: Site) -> httpx.Response:
    """A post of the Settings page's page-goal form: 303 for an admin, 403 for a viewer."""
    page = client.get(f"/sites/{site.site}/settings")
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    form = {"csrf": csrf, "pattern": "/role-check"}
    return client.post(f"/sites/{site.site}/settings/goals", data=form)


def test_a_role_is_given_at_add_listed_and_changed_for_the_open_sessions(
    server: Site, clients: Clients
) -> None:
    viewer = f"viewer-{server.site}@example.com"
    added = clycyo(
        "user", "add", viewer, "--site", server.site, "--role", "viewer", "--password-stdin",
        data=server.data_dir, stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert added == f"user {viewer} added as a viewer\n"
    admin = f"admin-{server.site}@example.com"
    _add(server, admin, server.site)  # no --role: an admin, as before
    roles = {
        u["email"]: u["role"]
        for u in json.loads(clycyo("user", "list", "--json", data=server.data_dir))
    }
    assert (roles[viewer], roles[admin]) == ("viewer", "admin")
    text = clycyo("user", "list", data=server.data_dir).splitlines()
    assert next(line for line in text if line.startswith(viewer)).endswith("role viewer")

    session = _logged_in(server, viewer, PASSWORD, clients)
    refused = _settings_form(session, server)
    assert refused.status_code == 403 and "viewer login only reads" in refused.text
    said = clycyo("user", "role", viewer.upper(), "admin", data=server.data_dir)
    assert said == f"{viewer} is now an admin (its open sessions too, from their next request)\n"
    assert _settings_form(session, server).status_code == 303  # the same session, no new login
    clycyo("user", "role", viewer, "viewer", data=server.data_dir)
    assert _settings_form(session, server).status_code == 403
    assert _reads(session, server) == 200  # still signed in, reading
    again = clycyo("user", "role", viewer, "viewer", data=server.data_dir)
    assert again == f"{viewer} is a viewer already\n"

    unknown = run_clycyo("user", "role", "nobody@example.com", "viewer", data=server.data_dir)
    assert unknown.returncode == 1 and "no user nobody@example.com" in unknown.stderr
    wrong = run_clycyo("user", "role", viewer, "owner", data=server.data_dir)
    assert wrong.returncode == 2 and "invalid choice: 'owner'" in wrong.stderr
