"""Fixtures for the dashboard's in-process tests: a runtime on a temporary data folder, its ASGI
app behind Starlette's test client, two sites and a login.

The browser tests (`test_dashboard_browser*.py`) use a real server instead (see `world.py`) and
share one Chromium per test module (`browser`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser
from starlette.testclient import TestClient

from clycyo.app import build_app
from clycyo.config.access import AccessStore
from clycyo.config.passwords import hash_password
from clycyo.runtime import Runtime, Settings
from tests.web.browsing import chromium

PASSWORD = "correct horse battery"
CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


@dataclass
class Dashboard:
    runtime: Runtime
    client: TestClient
    access: AccessStore
    site: str  # the login may read this site …
    other: str  # … and not this one
    email: str = "ada@example.com"

    def login(self, client: TestClient | None = None, password: str = PASSWORD) -> TestClient:
        """Logs `client` (default: the shared one) in through the form, as a browser would."""
        client = client or self.client
        page = client.get("/login")
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        client.post(
            "/login",
            data={"csrf": csrf, "email": self.email, "password": password},
            follow_redirects=False,
        )
        return client

    def secret_key(self) -> str:
        """A new secret key of the site the login may read."""
        site = self.runtime.config.site_by_domain(self.site)
        assert site is not None
        return self.runtime.config.add_secret_key(site.id)

    def collect(self, body: Any, secret: str) -> dict[str, Any]:
        """The answer of `POST /api/collect` to `body` sent with `secret`."""
        headers = {"Authorization": f"Bearer {secret}"}
        answer: dict[str, Any] = self.client.post("/api/collect", json=body, headers=headers).json()
        return answer

    def stored(self, batch: list[dict[str, Any]]) -> None:
        """Sends `batch` with a new secret key, every event accepted, and waits until stored."""
        answer = self.collect({"batch": batch}, self.secret_key())
        assert answer["accepted"] == len(batch), answer
        assert self.runtime.writer.wait_loaded(self.runtime.intake.last_seq, 10.0)

    def new_client(self) -> TestClient:
        return TestClient(self.client.app, follow_redirects=False)


def rows_by_label(data: dict[str, Any]) -> dict[str, list[Any]]:
    """A panel's `.json` rows: each label's numbers."""
    return {row["label"]: row["numbers"] for row in data["rows"]}


class HalfHour:
    """Browser events of a site at minutes 0 to 30 of the last half hour, with the end user's
    address and agent, as a backend forwards them with the secret key."""

    def __init__(self, site: str) -> None:
        self.site = site
        self.now_ms = int(time.time() * 1000)

    def event(self, visitor: str, minute: int, path: str, **extra: Any) -> dict[str, Any]:
        return {
            "origin": "browser",
            "context": {"ip": "85.214.1.2", "user_agent": CHROME},
            "visitor_id": visitor,
            "session_id": visitor,
            "url": f"https://{self.site}{path}",
            "timestamp": self.now_ms - 60_000 * (30 - minute),
            **extra,
        }

    def view(
        self, visitor: str, minute: int, path: str, referrer: str | None = None
    ) -> dict[str, Any]:
        more = {"referrer": referrer} if referrer else {}
        return self.event(visitor, minute, path, type="pageview", **more)


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[Dashboard]:
    runtime = Runtime.open(Settings(data_dir=tmp_path / "data"))
    mine = runtime.config.add_site("mine.example.com").site
    runtime.config.add_site("theirs.example.org")
    runtime.config.add_user("ada@example.com", hash_password(PASSWORD), [mine.id])
    app = build_app(runtime)
    with TestClient(app, follow_redirects=False) as client:
        yield Dashboard(
            runtime,
            client,
            AccessStore(runtime.config),
            "mine.example.com",
            "theirs.example.org",
        )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched
