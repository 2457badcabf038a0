"""Origins and page URLs are read the way browsers read them, so no host can pass for another."""

from __future__ import annotations

from pathlib import Path

import pytest

from clycyo.collect.origins import ambiguous_host, belongs_to, host_of, known_origin, origin_host
from clycyo.config.directory import SiteDirectory
from clycyo.config.store import ConfigStore


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("https://example.com", "example.com"),
        ("http://www.Example.COM:8080", "www.example.com"),
        ("https://a.example.com.", "a.example.com"),
        ("http://[::1]:8000", "::1"),
        ("https://evil.org\\@example.com", None),
        ("https://evil.org%2F.example.com", None),
        ("https://user@example.com", None),
        ("https://example.com/", None),
        ("https://example.com/path", None),
        ("https://example.com:", None),
        ("https://example.com?x", None),
        ("null", None),
        ("", None),
    ],
)
def test_an_origin_is_scheme_host_and_port_only(origin: str, host: str | None) -> None:
    assert origin_host(origin) == host


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://a.example.com:8443/x", "a.example.com"),
        ("https://evil.org\\@example.com/x", "evil.org"),
        ("https://evil.org\\\\@example.com/x", "evil.org"),
        ("https://evil.org%2F.example.com/", None),
        ("https://u:p@example.com/", "example.com"),
        ("https://example.com@evil.org/", "evil.org"),
        ("https://[::1]:8000/", "::1"),
    ],
)
def test_a_urls_host_ends_where_a_browser_ends_it(url: str, host: str | None) -> None:
    assert host_of(url) == host


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://example.com/a?utm_source=a%20b#x", None),
        ("https://example.com/a\\b", None),
        ("https://u%40x@example.com/", None),
        ("https://evil.org\\@example.com/x", "a backslash in the host part"),
        ("https://evil.org\\\\@example.com/x", "a backslash in the host part"),
        ("https://evil.org%2F.example.com/", "a percent escape in the host"),
        ("https://ex%61mple.com/", "a percent escape in the host"),
    ],
)
def test_urls_a_browser_would_read_otherwise_are_named(url: str, why: str | None) -> None:
    problem = ambiguous_host(url)
    if why is None:
        assert problem is None
    else:
        assert problem is not None and problem.startswith(why)


def test_a_host_belongs_to_its_domain_and_subdomains_only() -> None:
    assert belongs_to("example.com", "example.com")
    assert belongs_to("www.example.com", "example.com")
    assert not belongs_to("evilexample.com", "example.com")


def test_a_known_origin_is_a_page_of_a_site_or_of_one_of_its_subdomains(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "config.sqlite")
    store.add_site("example.com")
    directory = SiteDirectory(store)
    for origin in (
        b"https://example.com",
        b"http://www.example.com:8080",
        b"https://a.b.example.com",
    ):
        assert known_origin(origin, directory), origin
    for origin in (
        b"https://com",
        b"https://example.com.evil.org",
        b"https://evil.org\\@example.com",
    ):
        assert not known_origin(origin, directory), origin
