"""The `enrich_source` step: page, campaign tags, click id, referrer, source and channel.

From the page URL it takes the hostname (lower case, without "www."), the page path (no query
string; a hash route such as "#/pricing" is kept, a plain "#anchor" is not; escaped non-ASCII
characters unescaped), the five UTM tags and
the ad platform's click id. From the referrer it takes the host, decides whether the visitor came
from another site, and names the source: `utm_source` first (known services get their usual
spelling: "google" is "Google"), then the referring site, then a `ref` or `source` parameter,
then the service a click id implies. `channels.classify` turns that into a channel.

A referrer on the same site (the same host, or one a subdomain of the other) is navigation within
the site: such a hit gets no source and no channel, since a visit's acquisition is decided by its
first event. A hit without a URL (most server events) gets nothing from this step. URLs are split
by hand rather than with urllib: this runs on every event and must cost microseconds.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import unquote_plus

from clycyo.model import Drop, Hit
from clycyo.pipeline.channels import CLICK_ID_SOURCES, CLICK_IDS, DIRECT, classify
from clycyo.pipeline.context import Context
from clycyo.pipeline.referrers import Known, known_host, known_source

CACHE_SIZE = 8_192  # referrers and (page host, referrer host) pairs remembered
URL_CACHE_SIZE = 16_384  # page URLs remembered (their split and campaign parameters)
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
_SOURCE_HINTS = ("ref", "source")  # used by some sites and apps instead of utm_source
_WANTED_KEYS = frozenset(UTM_KEYS) | frozenset(_SOURCE_HINTS) | CLICK_IDS
# When a URL carries several click ids, the paid platforms' win over fbclid.
_CLICK_ID_ORDER = tuple(sorted(CLICK_ID_SOURCES, key=lambda name: name == "fbclid"))


# Runs of percent-escaped bytes outside ASCII: the UTF-8 of a non-ASCII character, as a browser's
# `location.href` spells "/café" ("/caf%C3%A9").
_ESCAPED_UTF8 = re.compile(r"(?:%[89a-fA-F][0-9a-fA-F])+")


def _readable_path(path: str) -> str:
    """The path with its escaped non-ASCII characters as characters, so "/caf%C3%A9" and "/café"
    are one page; ASCII escapes ("%2F", "%20", "%3F") stay, since unescaping them changes what
    the path says, and so does a run that is not UTF-8."""
    if "%" not in path:
        return path
    return _ESCAPED_UTF8.sub(_utf8_or_as_is, path)


def _utf8_or_as_is(match: re.Match[str]) -> str:
    escaped = match[0]
    try:
        return bytes.fromhex(escaped.replace("%", "")).decode("utf-8")
    except UnicodeDecodeError:
        return escaped


def split_url(url: str) -> tuple[str, str, str]:
    """(host, page, query) of an absolute URL: host lower case without "www." or a port, page
    the path ("/" if empty) plus a kept hash route, query the raw query text ("" if none)."""
    scheme_end = url.find("://")
    if scheme_end < 0:
        return "", "/", ""
    rest = url[scheme_end + 3 :]
    rest, _, fragment = rest.partition("#")
    rest, _, query = rest.partition("?")
    slash = rest.find("/")
    authority, path = (rest, "/") if slash < 0 else (rest[:slash], rest[slash:])
    host = authority.rpartition("@")[2]
    host = host[: host.find("]") + 1] if host.startswith("[") else host.partition(":")[0]
    host = host.lower().rstrip(".").removeprefix("www.")
    if fragment.startswith(("/", "!/")):
        # A single-page app routing by hash: the route is the page, and may carry its own query.
        route, _, route_query = fragment.partition("?")
        path = f"{path}#{route}"
        query = f"{query}&{route_query}" if query and route_query else query or route_query
    return host, _readable_path(path), query


def campaign_params(query: str) -> dict[str, str]:
    """The parameters this step reads (UTM tags, click ids, ref/source), non-empty values only."""
    found: dict[str, str] = {}
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        key = key.lower()
        if key in _WANTED_KEYS and key not in found:
            if "%" in value or "+" in value:
                value = unquote_plus(value)
            value = value.strip()
            if value:
                found[key] = value
    return found


@lru_cache(maxsize=URL_CACHE_SIZE)
def url_parts(url: str) -> tuple[str, str, dict[str, str] | None]:
    """(host, page, campaign parameters or None) of a page URL. Cached: most hits land on a few
    pages, and the collector asks the same of a URL before the pipeline does."""
    host, page, query = split_url(url)
    return host, page, (campaign_params(query) or None) if query else None


def same_site(page_host: str, referrer_host: str) -> bool:
    if page_host == referrer_host:
        return True
    return page_host.endswith("." + referrer_host) or referrer_host.endswith("." + page_host)


@lru_cache(maxsize=CACHE_SIZE)
def referrer_host_of(referrer: str) -> str:
    return split_url(referrer)[0]


@lru_cache(maxsize=CACHE_SIZE)
def untagged_referral(page_host: str, referrer_host: str) -> tuple[str | None, str | None]:
    """(source, channel) of a page reached from `referrer_host` without campaign tags; (None,
    None) for a step inside the site. Cached: most traffic comes from few referrers."""
    if same_site(page_host, referrer_host):
        return None, None
    known = known_host(referrer_host)
    source = known.name if known else referrer_host
    category = known.category if known else None
    return source, classify(
        medium="",
        source=source.lower(),
        campaign="",
        category=category,
        click_id=None,
        referred=True,
        tagged=False,
    )


@lru_cache(maxsize=CACHE_SIZE)
def tagged_attribution(  # noqa: PLR0917 - positional arguments make the cheapest cache key
    page_host: str,
    referrer_host: str,
    utm_source: str | None,
    utm_medium: str | None,
    utm_campaign: str | None,
    hint: str | None,
    click_id: str | None,
) -> tuple[str | None, str]:
    """(source, channel) of a URL with campaign tags, a click id or a ref/source hint."""
    referred = bool(referrer_host) and not same_site(page_host, referrer_host)
    known: Known | None = None
    source: str | None = None
    if utm_source:
        known = known_source(utm_source)
        source = known.name if known else utm_source
    elif referred:
        known = known_host(referrer_host)
        source = known.name if known else referrer_host
    elif hint:
        # "?ref=producthunt" stands in for a referrer the browser or app did not send.
        known = known_source(hint)
        source = known.name if known else hint
        referred = True
    elif click_id is not None:
        source = CLICK_ID_SOURCES[click_id]
        known = known_source(source)
    return source, classify(
        medium=(utm_medium or "").lower(),
        source=(source or "").lower(),
        campaign=(utm_campaign or "").lower(),
        category=known.category if known else None,
        click_id=click_id,
        referred=referred,
        tagged=True,
    )


def enrich_source(hit: Hit, ctx: Context) -> Hit | Drop:
    url = hit.url
    if not url:
        return hit
    page_host, hit.page, params = url_parts(url)
    hit.hostname = page_host or None
    referrer = hit.referrer
    referrer_host = referrer_host_of(referrer) if referrer else ""
    hit.referrer_host = referrer_host or None
    if params:
        get = params.get
        hit.utm_source = utm_source = get("utm_source")
        hit.utm_medium = utm_medium = get("utm_medium")
        hit.utm_campaign = utm_campaign = get("utm_campaign")
        hit.utm_term = get("utm_term")
        hit.utm_content = get("utm_content")
        hit.click_id = click_id = next((k for k in _CLICK_ID_ORDER if k in params), None)
        hint = get("source") or get("ref")
        hit.source, hit.channel = tagged_attribution(
            page_host, referrer_host, utm_source, utm_medium, utm_campaign, hint, click_id
        )
    elif referrer_host:
        hit.source, hit.channel = untagged_referral(page_host, referrer_host)
    else:
        hit.channel = DIRECT
    return hit
