from __future__ import annotations

from clycyo.model import Drop, DropReason
from clycyo.pipeline.context import Context
from clycyo.pipeline.expiry import DAY_US, filter_expired
from clycyo.pipeline.salts import SaltRing
from tests.pipeline.factories import NOW_US, make_hit


def retained(days: dict[int, int | None]) -> Context:
    return Context(salts=SaltRing(), retention_days=days.get)


def test_an_event_older_than_its_sites_retention_is_dropped() -> None:
    ctx = retained({1: 30, 2: None})
    old = make_hit(site_id=1, time_us=NOW_US - 30 * DAY_US - 1)
    assert filter_expired(old, ctx) == Drop(
        DropReason.EXPIRED, "older than the site's retention of 30 days"
    )
    # At the cutoff, and on a site that keeps everything, it stays.
    at_cutoff = make_hit(site_id=1, time_us=NOW_US - 30 * DAY_US)
    assert filter_expired(at_cutoff, ctx) is at_cutoff
    elsewhere = make_hit(site_id=2, time_us=NOW_US - 400 * DAY_US)
    assert filter_expired(elsewhere, ctx) is elsewhere
    assert filter_expired(old, Context(salts=SaltRing())) is old


def test_a_retention_of_0_days_keeps_everything() -> None:
    # As `site set --retention-days 0` says, and as retention itself reads it (`cutoffs_us`).
    old = make_hit(site_id=1, time_us=NOW_US - 400 * DAY_US)
    assert filter_expired(old, retained({1: 0})) is old
