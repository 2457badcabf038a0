"""A site's shields in the configuration store: each kind's value as it is kept, what is refused
and why, the limit per kind, a running server's view after a change, and a site's removal."""

from __future__ import annotations

from pathlib import Path

import pytest

from clycyo.config import shields, site_removal
from clycyo.config.directory import SiteDirectory
from clycyo.config.shields import ShieldError, ShieldStore, check_value
from clycyo.config.store import ConfigStore


@pytest.fixture
def config(tmp_path: Path) -> ConfigStore:
    return ConfigStore(tmp_path / "config.sqlite")


@pytest.mark.parametrize(
    ("kind", "given", "kept"),
    [
        ("ip", " 203.0.113.7 ", "203.0.113.7"),
        ("ip", "203.0.113.7/24", "203.0.113.0/24"),  # a range by its first address
        ("ip", "2001:DB8:0:0::1", "2001:db8::1"),
        ("ip", "2001:db8::/32", "2001:db8::/32"),
        ("ip", "::ffff:203.0.113.7", "203.0.113.7"),
        ("ip", "::ffff:203.0.113.0/120", "203.0.113.0/24"),
        ("country", "de", "DE"),
        ("page", " /admin/** ", "/admin/**"),
        ("hostname", "App.Example.com.", "app.example.com"),
        ("hostname", "www.example.com", "example.com"),  # as events' hostnames are kept
        ("hostname", "*.example.com", "*.example.com"),
        ("hostname", "example.com", "example.com"),
    ],
)
def test_a_rule_is_kept_in_one_spelling(kind: str, given: str, kept: str) -> None:
    assert check_value(kind, given, "example.com") == kept


@pytest.mark.parametrize(
    ("kind", "given", "reason"),
    [
        ("ip", "203.0.113", "ip: '203.0.113' is not an IP address or CIDR range"),
        ("ip", "203.0.113.0/33", "is not an IP address or CIDR range"),
        ("ip", "office", "(such as 203.0.113.7, 203.0.113.0/24 or 2001:db8::/32)"),
        ("ip", "fe80::1%eth0", "names a network interface"),
        ("country", "DEU", "country: 'DEU' is not an ISO 3166-1 alpha-2 code"),
        ("country", "D1", "not an ISO 3166-1 alpha-2 code"),
        ("country", "ß", "not an ISO 3166-1 alpha-2 code"),  # upper case is "SS", South Sudan
        ("country", "EU", "names a region"),
        ("page", "admin", "page: a page path starts with /"),
        ("page", "/a b", "page: a page path has no spaces"),
        ("hostname", "other.example", "hostname: other.example is not a host of example.com"),
        ("hostname", "*.com", "hostname: com is not a host of example.com"),
        ("hostname", "https://example.com/", "is not a host name"),
        ("hostname", "a*.example.com", "is not a host name"),
        ("kind", "x", "no kind of rule 'kind': one of ip, country, page, hostname"),
        ("page", "/" + "a" * shields.MAX_VALUE_CHARS, "page: at most"),
    ],
)
def test_what_is_no_rule_is_refused_with_the_reason(kind: str, given: str, reason: str) -> None:
    with pytest.raises(ShieldError) as refused:
        check_value(kind, given, "example.com")
    assert reason in str(refused.value)


def test_rules_are_kept_per_site_and_deleted(config: ConfigStore) -> None:
    one = config.add_site("one.example").site
    two = config.add_site("two.example").site
    store = ShieldStore(config)
    office = store.add(one.id, one.domain, "ip", "203.0.113.0/24")
    store.add(one.id, one.domain, "page", "/admin/**")
    store.add(two.id, two.domain, "ip", "203.0.113.0/24")
    assert [(r.kind, r.value) for r in store.list(one.id)] == [
        ("ip", "203.0.113.0/24"),
        ("page", "/admin/**"),
    ]
    with pytest.raises(ShieldError, match=r"ip: the site has the rule 203\.0\.113\.0/24 already"):
        store.add(one.id, one.domain, "ip", "203.0.113.9/24")
    assert not store.delete(two.id, office.id)  # another site's rule
    assert store.delete(one.id, office.id)
    assert not store.delete(one.id, office.id)
    assert not store.delete(one.id, 2**63)
    assert [r.value for r in ShieldStore(ConfigStore(config.path)).list(one.id)] == ["/admin/**"]
    assert len(store.all()) == 2


def test_a_folder_where_no_rule_was_made_has_none(config: ConfigStore) -> None:
    site = config.add_site("one.example").site
    store = ShieldStore(config)
    assert store.list(site.id) == store.all() == []
    assert not store.delete(site.id, 1)
    assert SiteDirectory(config).shields(site.id) is None


def test_a_site_has_at_most_30_rules_of_each_kind(config: ConfigStore) -> None:
    site = config.add_site("one.example").site
    store = ShieldStore(config)
    assert shields.MAX_RULES_PER_KIND == 30
    for index in range(30):
        store.add(site.id, site.domain, "ip", f"203.0.113.{index}")
    with pytest.raises(ShieldError, match="a site has at most 30 ip rules"):
        store.add(site.id, site.domain, "ip", "203.0.113.200")
    store.add(site.id, site.domain, "country", "DE")  # another kind has its own 30
    assert len(store.list(site.id)) == 31


def test_a_servers_view_changes_when_another_process_adds_a_rule(config: ConfigStore) -> None:
    site = config.add_site("one.example").site
    directory = SiteDirectory(config)
    assert directory.shields(site.id) is None
    ShieldStore(ConfigStore(config.path)).add(site.id, site.domain, "country", "DE")
    assert directory.shields(site.id) is None  # cached until the store is seen to change
    assert directory.refresh()
    compiled = directory.shields(site.id)
    assert compiled is not None and compiled.countries == {"DE"}


def test_removing_a_site_removes_its_rules(config: ConfigStore) -> None:
    kept = config.add_site("kept.example").site
    gone = config.add_site("gone.example").site
    store = ShieldStore(config)
    store.add(kept.id, kept.domain, "country", "DE")
    store.add(gone.id, gone.domain, "country", "DE")
    store.add(gone.id, gone.domain, "page", "/admin/**")
    _, counts = site_removal.remove(config, "gone.example")
    assert counts["shields"] == 2
    assert [r.value for r in store.all()] == ["DE"]
