"""Well-known referrers: which service a host or a `utm_source` value stands for, and its kind.

The list is Clycyo's own (`data/referrers.json`): hosts of search engines, social networks, video
sites, shops, webmail and a few other services people arrive from, each with a display name
("Google", "Hacker News") and a category that the channel rules use. Answers are cached per host
and per `utm_source` value, so a repeat costs one dictionary look-up.

This module only answers questions about names; it does not decide channels (`channels.py`) or
parse URLs (`source.py`).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import NamedTuple

REFERRERS_FILE = "referrers.json"
CATEGORIES = ("search", "social", "video", "shopping", "email", "other")
CACHE_SIZE = 8_192
_MAX_TLD_LABEL_CHARS = 3  # "de", "com", "co.uk", "com.br": what may follow a "name.*" entry


class Known(NamedTuple):
    name: str
    category: str | None  # search, social, video, shopping, email; None for any other service


class ReferrerList(NamedTuple):
    exact: dict[str, Known]  # host (covers its subdomains) -> service
    any_tld: dict[str, Known]  # "google" for "google.*"
    aliases: dict[str, Known]  # lower-case utm_source spelling -> service


def load_referrers(text: str | None = None) -> ReferrerList:
    if text is None:
        text = resources.files("clycyo.pipeline").joinpath("data", REFERRERS_FILE).read_text()
    data = json.loads(text)
    exact: dict[str, Known] = {}
    any_tld: dict[str, Known] = {}
    aliases: dict[str, Known] = {}
    # A spelling two entries share keeps the first: search, then social, video, shopping, email.
    for category in CATEGORIES:
        for entry in data.get(category, ()):
            known = Known(entry["name"], None if category == "other" else category)
            name = known.name.lower()
            spellings = [name, name.replace(" ", ""), *entry["aliases"]]
            for host in entry["hosts"]:
                if host.endswith(".*"):
                    any_tld.setdefault(host[:-2], known)
                    spellings.append(host[:-2])
                else:
                    exact.setdefault(host, known)
                    spellings.append(host)
            for spelling in spellings:
                aliases.setdefault(spelling, known)
    return ReferrerList(exact, any_tld, aliases)


_REFERRERS = load_referrers()


def _any_tld_match(host: str) -> Known | None:
    name, _, suffix = host.partition(".")
    known = _REFERRERS.any_tld.get(name)
    if known is None or not suffix:
        return None
    labels = suffix.split(".")
    if len(labels) > 2 or any(len(label) > _MAX_TLD_LABEL_CHARS for label in labels):
        return None
    return known


@lru_cache(maxsize=CACHE_SIZE)
def known_host(host: str) -> Known | None:
    """The service behind a lower-case host without "www.", or None for an unknown site.

    The most specific entry wins: "mail.google.com" is Gmail, although "google.*" is Google.
    """
    exact = _REFERRERS.exact
    candidate = host
    while True:
        known = exact.get(candidate)
        if known is not None:
            return known
        dot = candidate.find(".")
        if dot < 0:
            break
        candidate = candidate[dot + 1 :]
    return _any_tld_match(host)


@lru_cache(maxsize=CACHE_SIZE)
def known_source(value: str) -> Known | None:
    """The service a `utm_source` (or `ref`) value names, in any capitalisation, or None."""
    spelling = value.strip().lower()
    known = _REFERRERS.aliases.get(spelling)
    if known is None and "." in spelling:
        known = known_host(spelling.removeprefix("www."))
    return known
