"""Login roles in the configuration store: a store made before roles existed opens with every
login an admin, a role is one of two, and a session reads its login's role as it is now."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from clycyo.config.access import AccessStore
from clycyo.config.passwords import hash_password
from clycyo.config.store import ConfigError, ConfigStore

PASSWORD = "correct horse battery"


def test_a_store_made_before_roles_keeps_its_logins_as_admins(tmp_path: Path) -> None:
    path = tmp_path / "config.sqlite"
    ConfigStore(path).add_user("ada@example.com", hash_password(PASSWORD))
    with sqlite3.connect(path) as earlier:  # the users table as the version before roles left it
        earlier.execute("ALTER TABLE users DROP COLUMN role")
    earlier.close()
    config = ConfigStore(path)
    ConfigStore(path)  # a second opening (another process) finds it done
    (user,) = config.users()
    assert (user.email, user.role) == ("ada@example.com", "admin")
    config.add_user("bob@example.com", hash_password(PASSWORD), role="viewer")
    assert [u.role for u in config.users()] == ["admin", "viewer"]


def test_a_session_acts_in_its_login_s_role_as_it_is_now(tmp_path: Path) -> None:
    config = ConfigStore(tmp_path / "config.sqlite")
    access = AccessStore(config)
    user_id = config.add_user("ada@example.com", hash_password(PASSWORD))
    token, session = access.open_session(user_id)
    assert (session.role, session.changes_sites) == ("admin", True)
    assert config.set_user_role(" ADA@example.com ", "viewer") is True
    now = access.session(token)
    assert now is not None and (now.role, now.changes_sites) == ("viewer", False)
    assert config.set_user_role("ada@example.com", "viewer") is False  # already
    with pytest.raises(ConfigError, match="not a role"):
        config.set_user_role("ada@example.com", "owner")
    with pytest.raises(ConfigError, match="no user"):
        config.set_user_role("nobody@example.com", "admin")
    with pytest.raises(ConfigError, match="not a role"):
        config.add_user("cy@example.com", hash_password(PASSWORD), role="root")
    assert [u.email for u in config.users()] == ["ada@example.com"]
