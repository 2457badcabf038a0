"""`clycyo report recipient add|list|remove` and `clycyo report spike-threshold` on a real data
folder: the lists as the Settings page keeps them, each refusal one `clycyo: …` line, and a
serving runtime's scheduler reading a change made from the command line at its next tick."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from clycyo.config.email_reports import EmailReportStore
from clycyo.mail.scheduler import Scheduler
from clycyo.mail.sending import Mailer
from clycyo.mail.smtp import SmtpSettings
from tests.serverproc import clycyo, run_clycyo
from tests.small_world import SmallWorld
from tests.smtp_inbox import PASSWORD, USER, Inbox, running


def _refusal(*args: str, data: Path) -> tuple[int, str]:
    result = run_clycyo(*args, data=data)
    return result.returncode, result.stderr


def test_recipients_are_added_listed_and_removed_as_on_the_settings_page(tmp_path: Path) -> None:
    data = tmp_path / "data"
    clycyo("site", "add", "shop.example", data=data)
    site = ("--site", "shop.example")
    added = json.loads(
        clycyo("report", "recipient", "add", "Ann@Example.COM", *site, "--list", "weekly",
               "--json", data=data)
    )  # fmt: skip
    assert {k: added[k] for k in ("id", "site", "list", "address")} == {
        "id": 1,
        "site": "shop.example",
        "list": "weekly",
        "address": "Ann@example.com",  # the domain in lower case, as the Settings page keeps it
    }
    spike = clycyo("report", "recipient", "add", "ops@example.com", *site, "--list", "spike",
                   data=data)  # fmt: skip
    assert "no spike threshold yet: clycyo report spike-threshold N" in spike
    clycyo("report", "recipient", "add", "Ann@example.com", *site, "--list", "spike", data=data)
    assert clycyo("report", "recipient", "list", data=data).splitlines() == [
        "   1  shop.example  weekly   Ann@example.com",
        "   2  shop.example  spike    ops@example.com",
        "   3  shop.example  spike    Ann@example.com",
    ]
    assert "at 40 current visitors" in clycyo("report", "spike-threshold", "40", *site, data=data)
    shown = json.loads(clycyo("report", "spike-threshold", *site, "--json", data=data))
    assert shown == {"site": "shop.example", "spike_threshold": 40}
    cleared = json.loads(clycyo("report", "spike-threshold", "off", *site, "--json", data=data))
    assert cleared == {"site": "shop.example", "spike_threshold": None}
    assert "has no spike threshold" in clycyo("report", "spike-threshold", *site, data=data)
    clycyo("report", "spike-threshold", "40", *site, data=data)

    removed = json.loads(
        clycyo("report", "recipient", "remove", "Ann@example.com", *site, "--json", data=data)
    )
    assert removed["removed"] == [1, 3] and removed["lists"] == ["weekly", "spike"]
    clycyo("report", "recipient", "remove", "2", *site, data=data)
    listed = clycyo("report", "recipient", "list", "--site", "shop.example", "--json", data=data)
    assert json.loads(listed) == []
    assert clycyo("report", "recipient", "list", data=data).strip() == "no report recipients"


def test_what_cannot_be_saved_is_refused_on_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    clycyo("site", "add", "shop.example", data=data)
    site = ("--site", "shop.example")
    clycyo("report", "recipient", "add", "ann@example.com", *site, "--list", "weekly", data=data)
    for args, line in (
        (("recipient", "add", "ann@example.com", *site, "--list", "weekly"),
         "clycyo: weekly: ann@example.com is on the list already"),
        (("recipient", "add", "ann at example", *site, "--list", "weekly"),
         "clycyo: address: 'ann at example' is not an email address (such as ann@example.com)"),
        (("recipient", "add", "a@example.com", "--site", "nowhere.example", "--list", "spike"),
         "clycyo: no site nowhere.example"),
        (("recipient", "remove", "bob@example.com", *site, "--list", "monthly"),
         "clycyo: bob@example.com is not on the monthly list of shop.example"),
        (("recipient", "remove", "7", *site), "clycyo: no recipient 7 on shop.example"),
        (("spike-threshold", "0", *site),
         "clycyo: threshold: '0' is not a number of current visitors from 1 to 1000000"),
        (("spike-threshold", "many", *site),
         "clycyo: threshold: 'many' is not a number of current visitors from 1 to 1000000"),
    ):  # fmt: skip
        assert _refusal("report", *args, data=data) == (1, line + "\n"), args
    status, stderr = _refusal(
        "report", "recipient", "add", "a@example.com", *site, "--list", "daily", data=data
    )
    assert status == 2 and "invalid choice: 'daily'" in stderr
    listed = json.loads(clycyo("report", "recipient", "list", "--json", data=data))
    assert [r["address"] for r in listed] == ["ann@example.com"]
    shown = clycyo("report", "spike-threshold", *site, data=data)
    assert shown.strip() == "shop.example has no spike threshold"


def test_a_serving_scheduler_reads_the_lists_the_command_line_changed(tmp_path: Path) -> None:
    world = SmallWorld(tmp_path)
    try:
        with running() as inbox:
            _spike_recipient_added_then_removed(world, inbox)
    finally:
        world.close()


def _spike_recipient_added_then_removed(world: SmallWorld, inbox: Inbox) -> None:
    smtp = SmtpSettings("127.0.0.1", inbox.port, "none", "reports@clycyo.test", USER, PASSWORD)
    now = dt.datetime.now(dt.UTC)
    clock_now = [now]
    scheduler = Scheduler(
        world.runtime, Mailer(smtp, world.runtime.config, None), clock=lambda: clock_now[0]
    )
    minute = (now - world.start).total_seconds() / 60 - 0.5
    world.send(world.pageview("a", minute, "/launch"), world.pageview("b", minute, "/launch"))
    scheduler.tick()  # no list yet: nothing to send
    data = world.runtime.settings.data_dir
    site = ("--site", world.domain)
    clycyo("report", "recipient", "add", "ops@example.com", *site, "--list", "spike", data=data)
    clycyo("report", "spike-threshold", "2", *site, data=data)
    clock_now[0] = now + dt.timedelta(minutes=1)
    scheduler.tick()
    (notice,) = inbox.wait_for(1)
    assert notice.recipients == ["ops@example.com"]
    assert notice.message["Subject"] == "Traffic spike on shop.test: 2 current visitors"

    clycyo("report", "recipient", "remove", "ops@example.com", *site, data=data)
    clock_now[0] = now + dt.timedelta(hours=13)  # past the cool-down: it would notify again
    scheduler.tick()
    assert EmailReportStore(world.runtime.config).list(world.site.id) == []
    assert len(inbox.wait_for(2, timeout_s=2)) == 1
