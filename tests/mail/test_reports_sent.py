"""The serving process's email reports end to end, on a real runtime and a real SMTP server on
127.0.0.1: what a report says (the query API's numbers for the same days), when it is sent (the
scheduler's clock set to a Monday morning), once only across a restart, escaping in its HTML,
and an SMTP server that is down (logged, then sent at the next tick)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from html import escape
from pathlib import Path

import pytest

from clycyo.config.email_reports import EmailReportStore
from clycyo.mail import periods
from clycyo.mail.scheduler import Scheduler
from clycyo.mail.sending import Mailer
from clycyo.mail.smtp import SmtpSettings
from tests.small_world import SmallWorld
from tests.smtp_inbox import PASSWORD, USER, Inbox, Received, running

PUBLIC_URL = "https://stats.example.com"
HOSTILE_PAGE = "/<script>alert(1)</script>"
HOSTILE_GOAL = '<img src=x onerror="alert(2)">'
LONG_AGO = 1.0e9  # a recipient added in 2001 had every report since


@pytest.fixture
def world(tmp_path: Path) -> Iterator[SmallWorld]:
    opened = SmallWorld(tmp_path)
    yield opened
    opened.close()


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with running() as started:
        yield started


def smtp_of(inbox: Inbox) -> SmtpSettings:
    return SmtpSettings("127.0.0.1", inbox.port, "none", "reports@clycyo.test", USER, PASSWORD)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def scheduler(world: SmallWorld, inbox: Inbox, clock: Clock) -> Scheduler:
    mailer = Mailer(smtp_of(inbox), world.runtime.config, PUBLIC_URL)
    return Scheduler(world.runtime, mailer, clock=clock)


def the_week(world: SmallWorld) -> periods.ReportPeriod:
    return periods.covering("week", world.start.date())


def fill(world: SmallWorld) -> None:
    """Three visitors in the world's week (one bounces, one signs up and pays 49.00), and one
    the week before."""
    week_ago = -7 * 24 * 60
    world.send(
        world.pageview("v1", 60, "/", referrer="https://www.google.com/search"),
        world.pageview("v1", 61, "/pricing"),
        world.browser("v1", 62, "signup", "/pricing"),
        world.pageview("v2", 120, HOSTILE_PAGE, referrer="https://news.ycombinator.com/"),
        world.browser("v2", 121, HOSTILE_GOAL, HOSTILE_PAGE),
        world.pageview("v3", 180, "/"),
        world.payment(63, "49.00", "order-1", visitor_id="v1"),
        world.pageview("v0", week_ago + 60, "/"),
    )


def weekly_report(world: SmallWorld, inbox: Inbox) -> tuple[periods.ReportPeriod, Received]:
    """The world's week's report, sent to ann on the Monday after."""
    fill(world)
    EmailReportStore(world.runtime.config).add(
        world.site.id, "weekly", "ann@example.com", added_at=LONG_AGO
    )
    week = the_week(world)
    scheduler(world, inbox, Clock(week.sending_time("UTC") + dt.timedelta(minutes=1))).tick()
    (mail,) = inbox.wait_for(1)
    return week, mail


def test_the_weekly_report_says_what_the_query_api_says_for_the_week(
    world: SmallWorld, inbox: Inbox
) -> None:
    week, mail = weekly_report(world, inbox)
    assert mail.recipients == ["ann@example.com"]
    assert mail.message["Subject"] == f"Weekly report for shop.test: {week.title}"
    assert mail.message["From"] == "reports@clycyo.test"
    # The numbers, asked of the query API as a client would ask them for the same days.
    span = {"date_range": week.date_range()}
    metrics = ["visitors", "pageviews", "bounce_rate", "visit_duration", "revenue"]
    totals = world.query(metrics=metrics, include={"comparison": "previous_period"}, **span)
    row = totals["results"][0]
    visitors, pageviews, bounce_rate, _, revenue = row["metrics"]
    assert (visitors, pageviews) == (3, 4)
    assert revenue in ("49.00", 49.0, "49")
    text = mail.part("plain")
    assert f"Visitors: {visitors} (+200% vs previous period)" in text
    assert f"Pageviews: {pageviews} " in text
    assert f"Bounce rate: {bounce_rate:g}%" in text or f"Bounce rate: {bounce_rate:.1f}%" in text
    assert "Revenue: 49.00 USD" in text
    sources = world.breakdown("visit:source", "visitors", **span)
    pages = world.breakdown(
        "event:page", "visitors", filters=[["is", "event:name", ["pageview"]]], **span
    )
    assert {"Google", "Hacker News"} <= set(sources), sources
    for label, numbers in [*sources.items(), *pages.items()]:
        assert f"{numbers[0]:>10}  {label}" in text, (label, text)
    assert "signup" in text and HOSTILE_GOAL in text  # goals: custom events
    assert "engagement" not in text
    link = f"{PUBLIC_URL}/sites/shop.test?period=custom&from={week.first}&to={week.last}"
    assert link in text
    html = mail.part("html")
    assert f'href="{escape(link)}"' in html


def test_a_hostile_page_path_and_event_name_are_escaped_in_the_html_part(
    world: SmallWorld, inbox: Inbox
) -> None:
    _, mail = weekly_report(world, inbox)
    html = mail.part("html")
    assert "<script>" not in html and "<img" not in html
    assert escape(HOSTILE_PAGE) in html
    assert escape(HOSTILE_GOAL) in html
    assert HOSTILE_PAGE in mail.part("plain")  # the text part is text: as it was sent


def test_the_weekly_report_is_sent_on_monday_morning_once_across_a_restart(
    world: SmallWorld, inbox: Inbox
) -> None:
    fill(world)
    store = EmailReportStore(world.runtime.config)
    store.add(world.site.id, "weekly", "ann@example.com", added_at=LONG_AGO)
    week = the_week(world)
    monday = week.sending_time("UTC")

    def weekly_titles() -> list[str]:
        return [m.message["Subject"].rpartition(": ")[2] for m in inbox.to("ann@example.com")]

    clock = Clock(monday - dt.timedelta(minutes=1))
    scheduler(world, inbox, clock).tick()
    # Monday 8:59: the week before is the latest due (never sent, so sent now), not this one.
    assert weekly_titles() == [week.before().title]
    clock.now = monday
    scheduler(world, inbox, clock).tick()
    assert weekly_titles() == [week.before().title, week.title]
    world.reopen()  # a restart: nothing in memory says what was sent
    clock.now = monday + dt.timedelta(hours=3)
    scheduler(world, inbox, clock).tick()
    scheduler(world, inbox, clock).tick()
    assert len(weekly_titles()) == 2
    # The server was down the next Monday morning: it sends that week's on its return.
    clock.now = week.after().sending_time("UTC") + dt.timedelta(hours=26)
    scheduler(world, inbox, clock).tick()
    assert weekly_titles()[2:] == [week.after().title]


def test_the_monthly_report_is_sent_on_the_first_at_nine_once(
    world: SmallWorld, inbox: Inbox
) -> None:
    store = EmailReportStore(world.runtime.config)
    store.add(world.site.id, "monthly", "bob@example.com", added_at=LONG_AGO)
    month = periods.covering("month", world.start.date())
    clock = Clock(month.sending_time("UTC") - dt.timedelta(seconds=1))
    subject = f"Monthly report for shop.test: {month.title}"
    scheduler(world, inbox, clock).tick()
    assert subject not in [m.message["Subject"] for m in inbox.to("bob@example.com")]
    clock.now = month.sending_time("UTC")
    for _ in range(2):
        scheduler(world, inbox, clock).tick()
    assert [m.message["Subject"] for m in inbox.to("bob@example.com")].count(subject) == 1


def test_an_address_added_after_a_reports_time_gets_the_next_one(
    world: SmallWorld, inbox: Inbox
) -> None:
    store = EmailReportStore(world.runtime.config)
    store.add(world.site.id, "weekly", "ann@example.com")  # now: after the world's last Monday
    now = dt.datetime.now(dt.UTC)
    clock = Clock(now + dt.timedelta(minutes=1))
    scheduler(world, inbox, clock).tick()
    assert inbox.received == []  # last Monday's report was due before she was on the list
    clock.now = periods.due("week", now, "UTC").after().sending_time("UTC")
    scheduler(world, inbox, clock).tick()
    assert len(inbox.wait_for(1)) == 1


def test_a_report_follows_the_sites_time_zone(world: SmallWorld, inbox: Inbox) -> None:
    world.runtime.config.update_site(world.site.id, timezone="Pacific/Auckland")
    world.runtime.directory.clear()
    EmailReportStore(world.runtime.config).add(world.site.id, "weekly", "ann@example.com")
    now = dt.datetime.now(dt.UTC)
    # The first Monday 9:00 in Auckland after now: Sunday evening in UTC.
    due = periods.due("week", now, "Pacific/Auckland").after().sending_time("Pacific/Auckland")
    assert due.astimezone(dt.UTC).weekday() == 6
    clock = Clock(due - dt.timedelta(seconds=1))
    scheduler(world, inbox, clock).tick()
    assert inbox.received == []
    clock.now = due
    scheduler(world, inbox, clock).tick()
    assert len(inbox.wait_for(1)) == 1


def test_a_failed_sending_is_logged_and_sent_at_the_next_tick(
    world: SmallWorld, caplog: pytest.LogCaptureFixture
) -> None:
    fill(world)
    store = EmailReportStore(world.runtime.config)
    store.add(world.site.id, "weekly", "ann@example.com", added_at=LONG_AGO)
    week = the_week(world)
    down = Inbox(port=_closed_port())
    clock = Clock(week.sending_time("UTC"))
    with caplog.at_level(logging.WARNING, logger="clycyo.mail"):
        scheduler(world, down, clock).tick()  # nothing listens: refused
    assert any("ann@example.com" in r.getMessage() for r in caplog.records), caplog.text
    assert store.delivered(world.site.id, "week", week.key) == set()
    clock.now += dt.timedelta(minutes=1)
    with running(down) as back:
        scheduler(world, back, clock).tick()
        assert len(back.wait_for(1)) == 1
    assert store.delivered(world.site.id, "week", week.key) == {"ann@example.com"}


def gone_then_ann(world: SmallWorld) -> EmailReportStore:
    """The world's week, and a weekly list of gone@ (tried first) then ann@."""
    fill(world)
    store = EmailReportStore(world.runtime.config)
    store.add(world.site.id, "weekly", "gone@example.com", added_at=LONG_AGO)
    store.add(world.site.id, "weekly", "ann@example.com", added_at=LONG_AGO + 1)
    return store


def test_a_recipient_the_server_closes_the_session_on_does_not_hold_back_the_next(
    world: SmallWorld, inbox: Inbox
) -> None:
    store = gone_then_ann(world)
    inbox.closing_on.add("gone@example.com")  # first on the list: tried first at every tick
    week = the_week(world)
    scheduler(world, inbox, Clock(week.sending_time("UTC"))).tick()
    assert [m.recipients for m in inbox.wait_for(1)] == [["ann@example.com"]]
    assert store.delivered(world.site.id, "week", week.key) == {"ann@example.com"}


def test_an_address_always_refused_is_tried_less_and_less_often(
    world: SmallWorld, inbox: Inbox
) -> None:
    store = gone_then_ann(world)
    inbox.refusing.add("gone@example.com")
    week = the_week(world)
    clock = Clock(week.sending_time("UTC"))
    ticking = scheduler(world, inbox, clock)
    tried_at = []
    for minute in range(16):
        before = len(inbox.refused)
        ticking.tick()
        if len(inbox.refused) > before:
            tried_at.append(minute)
        clock.now += dt.timedelta(minutes=1)
    # At once, then after 1, 2, 4 and 8 minutes; ann had hers at the first tick, once.
    assert tried_at == [0, 1, 3, 7, 15]
    assert [m.recipients for m in inbox.wait_for(1)] == [["ann@example.com"]]
    # The pause stops growing at an hour; once the address takes its report, it is not sent again.
    clock.now += dt.timedelta(hours=3)
    for _ in range(3):
        ticking.tick()
        clock.now += dt.timedelta(hours=1)
    assert len(inbox.refused) == 5 + 3
    inbox.refusing.clear()
    ticking.tick()
    assert [m.recipients for m in inbox.wait_for(2)][1] == ["gone@example.com"]
    clock.now += dt.timedelta(hours=1)
    ticking.tick()
    assert len(inbox.wait_for(3, timeout_s=1)) == 2
    assert store.delivered(world.site.id, "week", week.key) == {
        "ann@example.com",
        "gone@example.com",
    }


def _closed_port() -> int:
    from tests.serverproc import free_port

    return free_port()


def _realtime_visitors(world: SmallWorld, *visitors: str) -> None:
    now_minute = (dt.datetime.now(dt.UTC) - world.start).total_seconds() / 60 - 0.5
    world.send(*(world.pageview(visitor, now_minute, "/launch") for visitor in visitors))


def test_a_spike_notifies_once_in_twelve_hours(world: SmallWorld, inbox: Inbox) -> None:
    store = EmailReportStore(world.runtime.config)
    store.add(world.site.id, "spike", "ops@example.com")
    store.set_threshold(world.site.id, 4)
    _realtime_visitors(world, "a", "b", "c")
    now = dt.datetime.now(dt.UTC)
    clock = Clock(now)
    running_scheduler = scheduler(world, inbox, clock)
    running_scheduler.tick()
    assert inbox.received == []  # 3 current visitors, under 4
    _realtime_visitors(world, "d", "e")
    clock.now = now + dt.timedelta(seconds=30)
    running_scheduler.tick()
    assert inbox.received == []  # checked at most once a minute
    clock.now = now + dt.timedelta(minutes=1)
    running_scheduler.tick()
    (notice,) = inbox.wait_for(1)
    assert notice.message["Subject"] == "Traffic spike on shop.test: 5 current visitors"
    assert "/launch" in notice.part("plain") and "(the threshold is 4)" in notice.part("plain")
    assert f"{PUBLIC_URL}/sites/shop.test/realtime" in notice.part("plain")
    for minutes in (2, 60, 12 * 60):
        clock.now = now + dt.timedelta(minutes=minutes)
        scheduler(world, inbox, clock).tick()  # a restart too: the cool-down is remembered
    assert len(inbox.received) == 1
    clock.now = now + dt.timedelta(hours=12, minutes=2)
    scheduler(world, inbox, clock).tick()
    assert len(inbox.wait_for(2)) == 2
