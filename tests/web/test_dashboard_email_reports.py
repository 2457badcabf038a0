"""The Settings page's Email reports section over real HTTP: lists and threshold kept with the
page's CSRF token, refusals with their reason (escaped), the test report sent through a real
SMTP server on 127.0.0.1, and a server without SMTP saying so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.serverproc import ServerProcess, Site
from tests.smtp_inbox import USER, Inbox, running
from tests.web.http_login import Clients, clients, settings_csrf, site_user

__all__ = ["clients"]  # the fixture


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with running() as started:
        yield started


@pytest.fixture
def mailing(tmp_path: Path, inbox: Inbox) -> Iterator[Site]:
    """A site on a server of its own that sends through `inbox`."""
    env = {**inbox.env(), "CLYCYO_PUBLIC_URL": "https://stats.example.com"}
    server = ServerProcess(tmp_path / "data", env=env).start()
    yield server.add_site()
    server.stop()


def _email(client: httpx.Client, site: Site) -> dict[str, object]:
    answer = client.get(f"/sites/{site.site}/settings.json")
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["email"])


def _post(client: httpx.Client, site: Site, path: str, **fields: str) -> httpx.Response:
    data = {"csrf": settings_csrf(client, site.site), **fields}
    return client.post(f"/sites/{site.site}/settings/email/{path}", data=data)


def test_lists_and_threshold_are_kept_and_a_test_report_is_sent(
    mailing: Site, inbox: Inbox, clients: Clients
) -> None:
    email = f"owner@{mailing.site}.example"
    client = site_user(mailing, email, clients)
    page = client.get(f"/sites/{mailing.site}/settings").text
    assert "<h2>Email reports</h2>" in page and "data-email-unavailable" not in page
    for list_name, address in (
        ("weekly", "ann@example.com"),
        ("monthly", "bob@example.com"),
        ("spike", "ops@example.com"),
    ):
        added = _post(client, mailing, "recipients", list=list_name, address=address)
        assert added.status_code == 303, added.text
    assert _post(client, mailing, "spike", threshold="40").status_code == 303
    section = _email(client, mailing)
    lists = {item["key"]: item["recipients"] for item in section["lists"]}  # type: ignore[attr-defined]
    assert [r["address"] for r in lists["weekly"]] == ["ann@example.com"]
    assert section["spike_threshold"] == 40 and section["available"] is True
    # An empty threshold takes it away (no more spike notices); then it is set again.
    assert _post(client, mailing, "spike", threshold=" ").status_code == 303
    assert _email(client, mailing)["spike_threshold"] is None
    assert _post(client, mailing, "spike", threshold="40").status_code == 303
    removed = _post(client, mailing, "recipients/delete", id=str(lists["monthly"][0]["id"]))
    assert removed.status_code == 303
    again = _post(client, mailing, "recipients/delete", id=str(lists["monthly"][0]["id"]))
    assert again.status_code == 404
    # The test report goes to the login's address unless another is given.
    sent = _post(client, mailing, "test", period="week")
    assert sent.status_code == 200, sent.text
    assert f"A test report was sent to {email}." in sent.text
    (mail,) = inbox.wait_for(1)
    assert mail.recipients == [email] and inbox.logins == [USER]
    assert mail.message["Subject"].startswith(f"Weekly report for {mailing.site}: ")
    assert f"https://stats.example.com/sites/{mailing.site}?period=custom" in mail.part("plain")
    monthly = _post(client, mailing, "test", period="month", to="carl@example.com")
    assert monthly.status_code == 200
    assert inbox.wait_for(2)[1].recipients == ["carl@example.com"]


def test_what_is_not_an_address_or_a_threshold_is_refused_with_the_reason(
    mailing: Site, clients: Clients
) -> None:
    client = site_user(mailing, f"owner@{mailing.site}.example", clients)
    for path, fields, reason in (
        ("recipients", {"list": "weekly", "address": "<b>x</b>"}, "&lt;b&gt;x&lt;/b&gt;"),
        ("recipients", {"list": "<i>daily</i>", "address": "a@b.io"}, "no list &#39;&lt;i&gt;"),
        ("spike", {"threshold": "lots"}, "threshold: &#39;lots&#39; is not a number"),
        ("test", {"period": "week", "to": "nobody"}, "Not sent: address: &#39;nobody&#39;"),
    ):
        refused = _post(client, mailing, path, **fields)
        assert refused.status_code == 400, refused.text
        assert reason in refused.text, refused.text
        assert "<b>x</b>" not in refused.text and "<i>daily" not in refused.text
    section = _email(client, mailing)
    assert all(not item["recipients"] for item in section["lists"])  # type: ignore[attr-defined]


def test_the_forms_need_the_csrf_token_and_a_site_of_ones_own(
    server: Site, clients: Clients
) -> None:
    client = site_user(server, f"email-{server.site}@example.com", clients)
    other = server.server.add_site()
    url = f"/sites/{server.site}/settings/email/recipients"
    forged = client.post(url, data={"list": "weekly", "address": "eve@example.com"})
    assert forged.status_code == 403
    theirs = client.post(
        f"/sites/{other.site}/settings/email/recipients",
        data={
            "csrf": settings_csrf(client, server.site),
            "list": "weekly",
            "address": "eve@example.com",
        },
    )
    assert theirs.status_code in (403, 404)
    assert all(not item["recipients"] for item in _email(client, server)["lists"])  # type: ignore[attr-defined]


def test_without_smtp_the_section_says_what_to_set_and_sends_nothing(
    server: Site, clients: Clients
) -> None:
    client = site_user(server, f"email-{server.site}@example.com", clients)
    page = client.get(f"/sites/{server.site}/settings").text
    assert "data-email-unavailable" in page and "CLYCYO_SMTP_URL" in page
    assert "data-send-test disabled" in page
    assert _email(client, server)["available"] is False
    refused = _post(client, server, "test", period="week")
    assert refused.status_code == 400
    assert "Not sent: set CLYCYO_SMTP_URL" in refused.text
