"""`clycyo report send` through a real SMTP server on 127.0.0.1: to the site's list once (as a
cron job run twice would), to `--to` without remembering it, with and without a server running
on the folder, and what it says without SMTP settings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from clycyo.config.email_reports import EmailReportStore
from clycyo.config.store import ConfigStore
from tests.serverproc import ServerProcess, clycyo, run_clycyo
from tests.smtp_inbox import Inbox, running


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with running() as started:
        yield started


def _folder(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    clycyo("site", "add", "shop.example", data=data)
    config = ConfigStore(data / "config.sqlite")
    site = config.site_by_domain("shop.example")
    assert site is not None
    EmailReportStore(config).add(site.id, "weekly", "ann@example.com")
    EmailReportStore(config).add(site.id, "weekly", "bob@example.com")
    return data


def test_the_list_gets_the_report_once_and_to_goes_to_that_address_only(
    tmp_path: Path, inbox: Inbox
) -> None:
    data = _folder(tmp_path)
    args = ("report", "send", "--site", "shop.example", "--period", "week")
    first = run_clycyo(*args, data=data, env=inbox.env())
    assert first.returncode == 0, first.stderr
    assert "sent to ann@example.com, bob@example.com" in first.stdout
    assert sorted(r for m in inbox.wait_for(2) for r in m.recipients) == [
        "ann@example.com",
        "bob@example.com",
    ]
    again = run_clycyo(*args, "--json", data=data, env=inbox.env())
    assert again.returncode == 0 and json.loads(again.stdout)["sent"] == []
    for _ in range(2):  # --to is not remembered: each run sends
        tried = run_clycyo(*args, "--to", "carl@example.com", data=data, env=inbox.env())
        assert tried.returncode == 0, tried.stderr
    assert len(inbox.wait_for(4)) == 4 and len(inbox.to("carl@example.com")) == 2


def test_with_a_server_running_the_numbers_come_through_it(tmp_path: Path, inbox: Inbox) -> None:
    data = _folder(tmp_path)
    server = ServerProcess(data).start()
    try:
        sent = run_clycyo(
            "report", "send", "--site", "shop.example", "--period", "month",
            "--to", "carl@example.com", data=data, env=inbox.env(),
        )  # fmt: skip
    finally:
        server.stop()
    assert sent.returncode == 0, sent.stderr
    (mail,) = inbox.wait_for(1)
    assert mail.message["Subject"].startswith("Monthly report for shop.example: ")
    assert "No link to the dashboard" in mail.part("plain")  # no CLYCYO_PUBLIC_URL


def test_without_smtp_settings_or_with_a_wrong_one_it_says_what_to_set(tmp_path: Path) -> None:
    data = _folder(tmp_path)
    args = ("report", "send", "--site", "shop.example", "--period", "week")
    plain = {"CLYCYO_SMTP_URL": "", "CLYCYO_SMTP_HOST": ""}
    result = run_clycyo(*args, data=data, env=plain)
    assert result.returncode == 2
    assert result.stderr.startswith("clycyo: no SMTP server: set CLYCYO_SMTP_URL")
    wrong = run_clycyo(*args, data=data, env={"CLYCYO_SMTP_URL": "smtp://mail.example"})
    assert wrong.returncode == 2 and "CLYCYO_MAIL_FROM" in wrong.stderr
    unknown = run_clycyo(
        "report", "send", "--site", "nowhere.example", "--period", "week",
        data=data, env={"CLYCYO_SMTP_HOST": "127.0.0.1", "CLYCYO_MAIL_FROM": "a@b.io"},
    )  # fmt: skip
    assert unknown.returncode == 1 and unknown.stderr == "clycyo: no site nowhere.example\n"
