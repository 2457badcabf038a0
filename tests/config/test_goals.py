"""A site's page goals in the configuration store: what is refused and why, the limits, and a
site's removal taking its goals along."""

from __future__ import annotations

from pathlib import Path

import pytest

from clycyo.config import goals, site_removal
from clycyo.config.goals import GoalError, PageGoalStore, check_pattern
from clycyo.config.store import ConfigStore


@pytest.fixture
def config(tmp_path: Path) -> ConfigStore:
    return ConfigStore(tmp_path / "config.sqlite")


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("/thank-you", "/thank-you"),
        (" /blog/** ", "/blog/**"),
        ("/product/*/buy", "/product/*/buy"),
    ],
)
def test_a_pattern_is_a_page_path_with_wildcards(given: str, kept: str) -> None:
    assert check_pattern(given) == kept


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("thank-you", "starts with /"),
        ("", "starts with /"),
        ("/" + "a" * goals.MAX_PATTERN_CHARS, f"at most {goals.MAX_PATTERN_CHARS}"),
        ("/thank you", "no spaces"),
        ("/a\\b", "backslashes"),
        ("/a\x00b", "control characters"),
        ("/blog/***", "*** means neither"),
    ],
)
def test_what_is_no_pattern_is_refused_with_the_reason(given: str, reason: str) -> None:
    with pytest.raises(GoalError, match="pattern: ") as refused:
        check_pattern(given)
    assert reason in str(refused.value)


def test_goals_are_kept_per_site_named_visit_and_deleted(config: ConfigStore) -> None:
    one = config.add_site("one.example").site
    two = config.add_site("two.example").site
    store = PageGoalStore(config)
    pricing = store.add(one.id, "/pricing")
    store.add(one.id, "/blog/**")
    store.add(two.id, "/pricing")
    assert [g.name for g in store.list(one.id)] == ["Visit /pricing", "Visit /blog/**"]
    assert store.patterns(two.id) == {"/pricing"}
    with pytest.raises(GoalError, match="already"):
        store.add(one.id, " /pricing")
    assert not store.delete(two.id, pricing.id)  # another site's goal
    assert store.delete(one.id, pricing.id)
    assert store.patterns(one.id) == {"/blog/**"}
    # Another process's store sees the same rows.
    assert PageGoalStore(ConfigStore(config.path)).patterns(one.id) == {"/blog/**"}


def test_a_folder_where_no_goal_was_made_has_none(config: ConfigStore) -> None:
    site = config.add_site("one.example").site
    store = PageGoalStore(config)
    assert store.list(site.id) == []
    assert not store.delete(site.id, 1)


def test_a_site_has_at_most_so_many_goals(
    config: ConfigStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = config.add_site("one.example").site
    monkeypatch.setattr(goals, "MAX_GOALS_PER_SITE", 3)
    store = PageGoalStore(config)
    for index in range(3):
        store.add(site.id, f"/page-{index}")
    with pytest.raises(GoalError, match="at most 3 page goals"):
        store.add(site.id, "/one-more")
    assert len(store.list(site.id)) == 3


def test_removing_a_site_removes_its_goals(config: ConfigStore) -> None:
    kept = config.add_site("kept.example").site
    gone = config.add_site("gone.example").site
    store = PageGoalStore(config)
    store.add(kept.id, "/pricing")
    store.add(gone.id, "/pricing")
    store.add(gone.id, "/signup/**")
    _, counts = site_removal.remove(config, "gone.example")
    assert counts["page_goals"] == 2
    assert store.patterns(kept.id) == {"/pricing"}
    assert store.list(gone.id) == []
