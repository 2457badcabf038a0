"""The login form's defences: throttling per address and per account (a delay, never a lock the
owner cannot pass), bounded memory that a flood cannot flush, and a CSRF token the server signed."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from clycyo.app import build_app
from clycyo.config.passwords import hash_password
from clycyo.runtime import Runtime, Settings
from clycyo.web.dashboard.login_throttle import (
    ACCOUNT_MAX_DELAY_S,
    ADDRESS_MAX_FAILURES,
    ADDRESS_WINDOW_S,
    LoginThrottle,
    account_delay_s,
)
from clycyo.web.dashboard.login_tokens import CSRF_TTL_S, LoginTokens
from tests.web.conftest import PASSWORD, Dashboard


class Clock:
    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


def csrf_of(client: TestClient) -> str:
    page = client.get("/login")
    return page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def attempt(client: TestClient, email: str, password: str) -> int:
    data = {"csrf": csrf_of(client), "email": email, "password": password}
    return client.post("/login", data=data).status_code


def from_address(dashboard: Dashboard, address: str) -> TestClient:
    return TestClient(dashboard.client.app, follow_redirects=False, client=(address, 40000))


def test_an_accounts_failures_cost_a_growing_delay_that_always_ends() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock)
    for _ in range(5):
        assert throttle.wait_s("198.51.100.1", "ada@example.com", known_browser=False) == 0
        throttle.failed(f"198.51.100.{clock.now_s:.0f}", "ada@example.com")
        clock.now_s += 1
    waits = []
    for _ in range(12):
        wait = throttle.wait_s("203.0.113.9", "ada@example.com", known_browser=False)
        waits.append(wait)
        clock.now_s += wait
        throttle.failed(f"203.0.113.{len(waits)}", "ada@example.com")
    assert waits[:6] == [0, 2, 4, 8, 16, 32]  # seconds since the last failure, doubling
    assert max(waits) <= ACCOUNT_MAX_DELAY_S
    assert account_delay_s(40) == ACCOUNT_MAX_DELAY_S
    clock.now_s += ACCOUNT_MAX_DELAY_S
    assert throttle.wait_s("203.0.113.77", "ada@example.com", known_browser=False) == 0
    # A browser that logged in to the account before does not wait at all.
    throttle.failed("203.0.113.78", "ada@example.com")
    assert throttle.wait_s("192.0.2.1", "ada@example.com", known_browser=True) == 0
    throttle.succeeded("ada@example.com")
    assert throttle.wait_s("192.0.2.1", "ada@example.com", known_browser=False) == 0


def test_an_address_failing_on_many_accounts_waits_for_its_window() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock)
    for n in range(ADDRESS_MAX_FAILURES):
        assert throttle.wait_s("198.51.100.7", f"user{n}@example.com", known_browser=False) == 0
        throttle.failed("198.51.100.7", f"user{n}@example.com")
    wait = throttle.wait_s("198.51.100.7", "someone@example.com", known_browser=True)
    assert 0 < wait <= ADDRESS_WINDOW_S
    assert throttle.wait_s("198.51.100.8", "someone@example.com", known_browser=False) == 0
    throttle.succeeded("user0@example.com")  # its own login does not clear the address
    assert throttle.wait_s("198.51.100.7", "x@example.com", known_browser=False) == wait
    clock.now_s += ADDRESS_WINDOW_S
    assert throttle.wait_s("198.51.100.7", "someone@example.com", known_browser=False) == 0


def test_a_flood_of_junk_emails_does_not_lift_a_victims_delay() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock, max_entries=100)
    for n in range(8):
        throttle.failed(f"198.51.100.{n}", "admin@example.com")
    before = throttle.wait_s(None, "admin@example.com", known_browser=False)
    assert before > 0
    for n in range(10_000):
        throttle.failed(f"2001:db8:{n:x}::1", f"junk{n}@example.com")
    assert throttle.wait_s(None, "admin@example.com", known_browser=False) == before
    addresses, accounts = throttle.tracked()
    assert addresses <= 100 and accounts <= 100


def test_csrf_tokens_are_signed_and_expire() -> None:
    tokens = LoginTokens(b"k" * 32)
    token = tokens.csrf_token(now_s=10_000)
    assert tokens.csrf_valid(token, now_s=10_000 + CSRF_TTL_S)
    assert not tokens.csrf_valid(token, now_s=10_001 + CSRF_TTL_S)
    assert not LoginTokens(b"j" * 32).csrf_valid(token, now_s=10_000)
    issued, nonce, mac = token.split(".")
    assert not tokens.csrf_valid(f"{issued}.{nonce}x.{mac}", now_s=10_000)
    assert not tokens.csrf_valid("abc", now_s=10_000)
    assert tokens.is_known_browser(tokens.known_browser("a@x"), "a@x")
    assert not tokens.is_known_browser(tokens.known_browser("a@x"), "b@x")


def test_strangers_failing_on_purpose_do_not_keep_the_owner_out(dashboard: Dashboard) -> None:
    owner = dashboard.login(from_address(dashboard, "192.0.2.10"))  # the owner's usual browser
    assert owner.get("/sites.json").status_code == 200
    owner.cookies.delete("clycyo_session")
    attacker = from_address(dashboard, "198.51.100.66")
    statuses = [attempt(attacker, dashboard.email, f"guess {n}") for n in range(10)]
    assert statuses[:5] == [401] * 5 and 429 in statuses[5:]
    refused = attacker.post(
        "/login",
        data={"csrf": csrf_of(attacker), "email": dashboard.email, "password": PASSWORD},
    )
    assert refused.status_code == 429  # even the right password waits: it is not checked
    assert 0 < int(refused.headers["retry-after"]) <= ACCOUNT_MAX_DELAY_S
    dashboard.login(owner)
    assert owner.get("/sites.json").status_code == 200


def test_one_password_against_many_logins_stops_per_address(dashboard: Dashboard) -> None:
    sprayer = from_address(dashboard, "198.51.100.99")
    statuses = [
        attempt(sprayer, f"user{n}@example.com", "Summer2026!")
        for n in range(ADDRESS_MAX_FAILURES + 1)
    ]
    assert statuses[:-1] == [401] * ADDRESS_MAX_FAILURES
    assert statuses[-1] == 429
    elsewhere = from_address(dashboard, "192.0.2.44")
    assert attempt(elsewhere, "user99@example.com", "Summer2026!") == 401


def test_behind_a_trusted_proxy_each_forwarded_client_counts_apart(tmp_path: Path) -> None:
    runtime = Runtime.open(Settings(data_dir=tmp_path / "data", trusted_proxies=1))
    runtime.config.add_user("ada@example.com", hash_password(PASSWORD), None)
    with TestClient(build_app(runtime), follow_redirects=False, client=("127.0.0.1", 1)) as proxy:

        def via(address: str, email: str) -> int:
            proxy.headers["X-Forwarded-For"] = address
            return attempt(proxy, email, "wrong password")

        statuses = [via("198.51.100.5", f"u{n}@example.com") for n in range(ADDRESS_MAX_FAILURES)]
        assert set(statuses) == {401}
        assert via("198.51.100.5", "another@example.com") == 429
        assert via("198.51.100.6", "another@example.com") == 401


def test_the_login_form_needs_a_token_the_server_signed(dashboard: Dashboard) -> None:
    client = dashboard.new_client()
    forged = {"csrf": "abc", "email": dashboard.email, "password": PASSWORD}
    client.cookies.set("clycyo_login_csrf", "abc", path="/login")
    assert client.post("/login", data=forged).status_code == 403
    fresh = dashboard.new_client()
    token = csrf_of(fresh)
    other = dashboard.new_client()  # a token from the server, but not this browser's cookie
    data = {"csrf": token, "email": dashboard.email, "password": PASSWORD}
    assert other.post("/login", data=data).status_code == 403
    cross = fresh.post("/login", data=data, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    assert fresh.post("/login", data=data).status_code == 303
