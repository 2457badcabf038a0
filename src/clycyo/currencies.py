"""The currency codes money events and sites may use: ISO 4217's list, as the `iso4217` package
ships it (public domain; the date of its list is `iso4217.__published__`).

Three letters are not enough: a typo such as `EUT` would make its own currency, reported beside
the site's as "other currencies" for ever. Codes are compared in capitals (`eur` is `EUR`).
ISO's two codes that name no money are left out: `XXX` ("no currency") and `XTS` (for testing).
"""

from __future__ import annotations

import iso4217

_NOT_MONEY = frozenset({"XXX", "XTS"})
CODES = frozenset(code for code in iso4217.raw_table if code and code not in _NOT_MONEY)


def known(code: str) -> bool:
    return code.upper() in CODES
