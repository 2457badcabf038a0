"""A site's segments in the configuration store: filters checked by the query layer's own code
(an unknown dimension refused naming the filter and the reason), the name's limits, one name per
site whatever its case, at most 100 a site, finding and deleting one of the site's own, and a
site's removal."""

from __future__ import annotations

from pathlib import Path

import pytest

from clycyo.config import segments, site_removal
from clycyo.config.segments import SegmentError, SegmentStore, check_name
from clycyo.config.store import ConfigStore

GOOGLE = [["is", "visit:source", ["Google"]]]


@pytest.fixture
def config(tmp_path: Path) -> ConfigStore:
    return ConfigStore(tmp_path / "config.sqlite")


def test_a_segment_keeps_its_filters_in_the_query_apis_shape(config: ConfigStore) -> None:
    site = config.add_site("shop.example").site
    store = SegmentStore(config)
    filters = [["is", "visit:country", ["DE"]], ["contains", "visit:utm_medium", "cpc"]]
    made = store.add(site.id, "  Paid from Germany ", filters, created_by="ann@example.com")
    assert made.name == "Paid from Germany" and made.created_by == "ann@example.com"
    expected = [["is", "visit:country", ["DE"]], ["contains", "visit:utm_medium", ["cpc"]]]
    assert made.query_filters() == expected
    [listed] = store.list(site.id)
    assert listed == made
    assert store.find(site.id, made.id) == made
    other = config.add_site("blog.example").site
    assert store.find(other.id, made.id) is None  # another site's is none of this one's
    assert store.find(site.id, 2**63) is None
    assert not store.delete(other.id, made.id)
    assert store.delete(site.id, made.id)
    assert store.list(site.id) == [] and store.find(site.id, made.id) is None


@pytest.mark.parametrize(
    ("filters", "reason"),
    [
        ([["is", "visit:planet", ["Mars"]]], "filters[0][1]: unknown dimension 'visit:planet'"),
        (
            [["is", "visit:source", ["Google"]], ["near", "visit:country", ["DE"]]],
            "filters[1][0]: unknown operator 'near'",
        ),
        ([["is", "visit:source", []]], "filters[0][2]: expected a list of 1 to 100 values"),
        ([["is", "segment", [1]]], "filters[0][1]: a segment cannot hold another segment"),
        ([["is", "time:day", ["2026-11-20"]]], "filters[0][1]: time:day cannot be filtered"),
        ([], "filters: a segment has at least one filter"),
        ([["is", "visit:source"]], "filters[0]: expected [operator, dimension, [values]]"),
    ],
)
def test_filters_are_checked_as_the_query_api_checks_them(
    config: ConfigStore, filters: list[list[object]], reason: str
) -> None:
    site = config.add_site("shop.example").site
    with pytest.raises(SegmentError) as refused:
        SegmentStore(config).add(site.id, "Bad", filters, created_by="cli")
    assert str(refused.value).startswith(reason)
    assert SegmentStore(config).list(site.id) == []


def test_an_event_goal_filter_names_a_goal_of_the_site(config: ConfigStore) -> None:
    site = config.add_site("shop.example").site
    goal = [["is", "event:goal", ["Visit /thanks"]]]
    with pytest.raises(SegmentError, match=r"^filters\[0\]\[2\]"):
        SegmentStore(config).add(site.id, "Thanked", goal, created_by="cli", page_goals=())
    made = SegmentStore(config).add(
        site.id, "Thanked", goal, created_by="cli", page_goals={"/thanks"}
    )
    assert made.filters == (("is", "event:goal", ("Visit /thanks",)),)


def test_the_name_is_one_short_line() -> None:
    assert check_name("  <b>Paid</b>  ") == "<b>Paid</b>"
    assert check_name("é" * segments.MAX_NAME_CHARS) == "é" * 80
    for name, reason in (
        ("", "name: required"),
        ("   ", "name: required"),
        ("x" * 81, "name: at most 80 characters"),
        ("two\nlines", "name: one line, with no control characters"),
        ("tab\there", "name: one line, with no control characters"),
        ("sep\u2029arated", "name: one line, with no control characters"),
    ):
        with pytest.raises(SegmentError) as refused:
            check_name(name)
        assert str(refused.value) == reason


def test_a_name_is_unique_per_site_whatever_its_case(config: ConfigStore) -> None:
    shop = config.add_site("shop.example").site
    blog = config.add_site("blog.example").site
    store = SegmentStore(config)
    store.add(shop.id, "Paid", GOOGLE, created_by="cli")
    with pytest.raises(SegmentError, match="name: the site has a segment named 'PAID' already"):
        store.add(shop.id, "PAID", GOOGLE, created_by="cli")
    store.add(blog.id, "Paid", GOOGLE, created_by="cli")  # another site's name is its own
    assert [s.name for s in store.list()] == ["Paid", "Paid"]


def test_a_site_has_at_most_100(config: ConfigStore) -> None:
    site = config.add_site("shop.example").site
    store = SegmentStore(config)
    for number in range(segments.MAX_PER_SITE):
        store.add(site.id, f"Segment {number}", GOOGLE, created_by="cli")
    with pytest.raises(SegmentError, match="a site has at most 100 segments"):
        store.add(site.id, "One more", GOOGLE, created_by="cli")
    assert len(store.list(site.id)) == 100


def test_removing_a_site_removes_its_segments(config: ConfigStore) -> None:
    kept = config.add_site("kept.example").site
    gone = config.add_site("gone.example").site
    store = SegmentStore(config)
    store.add(kept.id, "Paid", GOOGLE, created_by="cli")
    store.add(gone.id, "Paid", GOOGLE, created_by="cli")
    store.add(gone.id, "Organic", GOOGLE, created_by="cli")
    _, counts = site_removal.remove(config, "gone.example")
    assert counts["segments"] == 2
    assert [s.name for s in store.list(kept.id)] == ["Paid"]
    assert store.list(gone.id) == []
