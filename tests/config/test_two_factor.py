"""The two-factor store: codes of one step either side are good and each step is used once,
recovery codes are kept hashed and used once, a login with two-factor on gets a session only
with a code checked, and a configuration made before two-factor existed opens and gains it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pyotp
import pytest

from clycyo.config import two_factor
from clycyo.config.access import AccessStore
from clycyo.config.passwords import hash_password
from clycyo.config.store import ConfigError, ConfigStore
from clycyo.config.two_factor import STEP_S, TwoFactorStore

PASSWORD = "correct horse battery"
NOW_S = 1_800_000_015.0  # 15 s into a step


def _on(config: ConfigStore, user_id: int) -> tuple[str, list[str]]:
    secret = two_factor.new_secret()
    step = two_factor.code_step(secret, pyotp.TOTP(secret).at(NOW_S), NOW_S)
    assert step == int(NOW_S // STEP_S)
    codes = two_factor.new_recovery_codes()
    TwoFactorStore(config).turn_on(user_id, secret, step, two_factor.hash_recovery_codes(codes))
    return secret, codes


def test_a_code_is_good_one_step_either_side_and_each_step_once(tmp_path: Path) -> None:
    config = ConfigStore(tmp_path / "config.sqlite")
    user_id = config.add_user("ada@example.com", hash_password(PASSWORD))
    secret, _ = _on(config, user_id)
    store = TwoFactorStore(config)
    totp = pyotp.TOTP(secret)
    assert two_factor.code_step(secret, totp.at(NOW_S - 2 * STEP_S), NOW_S) is None
    assert two_factor.code_step(secret, totp.at(NOW_S + 2 * STEP_S), NOW_S) is None
    assert two_factor.code_step(secret, "12 34 5", NOW_S) is None
    # The step used to turn it on is used; the one before too, being earlier.
    assert store.check(user_id, totp.at(NOW_S), NOW_S) == "used"
    assert store.check(user_id, totp.at(NOW_S - STEP_S), NOW_S) == "used"
    following = totp.at(NOW_S + STEP_S)
    assert store.check(user_id, following[:3] + " " + following[3:], NOW_S) == "app"
    assert store.check(user_id, following, NOW_S + STEP_S) == "used"


def test_recovery_codes_are_kept_hashed_and_used_once(tmp_path: Path) -> None:
    path = tmp_path / "config.sqlite"
    config = ConfigStore(path)
    user_id = config.add_user("ada@example.com", hash_password(PASSWORD))
    secret, codes = _on(config, user_id)
    store = TwoFactorStore(config)
    assert len(set(codes)) == two_factor.RECOVERY_CODE_COUNT
    with sqlite3.connect(path) as db:
        kept = " ".join(str(row) for row in db.execute("SELECT * FROM recovery_codes"))
    db.close()
    assert not any(code in kept or code.replace("-", "") in kept for code in codes)
    assert store.check(user_id, codes[0].upper().replace("-", " "), NOW_S) == "recovery"
    assert store.check(user_id, codes[0], NOW_S) is None
    state = store.state(user_id)
    assert state is not None and state.recovery_codes_left == 9
    assert store.check(user_id, "aaaaa-aaaaa", NOW_S) is None
    assert secret  # kept as it is: docs/security.md says so


def test_a_session_needs_the_second_factor_once_it_is_on(tmp_path: Path) -> None:
    config = ConfigStore(tmp_path / "config.sqlite")
    access = AccessStore(config)
    user_id = config.add_user("ada@example.com", hash_password(PASSWORD))
    found = config.user_by_email("ada@example.com")
    assert found is not None
    kept, _ = access.open_session(user_id, found[1])
    other, _ = access.open_session(user_id, found[1])
    secret = two_factor.new_secret()
    step = int(NOW_S // STEP_S)
    ended = TwoFactorStore(config).turn_on(user_id, secret, step, [], kept_session=kept)
    assert ended == 1 and access.session(kept) is not None and access.session(other) is None
    with pytest.raises(ConfigError):
        access.open_session(user_id, found[1])  # checked against the password alone
    with pytest.raises(ConfigError):
        TwoFactorStore(config).turn_on(user_id, secret, step, [])
    token, _ = access.open_session(user_id, found[1], second_factor=True)
    assert access.session(token) is not None
    assert config.users()[0].two_factor
    access.remove_user("ada@example.com")  # its secret and codes go with it
    assert config.users() == []
    assert TwoFactorStore(config).state(user_id) is None


def test_a_store_made_before_two_factor_opens_and_gains_it(tmp_path: Path) -> None:
    """A configuration written by an earlier version (no two-factor tables, sessions already
    open) opens, keeps its logins and sessions, and two-factor can be turned on."""
    path = tmp_path / "config.sqlite"
    with sqlite3.connect(path) as old:
        old.executescript(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE COLLATE"
            " NOCASE, password_hash TEXT NOT NULL, created_at REAL NOT NULL, last_login_at REAL);"
            "CREATE TABLE dashboard_sessions (token_hash TEXT PRIMARY KEY, user_id INTEGER NOT"
            " NULL REFERENCES users(id), csrf_token TEXT NOT NULL, created_at REAL NOT NULL,"
            " expires_at REAL NOT NULL);"
        )
        old.execute(
            "INSERT INTO users (email, password_hash, created_at) VALUES (?, ?, 1.0)",
            ("ada@example.com", hash_password(PASSWORD)),
        )
        old.execute("INSERT INTO dashboard_sessions VALUES ('h', 1, 'c', 1.0, 9e12)")
    old.close()
    config = ConfigStore(path)
    ConfigStore(path)  # a second opening (another process) finds it done
    (user,) = config.users()
    assert (user.email, user.two_factor) == ("ada@example.com", False)
    store = TwoFactorStore(config)
    assert store.state(user.id) is None
    _on(config, user.id)
    assert config.users()[0].two_factor
    with sqlite3.connect(path) as db:
        (sessions,) = db.execute("SELECT count(*) FROM dashboard_sessions").fetchone()
    db.close()
    assert sessions == 0  # the session opened with the password alone ended


def test_a_recovery_code_of_digits_only_is_still_a_recovery_code(tmp_path: Path) -> None:
    config = ConfigStore(tmp_path / "config.sqlite")
    user_id = config.add_user("ada@example.com", hash_password(PASSWORD))
    secret = two_factor.new_secret()
    store = TwoFactorStore(config)
    hashes = two_factor.hash_recovery_codes(["23456-78923"])
    store.turn_on(user_id, secret, int(NOW_S // STEP_S), hashes)
    assert store.check(user_id, "23456 78923", NOW_S) == "recovery"  # typed without its dash
