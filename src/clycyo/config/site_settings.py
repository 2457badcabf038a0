"""A site's reporting settings, checked before the configuration store keeps them.

`currency` is the one the revenue metrics add up (ISO 4217, as money events carry it) and
`timezone` the IANA zone whose calendar days and hours the reports bucket by. A value that is
kept here will open later: the query layer trusts both. This module reads no SQLite.

Time zones come from the system's zone files (`/usr/share/zoneinfo`) or, where a system has
none, from the `tzdata` package; with neither, no zone is known and the error says what to
install.
"""

from __future__ import annotations

import functools
import re
import zoneinfo

from clycyo import currencies

DEFAULT_CURRENCY = "USD"
DEFAULT_TIMEZONE = "UTC"

_CURRENCY = re.compile(r"[A-Za-z]{3}")
# Entries of a zone folder that are no IANA zone names, though they open as zones.
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


class InvalidSetting(ValueError):
    """A setting's value that cannot be kept; `setting` names it, `reason` says why."""

    def __init__(self, setting: str, reason: str) -> None:
        super().__init__(f"{setting}: {reason}")
        self.setting = setting
        self.reason = reason


def check_currency(value: str) -> str:
    """The currency code, upper case: one of ISO 4217's, in any case (`eur` becomes `EUR`)."""
    code = value.strip()
    if not _CURRENCY.fullmatch(code):
        raise InvalidSetting(
            "currency",
            f"{value!r} is not a currency code: expected 3 letters (ISO 4217), such as EUR",
        )
    if not currencies.known(code):
        raise InvalidSetting(
            "currency", f"{value!r} is not an ISO 4217 currency code, such as EUR or USD"
        )
    return code.upper()


@functools.cache
def _zones() -> dict[str, str]:
    """Every known zone name by its lower-case spelling (to suggest the right capitals)."""
    return {name.lower(): name for name in zoneinfo.available_timezones() - _NOT_ZONES}


def known_timezones() -> list[str]:
    """Every IANA zone name this system knows, sorted (for a form's suggestions)."""
    return sorted(_zones().values())


def check_timezone(value: str) -> str:
    """The IANA time zone name (`Europe/Berlin`), if this system knows it."""
    name = value.strip()
    zones = _zones()
    known = zones.get(name.lower())
    if known == name:
        return name
    if not zones:
        raise InvalidSetting(
            "timezone",
            "no time zone database on this system: install the tzdata package"
            " (pip install tzdata) or the system's tzdata",
        )
    hint = f" (did you mean {known}?)" if known else ", such as Europe/Berlin or America/New_York"
    raise InvalidSetting("timezone", f"{value!r} is not an IANA time zone name{hint}")
