"""Channel rules: which of a closed set of channels a landing belongs to, modelled on GA4's
default channel grouping so the numbers read the way marketers expect.

The rules look at the campaign tags (`utm_medium`, `utm_source`, `utm_campaign`), the category of
the source (search, social, video, shopping, email; from `referrers.py`), an ad platform's click
id and whether an external site referred the visitor. They are checked in order; the first that
holds decides. `docs/pipeline.md` has the table. This module holds rules only: no URL parsing.
"""

from __future__ import annotations

import re

DIRECT = "Direct"
ORGANIC_SEARCH = "Organic Search"
PAID_SEARCH = "Paid Search"
ORGANIC_SOCIAL = "Organic Social"
PAID_SOCIAL = "Paid Social"
ORGANIC_VIDEO = "Organic Video"
PAID_VIDEO = "Paid Video"
ORGANIC_SHOPPING = "Organic Shopping"
PAID_SHOPPING = "Paid Shopping"
DISPLAY = "Display"
PAID_OTHER = "Paid Other"
EMAIL = "Email"
AFFILIATES = "Affiliates"
REFERRAL = "Referral"
AUDIO = "Audio"
SMS = "SMS"
MOBILE_PUSH = "Mobile Push Notifications"
UNASSIGNED = "Unassigned"  # campaign tags that match no rule, and no referrer

CHANNELS = (
    DIRECT,
    ORGANIC_SEARCH,
    PAID_SEARCH,
    ORGANIC_SOCIAL,
    PAID_SOCIAL,
    ORGANIC_VIDEO,
    PAID_VIDEO,
    ORGANIC_SHOPPING,
    PAID_SHOPPING,
    DISPLAY,
    PAID_OTHER,
    EMAIL,
    AFFILIATES,
    REFERRAL,
    AUDIO,
    SMS,
    MOBILE_PUSH,
    UNASSIGNED,
)

# The query parameter an ad platform appends to its clicks, and the channel of such a click.
# fbclid is missing on purpose: Facebook adds it to organic links too, so it only names the source.
PAID_CLICK_IDS: dict[str, str] = {
    "gclid": PAID_SEARCH,  # Google Ads
    "gbraid": PAID_SEARCH,  # Google Ads, iOS app-to-web
    "wbraid": PAID_SEARCH,  # Google Ads, iOS web-to-app
    "msclkid": PAID_SEARCH,  # Microsoft Advertising
    "yclid": PAID_SEARCH,  # Yandex Direct
    "dclid": DISPLAY,  # Google Display & Video 360, Campaign Manager
    "ttclid": PAID_SOCIAL,  # TikTok
    "twclid": PAID_SOCIAL,  # X
    "li_fat_id": PAID_SOCIAL,  # LinkedIn
    "sccid": PAID_SOCIAL,  # Snapchat (sent as ScCid)
    "rdt_cid": PAID_SOCIAL,  # Reddit
    "epik": PAID_SOCIAL,  # Pinterest
}
# The service a click id implies when nothing else names the source.
CLICK_ID_SOURCES: dict[str, str] = {
    "gclid": "Google",
    "gbraid": "Google",
    "wbraid": "Google",
    "dclid": "Google",
    "msclkid": "Bing",
    "yclid": "Yandex",
    "fbclid": "Facebook",
    "ttclid": "TikTok",
    "twclid": "X",
    "li_fat_id": "LinkedIn",
    "sccid": "Snapchat",
    "rdt_cid": "Reddit",
    "epik": "Pinterest",
}
CLICK_IDS = frozenset(CLICK_ID_SOURCES)

_DISPLAY_MEDIUMS = frozenset({"display", "banner", "expandable", "interstitial", "cpm"})
_SOCIAL_MEDIUMS = frozenset(
    {"social", "social-network", "social-media", "sm", "social network", "social media"}
)
_REFERRAL_MEDIUMS = frozenset({"referral", "app", "link"})
_AFFILIATE_MEDIUMS = frozenset({"affiliate", "affiliates"})
_EMAIL = re.compile(r"e[-_ ]?mail|newsletter")
_SHOP_CAMPAIGN = re.compile(r"(?:^|[^a-df-z])shop|shopping")


def _is_paid(medium: str) -> bool:
    return "cp" in medium or medium in ("ppc", "retargeting") or medium.startswith("paid")


def classify(
    *,
    medium: str,
    source: str,
    campaign: str,
    category: str | None,
    click_id: str | None,
    referred: bool,
    tagged: bool,
) -> str:
    """The channel of a landing. Text arguments are lower case, "" when absent; `referred` says
    an external site sent the visitor; `tagged` that the URL had campaign tags or a click id."""
    paid = bool(medium) and _is_paid(medium)
    shopping = category == "shopping" or bool(campaign and _SHOP_CAMPAIGN.search(campaign))
    if paid:
        if shopping:
            return PAID_SHOPPING
        if category == "search":
            return PAID_SEARCH
        if category == "social":
            return PAID_SOCIAL
        if category == "video":
            return PAID_VIDEO
    if medium in _DISPLAY_MEDIUMS:
        return DISPLAY
    if paid:
        return PAID_OTHER
    click_channel = PAID_CLICK_IDS.get(click_id) if click_id else None
    # An auto-tagged ad click without manual tags: the click id is the strongest evidence.
    if click_channel is not None and not medium:
        return click_channel
    if shopping:
        return ORGANIC_SHOPPING
    if category == "social" or medium in _SOCIAL_MEDIUMS:
        return ORGANIC_SOCIAL
    if category == "video" or "video" in medium:
        return ORGANIC_VIDEO
    if category == "search" or medium == "organic":
        return ORGANIC_SEARCH
    if medium in _REFERRAL_MEDIUMS:
        return REFERRAL
    if category == "email" or _EMAIL.search(medium) or _EMAIL.search(source):
        return EMAIL
    if medium in _AFFILIATE_MEDIUMS:
        return AFFILIATES
    if medium == "audio":
        return AUDIO
    if medium == "sms" or source == "sms":
        return SMS
    if medium.endswith("push") or "mobile" in medium or "notification" in medium:
        return MOBILE_PUSH
    if source == "firebase":
        return MOBILE_PUSH
    if click_channel is not None:
        return click_channel
    if referred:
        return REFERRAL
    return UNASSIGNED if tagged else DIRECT
