"""The `enrich_device` step: browser, operating system and kind of device from the user agent.

Parsing uses ua-parser's rules (`ua-parser-builtins`) through its Rust resolver (`ua-parser-rs`),
and the outcome is cached per user agent string. Names are folded into the families people know
(Plausible-like): "Chrome Mobile" and "Chrome Mobile iOS" are "Chrome", because the `device`
dimension already says whether it was a phone. Versions are kept coarse on purpose (the browser's
major version, the system's major or major.minor version): fine-grained versions help reports
little and help single out a person.

This step only adds fields. It does not judge bots (that is `filter_bots`), and it hands on
nothing of the raw user agent beyond the derived values.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ua_parser import Domain, load_lazy_builtins
from ua_parser.regex import Resolver as RustResolver  # the fast resolver; ua-parser-rs is required

from clycyo.model import Drop, Hit
from clycyo.pipeline.context import Context

DESKTOP, MOBILE, TABLET, TV, CONSOLE = "desktop", "mobile", "tablet", "tv", "console"
CACHE_SIZE = 16_384

BROWSER_NAMES: dict[str, str] = {
    "Chrome Mobile": "Chrome",
    "Chrome Mobile iOS": "Chrome",
    "Chrome Mobile WebView": "Android WebView",
    "Mobile Safari": "Safari",
    "Mobile Safari UI/WKWebView": "iOS WebView",
    "Firefox Mobile": "Firefox",
    "Firefox iOS": "Firefox",
    "Edge Mobile": "Edge",
    "Opera Mobile": "Opera",
    "Opera Touch": "Opera",
    "Opera GX": "Opera",
    "IE": "Internet Explorer",
    "IE Mobile": "Internet Explorer",
    "IE Large Screen": "Internet Explorer",
    "Android": "Android Browser",  # the pre-Chrome stock browser, not the system
    "QQ Browser Mobile": "QQ Browser",
    "MiuiBrowser": "MIUI Browser",
    "DuckDuckGo Mobile": "DuckDuckGo",
    "Ecosia Android": "Ecosia",
    "Ecosia iOS": "Ecosia",
    "YandexSearch": "Yandex Browser",
}
_LINUX_DISTRIBUTIONS = (
    "Ubuntu",
    "Kubuntu",
    "Debian",
    "Fedora",
    "Red Hat",
    "CentOS",
    "SUSE",
    "Arch Linux",
    "Gentoo",
    "Slackware",
    "Mageia",
    "Mandriva",
    "Linux Mint",
)
OS_NAMES: dict[str, str] = {
    "Mac OS X": "macOS",
    "Mac OS": "macOS",
    "Chrome OS": "ChromeOS",
    "Web0S": "webOS",
    "Symbian OS": "Symbian",
    "Symbian^3": "Symbian",
    "Symbian^3 Anna": "Symbian",
    **{name: "Linux" for name in _LINUX_DISTRIBUTIONS},
}
_DESKTOP_SYSTEMS = frozenset(
    {"Windows", "macOS", "Linux", "ChromeOS", "FreeBSD", "OpenBSD", "NetBSD", "Solaris"}
)
_MOBILE_SYSTEMS = frozenset(
    {
        "iOS",
        "Windows Phone",
        "KaiOS",
        "BlackBerry OS",
        "Symbian",
        "Bada",
        "BREW",
        "Brew MP",
        "Firefox OS",
        "Maemo",
        "MeeGo",
        "Nokia Series 40",
        "HarmonyOS",
    }
)
# Markers of a television or set-top box (smart TV platforms, HbbTV, Fire TV, Chromecast), and of
# game consoles: their browsers are used from a sofa, not a desk, so they are not "desktop".
_TV = re.compile(
    r"smart-?tv|smart tv|google ?tv|android tv|hbbtv|netcast|web0s|crkey|apple ?tv|bravia|viera"
    r"|\broku|ce-html|opera tv|inettv|vidaa|chromecast|; aft[a-z0-9]{2,7}(?: build|[;)])"
    r"|\btv build|\(tv;|tizen[^;)]*\btv\b"
)
_CONSOLE = re.compile(r"playstation|xbox|nintendo")
_MOBILE_TOKENS = re.compile(r"mobile|iphone|ipod|phone|midp|\bwap\b|opera mini")
# "Tablet PC" is a token of ordinary Windows (and Surface) desktop agents.
_TABLET_TOKENS = re.compile(r"ipad|tablet(?! pc)|kindle|silk/|playbook")


def _resolver_without_devices() -> RustResolver:
    """The resolver for browsers and systems only. The kind of device is read from tokens
    (`device_kind`), so ua-parser's device rules, its largest set, are never compiled: about
    14 MB less memory and a third of the start-up time."""
    user_agents, systems, _devices = load_lazy_builtins()
    return RustResolver((user_agents, systems, []))


_resolver = _resolver_without_devices()


def device_kind(user_agent_lower: str, os_name: str | None) -> str | None:
    """desktop, mobile, tablet, tv, console, or None when the agent does not say."""
    if _TV.search(user_agent_lower):
        return TV
    if _CONSOLE.search(user_agent_lower):
        return CONSOLE
    if _TABLET_TOKENS.search(user_agent_lower):
        return TABLET
    if _MOBILE_TOKENS.search(user_agent_lower) or os_name in _MOBILE_SYSTEMS:
        return MOBILE
    if os_name == "Android":
        # Android browsers put "Mobile" in phone agents and leave it out on tablets.
        return TABLET
    if os_name in _DESKTOP_SYSTEMS:
        # Includes iPads since iPadOS 13, which present themselves as a Mac.
        return DESKTOP
    return None


def _version(major: str | None, minor: str | None) -> str | None:
    if not major:
        return None
    if minor and minor != "0":
        return f"{major}.{minor}"
    return major


@lru_cache(maxsize=CACHE_SIZE)
def describe(user_agent: str) -> tuple[str | None, str | None, str | None, str | None, str | None]:
    """(browser, browser_version, os, os_version, device) for one user agent string."""
    parsed = _resolver(user_agent, Domain.USER_AGENT | Domain.OS)
    browser = browser_version = os_name = os_version = None
    agent = parsed.user_agent
    if agent is not None and agent.family != "Other":
        browser = BROWSER_NAMES.get(agent.family, agent.family)
        browser_version = agent.major or None
    system = parsed.os
    if system is not None and system.family != "Other":
        os_name = OS_NAMES.get(system.family, system.family)
        os_version = _version(system.major, system.minor)
    return browser, browser_version, os_name, os_version, device_kind(user_agent.lower(), os_name)


def enrich_device(hit: Hit, ctx: Context) -> Hit | Drop:
    user_agent = hit.user_agent
    if not user_agent:
        return hit
    hit.browser, hit.browser_version, hit.os, hit.os_version, hit.device = describe(user_agent)
    return hit
