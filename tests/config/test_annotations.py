"""A site's annotations in the configuration store: the time a person types read in the site's
zone, the text's limits, a period's annotations, deleting one, and a site's removal."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from clycyo.config import annotations, site_removal
from clycyo.config.annotations import AnnotationError, AnnotationStore, check_text, parse_time
from clycyo.config.store import ConfigStore


@pytest.fixture
def config(tmp_path: Path) -> ConfigStore:
    return ConfigStore(tmp_path / "config.sqlite")


def utc(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp()


@pytest.mark.parametrize(
    ("given", "zone", "instant"),
    [
        ("2026-11-20", "Europe/Berlin", "2026-11-19T23:00:00"),  # the day's start there
        ("2026-07-01", "Europe/Berlin", "2026-06-30T22:00:00"),  # in summer time
        ("2026-11-20", "UTC", "2026-11-20T00:00:00"),
        ("2026-11-20T14:30:00Z", "Europe/Berlin", "2026-11-20T14:30:00"),
        ("2026-11-20T14:30:00+05:30", "UTC", "2026-11-20T09:00:00"),
        ("2026-11-20T14:30", "America/New_York", "2026-11-20T19:30:00"),  # local, no offset
    ],
)
def test_a_time_is_read_in_the_sites_zone(given: str, zone: str, instant: str) -> None:
    assert parse_time(given, zone) == utc(instant)


@pytest.mark.parametrize("given", ["", "yesterday", "2026-13-01", "2026-11-20T25:00"])
def test_what_is_no_time_is_refused_naming_the_field(given: str) -> None:
    with pytest.raises(AnnotationError, match=r"^time: .* is not a day or a time"):
        parse_time(given, "UTC")


@pytest.mark.parametrize(
    "given", ["9999-12-31T23:59:59-14:00", "9999-06-01", "1969-12-31T23:59:59Z", "0001-01-01"]
)
def test_a_time_that_would_not_read_back_as_a_date_is_refused(given: str) -> None:
    with pytest.raises(AnnotationError, match=r"^time: .* is not between the years 1970 and 9998"):
        parse_time(given, "Pacific/Kiritimati")


def test_the_text_is_one_short_line() -> None:
    assert check_text("  Release 2.4 <b>  ") == "Release 2.4 <b>"
    assert check_text("é" * annotations.MAX_TEXT_CHARS) == "é" * 200
    for text, reason in (
        ("", "text: required"),
        ("   ", "text: required"),
        ("x" * 201, "text: at most 200 characters"),
        ("two\nlines", "text: one line, with no control characters"),
        ("bell\x07", "text: one line, with no control characters"),
        ("sep\u2028arated", "text: one line, with no control characters"),
    ):
        with pytest.raises(AnnotationError) as refused:
            check_text(text)
        assert str(refused.value) == reason


def test_a_periods_annotations_are_read_oldest_first(config: ConfigStore) -> None:
    site = config.add_site("shop.example").site
    other = config.add_site("blog.example").site
    store = AnnotationStore(config)
    late = store.add(site.id, "Campaign", at=utc("2026-11-22T09:00:00"), created_by="cli")
    early = store.add(site.id, "Release 2.4", at=utc("2026-11-20T14:30:00"), created_by="api")
    store.add(site.id, "Last month", at=utc("2026-10-01T00:00:00"), created_by="cli")
    store.add(other.id, "Not this site", at=utc("2026-11-21T00:00:00"), created_by="cli")
    found = store.between(site.id, utc("2026-11-01T00:00:00"), utc("2026-12-01T00:00:00"))
    assert found == [early, late]
    assert early.time == "2026-11-20T14:30:00Z" and early.created_by == "api"
    assert store.between(site.id, end=utc("2026-11-22T09:00:00")) == [
        store.list(site.id)[2],
        early,
    ]  # the end is not included
    assert [a.text for a in store.between(site.id, limit=2)] == ["Release 2.4", "Campaign"]
    assert store.find(late.id) == late and store.find(10**6) is None


def test_no_time_given_is_now(config: ConfigStore) -> None:
    site = config.add_site("shop.example").site
    before = dt.datetime.now(dt.UTC).timestamp()
    made = AnnotationStore(config).add(site.id, "Now", created_by="ann@example.com")
    assert before <= made.at <= dt.datetime.now(dt.UTC).timestamp()
    assert made.created_at == made.at


def test_a_deleted_annotation_is_gone_and_a_site_has_a_limit(
    config: ConfigStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = config.add_site("shop.example").site
    other = config.add_site("blog.example").site
    store = AnnotationStore(config)
    kept = store.add(site.id, "Kept", created_by="cli")
    gone = store.add(site.id, "Gone", created_by="cli")
    assert not store.delete(other.id, gone.id)  # another site's id is none of its own
    assert store.delete(site.id, gone.id) and not store.delete(site.id, gone.id)
    assert store.list(site.id) == [kept]
    monkeypatch.setattr(annotations, "MAX_PER_SITE", 2)
    store.add(site.id, "Second", created_by="cli")
    with pytest.raises(AnnotationError, match="a site has at most 2 annotations"):
        store.add(site.id, "Third", created_by="cli")


def test_removing_a_site_removes_its_annotations(config: ConfigStore) -> None:
    kept = config.add_site("kept.example").site
    gone = config.add_site("gone.example").site
    store = AnnotationStore(config)
    store.add(kept.id, "Release", created_by="cli")
    store.add(gone.id, "Release", created_by="cli")
    store.add(gone.id, "Campaign", created_by="cli")
    _, counts = site_removal.remove(config, "gone.example")
    assert counts["annotations"] == 2
    assert [a.text for a in store.list(kept.id)] == ["Release"]
    assert store.list(gone.id) == []
