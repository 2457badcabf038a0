"""Two-factor sign-in over HTTP against a real server: turned on from the Account page with a
code of the secret it shows, then asked after the password at every login (a wrong code, a code
used already and a used recovery code are refused), a half-done login reaches nothing, turning it
off needs a code or the password, and `clycyo user reset-2fa` turns it off for a lost device."""

from __future__ import annotations

import json
import re
import time
from urllib.parse import unquote

import httpx
import pyotp
from starlette.applications import Starlette
from starlette.testclient import TestClient

from clycyo.app import web_routes
from clycyo.config.passwords import hash_password
from clycyo.web.dashboard.login_pending import MAX_WRONG_CODES, PENDING_TTL_S, PendingLogins
from clycyo.web.dashboard.login_throttle import LoginThrottle
from tests.serverproc import Site, clycyo, run_clycyo
from tests.web.conftest import Dashboard
from tests.web.http_login import Clients, clients, csrf_in

__all__ = ["clients"]  # the fixture

PASSWORD = "correct horse battery"


def _add(site: Site, email: str) -> None:
    clycyo(
        "user", "add", email, "--site", site.site, "--password-stdin",
        data=site.data_dir, stdin=PASSWORD + "\n",
    )  # fmt: skip


def _reads(client: httpx.Client, site: Site) -> int:
    return client.get(f"/sites/{site.site}.json").status_code


def _secret_shown(page: str) -> str:
    """The secret the Account page shows as text; checked to be the one its QR code holds."""
    shown = re.search(r"data-secret>([A-Z2-7 ]+)<", page)
    assert shown is not None, page
    secret = shown.group(1).replace(" ", "")
    qr = re.search(r'<img class="qr" src="(data:image/svg\+xml[^"]+)"', page)
    assert qr is not None and "<svg" in unquote(qr.group(1))
    return secret


def _turn_on(client: httpx.Client, secret: str, code: str) -> httpx.Response:
    page = client.get("/account")
    data = {"csrf": csrf_in(page.text), "secret": secret, "code": code}
    return client.post("/account/two-factor", data=data)


def _two_factor_of(site: Site, email: str) -> bool:
    listed = json.loads(clycyo("user", "list", "--json", data=site.data_dir))
    return bool(next(u for u in listed if u["email"] == email)["two_factor"])


def _password_step(clients: Clients, site: Site, email: str) -> tuple[httpx.Response, httpx.Client]:
    client = clients.new(site.server)
    form = client.get("/login")
    answer = client.post(
        "/login", data={"csrf": csrf_in(form.text), "email": email, "password": PASSWORD}
    )
    return answer, client


def _code_step(client: httpx.Client, code: str) -> httpx.Response:
    form = client.get("/login/code")
    assert form.status_code == 200
    return client.post("/login/code", data={"csrf": csrf_in(form.text), "code": code})


def _enabled(clients: Clients, site: Site, email: str) -> tuple[str, list[str], httpx.Client]:
    """Two-factor turned on for `email` from its Account page: (secret, recovery codes, the
    client that did it, still signed in)."""
    _add(site, email)
    status, client = clients.log_in(site.server, email, PASSWORD)
    assert status == 303
    secret = _secret_shown(client.get("/account").text)
    done = _turn_on(client, secret, pyotp.TOTP(secret).now())
    assert done.status_code == 200, done.text
    codes = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", done.text)
    return secret, codes, client


def test_turned_on_from_the_account_page_it_is_asked_at_every_login(
    server: Site, clients: Clients
) -> None:
    email = f"otp-{server.site}@example.com"
    _add(server, email)
    status, client = clients.log_in(server.server, email, PASSWORD)
    status_other, other = clients.log_in(server.server, email, PASSWORD)
    assert status == status_other == 303
    page = client.get("/account")
    assert page.status_code == 200 and 'data-two-factor="off"' in page.text
    secret = _secret_shown(page.text)
    assert secret != _secret_shown(client.get("/account").text)  # a fresh one each time

    wrong = _turn_on(client, secret, "000000" if pyotp.TOTP(secret).now() != "000000" else "1")
    assert wrong.status_code == 400 and "Wrong code" in wrong.text
    assert not _two_factor_of(server, email)

    done = _turn_on(client, secret, pyotp.TOTP(secret).now())
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", done.text)
    assert len(set(codes)) == 10
    assert _two_factor_of(server, email)
    assert _reads(client, server) == 200  # the session that turned it on goes on
    assert _reads(other, server) == 401  # one opened with the password alone ends
    again = client.get("/account")
    assert 'data-two-factor="on"' in again.text and "10 left" in again.text
    assert not any(code in again.text for code in codes) and secret not in again.text

    # The password alone opens no session: the browser is sent on to the code form.
    answer, half = _password_step(clients, server, email)
    assert (answer.status_code, answer.headers["location"]) == (303, "/login/code")
    assert "clycyo_session" not in half.cookies and _reads(half, server) == 401
    assert "Max-Age=300" in answer.headers["set-cookie"]
    assert (
        _code_step(half, "123456" if pyotp.TOTP(secret).now() != "123456" else "1").status_code
        == 401
    )
    # The next step's code (one step of drift is allowed) signs in.
    code = pyotp.TOTP(secret).at(time.time() + 30)
    signed = _code_step(half, code)
    assert (signed.status_code, signed.headers["location"]) == (303, "/sites")
    assert _reads(half, server) == 200

    # The same code in another login is refused: it was used.
    _, replay = _password_step(clients, server, email)
    refused = _code_step(replay, code)
    assert refused.status_code == 401 and "used already" in refused.text
    assert _reads(replay, server) == 401

    # A recovery code signs in once, typed as people type it.
    recovered = _code_step(replay, " " + codes[3].upper() + " ")
    assert recovered.status_code == 303 and _reads(replay, server) == 200
    _, third = _password_step(clients, server, email)
    assert _code_step(third, codes[3]).status_code == 401
    assert _reads(third, server) == 401
    assert "9 left" in client.get("/account").text


def test_a_half_signed_in_browser_reaches_no_page_and_no_api(
    server: Site, clients: Clients
) -> None:
    email = f"half-{server.site}@example.com"
    _enabled(clients, server, email)
    answer, half = _password_step(clients, server, email)
    assert answer.status_code == 303
    token = half.cookies["clycyo_login_pending"]
    for cookies in ({"clycyo_login_pending": token}, {"clycyo_session": token}):
        probe = httpx.Client(base_url=server.url, cookies=cookies, follow_redirects=False)
        with probe:
            assert probe.get(f"/sites/{server.site}.json").status_code == 401
            assert probe.get("/sites.json").status_code == 401
            assert probe.get(f"/sites/{server.site}").status_code == 303
            assert probe.get("/account").headers["location"].startswith("/login")
            query = {"site": server.site, "metrics": ["visitors"], "date_range": "7d"}
            assert probe.post("/api/v1/query", json=query).status_code == 401
            people = probe.get(f"/api/v1/events?site={server.site}")
            assert people.status_code == 401
    # A made-up half-done login leads back to the password.
    made_up = clients.new(server.server)
    made_up.cookies.set("clycyo_login_pending", "not-a-login", path="/login")
    assert made_up.get("/login/code").headers["location"] == "/login"
    form = made_up.get("/login")
    sent = made_up.post("/login/code", data={"csrf": csrf_in(form.text), "code": "123456"})
    assert sent.status_code == 401 and "enter your password again" in sent.text


def test_five_wrong_codes_end_the_half_done_login(server: Site, clients: Clients) -> None:
    email = f"five-{server.site}@example.com"
    secret, _, _ = _enabled(clients, server, email)
    _, half = _password_step(clients, server, email)
    right = pyotp.TOTP(secret)
    wrong = next(
        f"{n:06d}"
        for n in range(100)
        if f"{n:06d}" not in {right.at(time.time() + d) for d in (-60, -30, 0, 30, 60)}
    )
    statuses = [_code_step(half, wrong).status_code for _ in range(4)]
    assert statuses == [401] * 4
    form = half.get("/login/code")
    last = half.post("/login/code", data={"csrf": csrf_in(form.text), "code": wrong})
    assert last.status_code == 401 and "enter your password again" in last.text
    assert half.get("/login/code").status_code == 303  # over: the password is asked again
    assert _reads(half, server) == 401


def test_turning_it_off_needs_a_code_or_the_password(server: Site, clients: Clients) -> None:
    email = f"off-{server.site}@example.com"
    _, codes, client = _enabled(clients, server, email)
    page = client.get("/account")
    refused = client.post(
        "/account/two-factor/off",
        data={"csrf": csrf_in(page.text), "code": "", "password": "not the password"},
    )
    assert refused.status_code == 401 and _two_factor_of(server, email)
    forged = client.post("/account/two-factor/off", data={"csrf": "forged", "password": PASSWORD})
    assert forged.status_code == 303 and _two_factor_of(server, email)
    off = client.post(
        "/account/two-factor/off", data={"csrf": csrf_in(page.text), "code": codes[0]}
    )
    assert off.status_code == 200 and 'data-two-factor="off"' in off.text
    assert not _two_factor_of(server, email)
    assert clients.log_in(server.server, email, PASSWORD)[0] == 303  # the password alone again


def test_reset_2fa_turns_it_off_for_a_lost_device_and_ends_the_sessions(
    server: Site, clients: Clients
) -> None:
    email = f"lost-{server.site}@example.com"
    _, _, client = _enabled(clients, server, email)
    text = clycyo("user", "list", data=server.data_dir)
    assert next(line for line in text.splitlines() if line.startswith(email)).endswith(
        "two-factor on  role admin"
    )
    said = clycyo("user", "reset-2fa", email.upper(), data=server.data_dir)
    assert said.startswith(f"two-factor sign-in of {email} turned off (1 dashboard session ended)")
    assert _reads(client, server) == 401
    assert not _two_factor_of(server, email)
    assert clients.log_in(server.server, email, PASSWORD)[0] == 303
    again = clycyo("user", "reset-2fa", email, data=server.data_dir)
    assert again == f"two-factor sign-in of {email} was off already\n"
    unknown = run_clycyo("user", "reset-2fa", "nobody@example.com", data=server.data_dir)
    assert unknown.returncode == 1 and "no user nobody@example.com" in unknown.stderr


def test_shared_links_and_api_tokens_are_not_asked_for_a_code(
    server: Site, clients: Clients
) -> None:
    email = f"links-{server.site}@example.com"
    _enabled(clients, server, email)
    link = json.loads(clycyo("share", "add", "--site", server.site, "--json", data=server.data_dir))
    token = json.loads(
        clycyo("token", "add", "--site", server.site, "--json", data=server.data_dir)
    )
    query = {"site": server.site, "metrics": ["visitors"], "date_range": "7d"}
    for bearer in (link["token"], token["token"]):
        status, _ = server.server.post("/api/v1/query", query, bearer=bearer)
        assert status == 200


class Clock:
    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


def _web(dashboard: Dashboard, **state: object) -> Starlette:
    """The server's web routes on the fixture's runtime, with some of their state (a clock's
    limits) set."""
    web = Starlette(routes=web_routes())
    web.state.runtime = dashboard.runtime
    for name, value in state.items():
        setattr(web.state, name, value)
    return web


def _past_the_password(web: Starlette, dashboard: Dashboard) -> TestClient:
    half = TestClient(web, follow_redirects=False)
    _password_again(half, dashboard)
    return half


def _password_again(half: TestClient, dashboard: Dashboard) -> None:
    form = half.get("/login")
    answer = half.post(
        "/login",
        data={"csrf": csrf_in(form.text), "email": dashboard.email, "password": PASSWORD},
    )
    assert answer.headers["location"] == "/login/code"


def _turned_on(
    web: Starlette, dashboard: Dashboard, client: TestClient | None = None
) -> tuple[str, list[str]]:
    """Two-factor turned on for the fixture's login (by `client`, logged in here): its secret
    and the recovery codes shown."""
    client = dashboard.login(client or TestClient(web, follow_redirects=False))
    page = client.get("/account")
    secret = _secret_shown(page.text)
    done = client.post(
        "/account/two-factor",
        data={"csrf": csrf_in(page.text), "secret": secret, "code": pyotp.TOTP(secret).now()},
    )
    assert done.status_code == 200
    return secret, re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", done.text)


def test_a_half_done_login_lasts_five_minutes(dashboard: Dashboard) -> None:
    clock = Clock()
    web = _web(dashboard, pending_logins=PendingLogins(clock))
    secret, _ = _turned_on(web, dashboard)
    half = _past_the_password(web, dashboard)
    clock.now_s += PENDING_TTL_S - 1
    assert half.get("/login/code").status_code == 200
    clock.now_s += 1
    assert half.get("/login/code").headers["location"] == "/login"
    form = half.get("/login")
    code = pyotp.TOTP(secret).at(time.time() + 30)
    late = half.post("/login/code", data={"csrf": csrf_in(form.text), "code": code})
    assert late.status_code == 401 and "expired" in late.text
    assert half.get(f"/sites/{dashboard.site}.json").status_code == 401


def test_wrong_codes_are_slowed_per_account_as_wrong_passwords_are(dashboard: Dashboard) -> None:
    clock = Clock()
    web = _web(dashboard, code_throttle=LoginThrottle(clock))
    secret, _ = _turned_on(web, dashboard)
    half = _past_the_password(web, dashboard)
    for _ in range(MAX_WRONG_CODES):
        form = half.get("/login")
        half.post("/login/code", data={"csrf": csrf_in(form.text), "code": "12345x"})
    # A new half-done login (the password is right) still waits for the account's delay …
    half = _past_the_password(web, dashboard)
    form = half.get("/login/code")
    code = pyotp.TOTP(secret).at(time.time() + 30)
    slowed = half.post("/login/code", data={"csrf": csrf_in(form.text), "code": code})
    assert slowed.status_code == 429 and slowed.headers["retry-after"] == "1"
    assert half.get(f"/sites/{dashboard.site}.json").status_code == 401
    # … and once it is over, the right code signs in.
    clock.now_s += 1
    signed = half.post("/login/code", data={"csrf": csrf_in(form.text), "code": code})
    assert signed.status_code == 303
    assert half.get(f"/sites/{dashboard.site}.json").status_code == 200


def test_the_account_page_shows_a_login_as_text(dashboard: Dashboard) -> None:
    email = '"><script>alert(1)</script>@example.com'
    dashboard.runtime.config.add_user(email, hash_password(PASSWORD))
    web = _web(dashboard)
    client = TestClient(web, follow_redirects=False)
    form = client.get("/login")
    client.post("/login", data={"csrf": csrf_in(form.text), "email": email, "password": PASSWORD})
    page = client.get("/account")
    assert page.status_code == 200
    assert "<script>" not in page.text and "&lt;script&gt;alert(1)" in page.text
    secret = _secret_shown(page.text)
    done = client.post(
        "/account/two-factor",
        data={"csrf": csrf_in(page.text), "secret": secret, "code": pyotp.TOTP(secret).now()},
    )
    assert done.status_code == 200 and "<script>" not in done.text


def _code_of(half: TestClient, code: str) -> httpx.Response:
    form = half.get("/login/code")
    assert form.status_code == 200
    return half.post("/login/code", data={"csrf": csrf_in(form.text), "code": code})


def test_a_browser_known_from_a_password_alone_is_slowed_at_the_code(
    dashboard: Dashboard,
) -> None:
    """A browser that signed in before two-factor was on (someone with the stolen password, say)
    keeps its known-browser cookie, but that does not spare it the account's delay on wrong
    codes; a browser that signed in with a code is spared it, so the owner is not locked out."""
    clock = Clock()
    web = _web(dashboard, code_throttle=LoginThrottle(clock))
    stranger = dashboard.login(TestClient(web, follow_redirects=False))
    owner = TestClient(web, follow_redirects=False)
    _, recovery = _turned_on(web, dashboard, owner)
    owner.post("/logout", data={"csrf": csrf_in(owner.get("/account").text)})
    _password_again(owner, dashboard)
    assert _code_of(owner, recovery[0]).status_code == 303  # known now, with a code
    owner.post("/logout", data={"csrf": csrf_in(owner.get("/account").text)})
    _password_again(stranger, dashboard)
    for _ in range(MAX_WRONG_CODES):
        _code_of(stranger, "12345x")
    _password_again(stranger, dashboard)
    slowed = _code_of(stranger, recovery[1])
    assert slowed.status_code == 429, slowed.text
    assert stranger.get(f"/sites/{dashboard.site}.json").status_code == 401
    # The owner's browser is not kept waiting.
    _password_again(owner, dashboard)
    assert _code_of(owner, recovery[2]).status_code == 303
    assert owner.get(f"/sites/{dashboard.site}.json").status_code == 200
