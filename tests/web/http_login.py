"""A browser-like dashboard client for tests against a real server: logs in through the form
over HTTP and keeps its cookies (`clients` closes them after the test)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.serverproc import ServerProcess, Site, clycyo

PASSWORD = "correct horse battery"


def csrf_in(html: str) -> str:
    return html.split('name="csrf" value="', 1)[1].split('"', 1)[0]


class Clients:
    def __init__(self) -> None:
        self.opened: list[httpx.Client] = []

    def new(self, server: ServerProcess) -> httpx.Client:
        client = httpx.Client(base_url=server.url, follow_redirects=False, timeout=30)
        self.opened.append(client)
        return client

    def log_in(self, server: ServerProcess, email: str, password: str) -> tuple[int, httpx.Client]:
        """A client that posted the login form: (the post's status, the client with its
        cookies); 303 means logged in."""
        client = self.new(server)
        form = client.get("/login")
        answer = client.post(
            "/login", data={"csrf": csrf_in(form.text), "email": email, "password": password}
        )
        return answer.status_code, client


@pytest.fixture
def clients() -> Iterator[Clients]:
    made = Clients()
    yield made
    for client in made.opened:
        client.close()


def settings_csrf(client: httpx.Client, domain: str) -> str:
    page = client.get(f"/sites/{domain}/settings")
    assert page.status_code == 200, page.text
    return csrf_in(page.text)


def site_user(site: Site, email: str, clients: Clients) -> httpx.Client:
    """A client logged in as a new login (`clycyo user add`) that may read `site` only."""
    clycyo(
        "user", "add", email, "--site", site.site, "--password-stdin",
        data=site.data_dir, stdin=PASSWORD + "\n",
    )  # fmt: skip
    status, client = clients.log_in(site.server, email, PASSWORD)
    assert status == 303
    return client
