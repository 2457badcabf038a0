"""`filter_excluded`, called directly: which rule keeps a browser event out (and with which drop
reason), that server events pass, and that a site without rules is left alone."""

from __future__ import annotations

from typing import Any

import pytest

from clycyo.config.shields import Shield
from clycyo.model import Drop, DropReason, Event
from clycyo.pipeline import STEPS, process
from clycyo.pipeline.context import Context
from clycyo.pipeline.device import enrich_device
from clycyo.pipeline.geo import enrich_geo
from clycyo.pipeline.salts import SaltRing
from clycyo.pipeline.shields import SiteShields, filter_excluded
from clycyo.pipeline.source import enrich_source
from tests.pipeline.factories import make_hit


def shielded(*rules: tuple[str, str], site_id: int = 1) -> Context:
    shields = SiteShields.of(
        Shield(index, site_id, kind, value) for index, (kind, value) in enumerate(rules, 1)
    )
    return Context(salts=SaltRing(), shields={site_id: shields}.get)


def enriched(**fields: Any) -> Any:
    """A hit as `filter_excluded` gets it: country, page and host already set."""
    hit = make_hit(**fields)
    ctx = Context(salts=SaltRing())
    for step in (enrich_device, enrich_geo, enrich_source):
        step(hit, ctx)
    return hit


def dropped(hit: Any, ctx: Context) -> str | None:
    result = filter_excluded(hit, ctx)
    if result is hit:
        return None
    assert isinstance(result, Drop) and result.reason is DropReason.EXCLUDED, result
    return result.detail


def test_the_step_runs_after_the_country_and_page_and_before_the_address_goes() -> None:
    names = [step.__name__ for step in STEPS]
    assert names.index("enrich_geo") < names.index("filter_excluded")
    assert names.index("enrich_source") < names.index("filter_excluded")
    assert names.index("filter_excluded") < names.index("identify")  # and `minimize` after all


@pytest.mark.parametrize(
    ("rule", "ip", "kept"),
    [
        ("203.0.113.7", "203.0.113.7", False),
        ("203.0.113.7", "203.0.113.8", True),
        ("203.0.113.0/24", "203.0.113.200", False),
        ("203.0.113.0/24", "203.0.114.1", True),
        ("203.0.113.0/24", "::ffff:203.0.113.9", False),  # a dual-stack server's view of IPv4
        ("2001:db8::/32", "2001:db8:1::5", False),
        ("2001:db8::/32", "[2001:db8::5]", False),
        ("2001:db8::/32", "2001:db9::5", True),
        ("2001:db8::1", "2001:0db8:0:0::1", False),
        ("203.0.113.0/24", "not an address", True),
    ],
)
def test_an_ip_rule_is_an_address_or_a_range(rule: str, ip: str, kept: bool) -> None:
    detail = dropped(enriched(ip=ip), shielded(("ip", rule)))
    assert (detail is None) == kept
    if detail is not None:
        assert detail == "ip: an excluded address"  # never the address itself


def test_a_country_rule_drops_that_countrys_visitors() -> None:
    ctx = shielded(("country", "US"))
    american = enriched(ip="8.8.8.8")
    assert american.country == "US"
    assert dropped(american, ctx) == "country: US is excluded"
    german = enriched(ip="85.214.132.117")
    assert german.country == "DE"
    assert dropped(german, ctx) is None
    assert dropped(enriched(ip="127.0.0.1"), ctx) is None  # no country: nothing to match


def test_a_page_rule_reads_stars_as_page_goals_do() -> None:
    ctx = shielded(("page", "/admin/**"), ("page", "/preview/*/draft"))
    for url in (
        "https://example.com/admin/",
        "https://example.com/admin/users/7?tab=1",
        "https://example.com/preview/42/draft",
    ):
        assert dropped(enriched(url=url), ctx) == "page: an excluded page", url
    for url in (
        "https://example.com/admin",  # `/admin/**` needs the slash, as a page goal does
        "https://example.com/administrator",
        "https://example.com/preview/42/x/draft",  # `*` stops at a slash
        "https://example.com/",
    ):
        assert dropped(enriched(url=url), ctx) is None, url
    # Every other character is itself: a dot is no wildcard.
    dotted = shielded(("page", "/a.b"))
    assert dropped(enriched(url="https://example.com/axb"), dotted) is None
    assert dropped(enriched(url="https://example.com/a.b"), dotted) is not None


def test_hostname_rules_allow_only_the_hosts_they_name() -> None:
    ctx = shielded(("hostname", "example.com"), ("hostname", "*.shop.example.com"))
    for url in (
        "https://example.com/",
        "https://www.example.com/",  # kept without `www.`, as the rule is
        "https://eu.shop.example.com/cart",
        "https://a.b.shop.example.com/",
    ):
        assert dropped(enriched(url=url), ctx) is None, url
    for url in (
        "https://staging.example.com/",
        "https://shop.example.com/",  # `*.` names subdomains, not the host itself
        "https://notshop.example.com/",
    ):
        assert dropped(enriched(url=url), ctx) == "hostname: not one of the site's allowed hosts"
    # An event without a page has no host to judge.
    assert dropped(enriched(type="event", name="signup", url=None), ctx) is None


def test_server_events_are_not_subject_to_the_rules() -> None:
    ctx = shielded(("ip", "203.0.113.7"), ("country", "US"), ("page", "/**"))
    paid = enriched(
        trusted=True, origin="server", type="event", name="invoice.paid", ip="203.0.113.7"
    )
    assert filter_excluded(paid, ctx) is paid
    us = enriched(trusted=True, origin="server", ip="8.8.8.8")
    assert filter_excluded(us, ctx) is us
    # A backend that forwards a browser's event says so, and its event is judged as one.
    forwarded = enriched(trusted=True, origin="browser", ip="203.0.113.7")
    assert dropped(forwarded, ctx) == "ip: an excluded address"


def test_a_site_without_rules_and_other_sites_are_left_alone() -> None:
    hit = enriched(site_id=2, ip="203.0.113.7")
    assert filter_excluded(hit, shielded(("ip", "203.0.113.7"), site_id=1)) is hit
    assert filter_excluded(hit, Context(salts=SaltRing())) is hit


def test_process_answers_an_excluded_event_with_the_drop_and_keeps_the_rest() -> None:
    ctx = shielded(("page", "/admin/**"))
    admin = process(make_hit(url="https://example.com/admin/x"), ctx)
    assert isinstance(admin, Drop) and admin.reason is DropReason.EXCLUDED
    assert isinstance(process(make_hit(url="https://example.com/pricing"), ctx), Event)
    # Dropped before `identify`: no visitor hash is made for traffic that is not kept.
    hit = make_hit(url="https://example.com/admin/x", visitor_id=None)
    assert isinstance(process(hit, ctx), Drop)
    assert hit.visitor_id is None
