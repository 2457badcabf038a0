"""`enrich_source`: page, campaign tags, click id, referrer, source and channel."""

from __future__ import annotations

import pytest

from clycyo.model import Hit
from clycyo.pipeline import channels
from clycyo.pipeline.referrers import known_host, known_source
from clycyo.pipeline.source import enrich_source, split_url
from tests.pipeline.factories import make_context, make_hit

CTX = make_context()


def landing(url: str | None, referrer: str | None = None) -> Hit:
    result = enrich_source(make_hit(url=url, referrer=referrer), CTX)
    assert isinstance(result, Hit)
    return result


@pytest.mark.parametrize(
    ("url", "referrer", "source", "channel"),
    [
        ("https://example.com/", "https://www.google.com/", "Google", "Organic Search"),
        ("https://example.com/", "https://www.google.co.uk/", "Google", "Organic Search"),
        ("https://example.com/", "https://duckduckgo.com/", "DuckDuckGo", "Organic Search"),
        (
            "https://example.com/",
            "android-app://com.google.android.googlequicksearchbox/",
            "Google",
            "Organic Search",
        ),
        ("https://example.com/?utm_medium=cpc&utm_source=google", None, "Google", "Paid Search"),
        ("https://example.com/?gclid=Cj0KCQ", None, "Google", "Paid Search"),
        ("https://example.com/?msclkid=abc", "https://www.bing.com/", "Bing", "Paid Search"),
        (
            "https://example.com/?fbclid=IwAR",
            "https://l.facebook.com/",
            "Facebook",
            "Organic Social",
        ),
        ("https://example.com/?fbclid=IwAR", None, "Facebook", "Organic Social"),
        ("https://example.com/?ttclid=E.C.P", None, "TikTok", "Paid Social"),
        (
            "https://example.com/?utm_source=facebook&utm_medium=paid_social",
            None,
            "Facebook",
            "Paid Social",
        ),
        (
            "https://example.com/?utm_source=newsletter&utm_medium=email",
            None,
            "newsletter",
            "Email",
        ),
        ("https://example.com/?utm_source=weekly&utm_medium=newsletter", None, "weekly", "Email"),
        ("https://example.com/", "https://mail.google.com/", "Gmail", "Email"),
        ("https://example.com/", "https://outlook.live.com/", "Outlook", "Email"),
        ("https://example.com/?utm_medium=display&utm_source=dv360", None, "dv360", "Display"),
        (
            "https://example.com/?utm_medium=affiliate&utm_source=partner",
            None,
            "partner",
            "Affiliates",
        ),
        (
            "https://example.com/",
            "https://news.ycombinator.com/item?id=1",
            "Hacker News",
            "Organic Social",
        ),
        ("https://example.com/", "https://t.co/abc", "X", "Organic Social"),
        ("https://example.com/", "https://www.reddit.com/r/x", "Reddit", "Organic Social"),
        ("https://example.com/", "https://www.linkedin.com/", "LinkedIn", "Organic Social"),
        ("https://example.com/", "https://www.youtube.com/watch?v=1", "YouTube", "Organic Video"),
        ("https://example.com/", "https://www.amazon.de/dp/1", "Amazon", "Organic Shopping"),
        ("https://example.com/", "https://github.com/org/repo", "GitHub", "Referral"),
        ("https://example.com/", "https://someblog.net/post/1", "someblog.net", "Referral"),
        (
            "https://example.com/",
            "https://docs.google.com/document/d/1",
            "docs.google.com",
            "Referral",
        ),
        ("https://example.com/?ref=producthunt", None, "Product Hunt", "Referral"),
        ("https://example.com/?utm_source=foo", None, "foo", "Unassigned"),
        ("https://example.com/", None, None, "Direct"),
        ("https://example.com/pricing", "https://example.com/", None, None),
        ("https://app.example.com/", "https://www.example.com/blog", None, None),
    ],
)
def test_source_and_channel(
    url: str, referrer: str | None, source: str | None, channel: str | None
) -> None:
    hit = landing(url, referrer)
    assert (hit.source, hit.channel) == (source, channel)
    assert channel is None or channel in channels.CHANNELS


def test_utm_tags_are_kept_as_sent_and_known_sources_get_their_usual_name() -> None:
    hit = landing(
        "https://example.com/?utm_source=google&utm_medium=CPC&utm_campaign=Spring%20Sale"
        "&utm_term=running+shoes&utm_content=ad-1"
    )
    assert (hit.utm_source, hit.utm_medium, hit.utm_campaign) == ("google", "CPC", "Spring Sale")
    assert (hit.utm_term, hit.utm_content) == ("running shoes", "ad-1")
    assert (hit.source, hit.channel) == ("Google", "Paid Search")


def test_a_campaign_tag_wins_over_an_internal_referrer() -> None:
    hit = landing("https://example.com/?utm_source=Twitter", "https://example.com/")
    assert (hit.source, hit.channel) == ("X", "Organic Social")


def test_click_id_is_the_parameter_name_and_paid_ones_win_over_fbclid() -> None:
    assert landing("https://example.com/?gclid=1").click_id == "gclid"
    assert landing("https://example.com/?fbclid=1&gclid=2").click_id == "gclid"
    assert landing("https://example.com/?ScCid=1").click_id == "sccid"
    assert landing("https://example.com/?utm_source=x").click_id is None


def test_page_hostname_and_referrer_host() -> None:
    hit = landing("https://WWW.Example.com:8443/Docs/a?x=1#intro", "https://www.Google.com/search")
    assert (hit.hostname, hit.page, hit.referrer_host) == ("example.com", "/Docs/a", "google.com")
    assert landing("https://example.com").page == "/"
    assert landing("https://example.com?utm_source=x").page == "/"


def test_hash_routes_are_pages_and_anchors_are_not() -> None:
    assert landing("https://example.com/#/pricing").page == "/#/pricing"
    assert landing("https://example.com/app#!/settings?tab=1").page == "/app#!/settings"
    assert landing("https://example.com/docs#install").page == "/docs"
    hit = landing("https://example.com/#/welcome?utm_source=newsletter&utm_medium=email")
    assert (hit.page, hit.channel) == ("/#/welcome", "Email")


def test_a_page_is_one_page_however_its_non_ascii_characters_were_escaped() -> None:
    assert landing("https://example.com/caf%C3%A9").page == "/café"
    assert (
        landing("https://example.com/%c3%bcber-uns").page
        == landing("https://example.com/über-uns").page
    )
    assert landing("https://example.com/#/caf%C3%A9?x=1").page == "/#/café"
    # What unescaping would change stays escaped: ASCII escapes, and bytes that are not UTF-8.
    assert landing("https://example.com/a%2Fb%20c%3F").page == "/a%2Fb%20c%3F"
    assert landing("https://example.com/x%E9y%C3").page == "/x%E9y%C3"
    assert landing("https://example.com/%E2%82%AC%2F%F0%9F%98%80").page == "/€%2F😀"


def test_a_hit_without_url_gets_nothing() -> None:
    hit = landing(None, "https://www.google.com/")
    assert (hit.hostname, hit.page, hit.source, hit.channel, hit.referrer_host) == (None,) * 5


def test_split_url_handles_credentials_ports_and_ipv6() -> None:
    assert split_url("https://user:pw@www.shop.example:8080/x?y") == ("shop.example", "/x", "y")
    assert split_url("http://[2001:db8::1]:8080/") == ("[2001:db8::1]", "/", "")
    assert split_url("not a url") == ("", "/", "")


def test_known_names_cover_subdomains_but_prefer_the_most_specific_entry() -> None:
    assert known_host("m.facebook.com") == ("Facebook", "social")
    assert known_host("mail.google.com") == ("Gmail", "email")
    assert known_host("google.com.br") == ("Google", "search")
    assert known_host("google.example.org") is None
    assert known_source("YAHOO") == ("Yahoo", "search")
    assert known_source("www.linkedin.com") == ("LinkedIn", "social")
    assert known_source("my-partner") is None
