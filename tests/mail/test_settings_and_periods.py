"""The SMTP settings as the environment gives them (each mistake named by its variable), the
periods a report covers and when each is due, and the addresses and thresholds a site's lists
keep."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from clycyo.config import site_removal
from clycyo.config.email_reports import (
    MAX_RECIPIENTS,
    EmailReportStore,
    RecipientError,
    check_address,
)
from clycyo.config.store import ConfigStore
from clycyo.mail import periods
from clycyo.mail.smtp import SmtpSettings, smtp_from_env
from clycyo.settings import check_public_url


def test_no_smtp_variable_is_no_smtp_server() -> None:
    assert smtp_from_env({}) is None


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"CLYCYO_SMTP_URL": "smtp://ann:p%40ss@mail.example.com", "CLYCYO_MAIL_FROM": "a@b.io"},
            SmtpSettings("mail.example.com", 587, "starttls", "a@b.io", "ann", "p@ss"),
        ),
        (
            {"CLYCYO_SMTP_URL": "smtps://mail.example.com", "CLYCYO_MAIL_FROM": "Stats <a@B.io>"},
            SmtpSettings("mail.example.com", 465, "ssl", "Stats <a@b.io>"),
        ),
        (
            {
                "CLYCYO_SMTP_HOST": "127.0.0.1",
                "CLYCYO_SMTP_PORT": "2525",
                "CLYCYO_SMTP_SECURITY": "none",
                "CLYCYO_SMTP_USER": "u",
                "CLYCYO_SMTP_PASSWORD": "p",
                "CLYCYO_MAIL_FROM": "a@b.io",
            },
            SmtpSettings("127.0.0.1", 2525, "none", "a@b.io", "u", "p"),
        ),
        (
            {"CLYCYO_SMTP_HOST": "relay.local", "CLYCYO_MAIL_FROM": "a@b.io"},
            SmtpSettings("relay.local", 587, "starttls", "a@b.io"),
        ),
    ],
)
def test_smtp_settings_from_a_url_or_split_variables(
    env: dict[str, str], expected: SmtpSettings
) -> None:
    found = smtp_from_env(env)
    assert found == expected
    assert found is not None and found.password == expected.password
    assert "p@ss" not in repr(found)  # never in a log line


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"CLYCYO_SMTP_URL": "smtp://mail.example.com"}, "CLYCYO_MAIL_FROM"),
        ({"CLYCYO_SMTP_URL": "http://mail.example.com", "CLYCYO_MAIL_FROM": "a@b.io"}, "URL"),
        ({"CLYCYO_SMTP_URL": "smtp://h:99999", "CLYCYO_MAIL_FROM": "a@b.io"}, "CLYCYO_SMTP_URL"),
        ({"CLYCYO_SMTP_HOST": "h", "CLYCYO_SMTP_PORT": "x", "CLYCYO_MAIL_FROM": "a@b.io"}, "PORT"),
        (
            {"CLYCYO_SMTP_HOST": "h", "CLYCYO_SMTP_SECURITY": "tls", "CLYCYO_MAIL_FROM": "a@b.io"},
            "SECURITY",
        ),
        (
            {"CLYCYO_SMTP_HOST": "h", "CLYCYO_SMTP_URL": "smtp://h", "CLYCYO_MAIL_FROM": "a@b.io"},
            "not both",
        ),
        ({"CLYCYO_SMTP_HOST": "h", "CLYCYO_MAIL_FROM": "nobody"}, "CLYCYO_MAIL_FROM"),
        ({"CLYCYO_SMTP_HOST": "mail..example.com", "CLYCYO_MAIL_FROM": "a@b.io"}, "SMTP_HOST"),
        (
            {"CLYCYO_SMTP_URL": f"smtp://{'m' * 64}.example.com", "CLYCYO_MAIL_FROM": "a@b.io"},
            "URL",
        ),
        ({"CLYCYO_SMTP_HOST": "h", "CLYCYO_MAIL_FROM": "a@b.io\r\nBcc: x@y.io"}, "MAIL_FROM"),
    ],
)
def test_a_wrong_smtp_setting_is_named(env: dict[str, str], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        smtp_from_env(env)


@pytest.mark.parametrize("password", ["p\uff20ss", "pa\uff0fss", "s3cr[et"])
def test_a_url_the_standard_library_refuses_is_named_without_its_password(password: str) -> None:
    url = f"smtp://bob:{password}@mail.example.com"
    env = {"CLYCYO_SMTP_URL": url, "CLYCYO_MAIL_FROM": "a@b.io"}
    with pytest.raises(ValueError, match="CLYCYO_SMTP_URL") as refused:
        smtp_from_env(env)
    assert password not in str(refused.value)


def test_the_public_url_is_an_http_address() -> None:
    assert check_public_url("") is None
    assert check_public_url(" https://stats.example.com/ ") == "https://stats.example.com"
    for bad in ("stats.example.com", "ftp://x", "https://x/?a=1", 'https://x"><b>'):
        with pytest.raises(ValueError, match="CLYCYO_PUBLIC_URL"):
            check_public_url(bad)


def test_a_week_is_monday_to_sunday_and_due_the_monday_after_at_nine() -> None:
    week = periods.covering("week", dt.date(2026, 11, 26))  # a Thursday
    assert (week.first, week.last) == (dt.date(2026, 11, 23), dt.date(2026, 11, 29))
    assert week.title == "23 Nov \N{EN DASH} 29 Nov 2026"
    due = week.sending_time("Europe/Berlin")
    assert due.isoformat() == "2026-11-30T09:00:00+01:00"
    assert periods.due("week", due, "Europe/Berlin") == week
    assert periods.due("week", due - dt.timedelta(seconds=1), "Europe/Berlin") == week.before()
    # 8:30 UTC is 9:30 in Berlin: the week is due there, not yet in UTC.
    at = dt.datetime(2026, 11, 30, 8, 30, tzinfo=dt.UTC)
    assert periods.due("week", at, "Europe/Berlin") == week
    assert periods.due("week", at, "UTC") == week.before()


def test_a_month_is_a_calendar_month_due_on_the_first_at_nine() -> None:
    february = periods.covering("month", dt.date(2028, 2, 10))
    assert (february.first, february.last) == (dt.date(2028, 2, 1), dt.date(2028, 2, 29))
    assert february.title == "February 2028"
    assert february.after().first == dt.date(2028, 3, 1)
    december = periods.covering("month", dt.date(2026, 12, 31))
    assert december.after().first == dt.date(2027, 1, 1)
    due = december.sending_time("America/New_York")
    assert due.isoformat() == "2027-01-01T09:00:00-05:00"
    assert periods.due("month", due + dt.timedelta(days=20), "America/New_York") == december


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (" Ann.Lee+stats@Example.COM ", "Ann.Lee+stats@example.com"),
        ("o'brien@mail.example.co.uk", "o'brien@mail.example.co.uk"),
    ],
)
def test_an_address_is_kept_with_its_domain_in_lower_case(given: str, kept: str) -> None:
    assert check_address(given) == kept


@pytest.mark.parametrize(
    "bad",
    [
        "ann",
        "ann@localhost",
        "ann@@example.com",
        "ann lee@example.com",
        "ann@example.com, bob@example.com",
        "ann@example.com\r\nBcc: eve@example.com",
        "<ann@example.com>",
        ".ann@example.com",
        "ann@-example.com",
        "ann@example.123",
        "ann@exämple.com",
        "a" * 65 + "@example.com",
    ],
)
def test_what_is_not_an_address_is_refused(bad: str) -> None:
    with pytest.raises(RecipientError, match="address"):
        check_address(bad)


def test_a_list_holds_each_address_once_up_to_its_limit_and_goes_with_its_site(
    tmp_path: Path,
) -> None:
    config = ConfigStore(tmp_path / "config.sqlite")
    site = config.add_site("example.com").site
    store = EmailReportStore(config)
    assert store.list(site.id) == [] and store.threshold(site.id) is None  # no table yet
    store.add(site.id, "weekly", "ann@example.com")
    store.add(site.id, "monthly", "ann@example.com")  # another list
    with pytest.raises(RecipientError, match="on the list already"):
        store.add(site.id, "weekly", "ann@EXAMPLE.com")
    with pytest.raises(RecipientError, match="no list 'daily'"):
        store.add(site.id, "daily", "bob@example.com")
    for number in range(MAX_RECIPIENTS - 1):
        store.add(site.id, "weekly", f"r{number}@example.com")
    with pytest.raises(RecipientError, match=f"at most {MAX_RECIPIENTS}"):
        store.add(site.id, "weekly", "one-too-many@example.com")
    assert store.set_threshold(site.id, " 25 ") == 25
    assert store.set_threshold(site.id, 30) == 30 and store.threshold(site.id) == 30
    assert store.clear_threshold(site.id) and store.threshold(site.id) is None
    assert not store.clear_threshold(site.id)
    store.set_threshold(site.id, 30)
    for bad in ("0", "-1", "ten", "1.5", str(10**7)):
        with pytest.raises(RecipientError, match="threshold"):
            store.set_threshold(site.id, bad)
    store.record(site.id, "week", "2026-11-23", "ann@example.com", 1.0e9)
    _, counts = site_removal.remove(config, "example.com")
    assert counts["email_recipients"] == MAX_RECIPIENTS + 1
    assert counts["email_spike_thresholds"] == 1 and counts["email_deliveries"] == 1
    assert store.site_ids() == []
