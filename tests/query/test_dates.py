"""Date ranges: days and times outside what both engines hold are refused, never overflow."""

from __future__ import annotations

import datetime as dt

import pytest

from clycyo.query import dates
from clycyo.query.errors import QueryError

NOW = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)
ZONES = ("Pacific/Kiritimati", "Pacific/Niue", "UTC")  # UTC+14, UTC-11


def test_only_days_from_1920_to_2299_are_taken_and_their_previous_periods_hold() -> None:
    refused = [
        ["2026-01-01", "9999-12-31"],
        ["0001-01-01", "0001-01-02"],
        ["1919-12-31", "1920-01-05"],
        ["2026-01-01T00:00:00", "9999-12-31T23:59:59+14:00"],
        ["0001-01-01T00:00:00-12:00", "2026-01-01T00:00:00"],
    ]
    for zone in ZONES:
        for date_range in refused:
            with pytest.raises(QueryError, match="between 1920-01-01 and 2299-12-30"):
                dates.period(date_range, zone, NOW)
        last = dates.period(["2299-12-30", "2299-12-30"], zone, NOW)
        first = dates.period(["1920-01-01", "1929-12-31"], zone, NOW)
        assert last.previous().end == last.start
        assert first.previous().start.year >= 1900


def test_the_year_before_holds_the_same_local_days_and_29_february_is_the_28th() -> None:
    leap = dates.period(["2028-02-29", "2028-02-29"], "UTC", NOW).year_before()
    assert leap.as_json() == ["2027-02-28T00:00:00Z", "2027-03-01T00:00:00Z"]
    # A range through 29 February is a day shorter the year before; one from 1 March is not.
    february = dates.period(["2028-02-01", "2028-02-29"], "UTC", NOW).year_before()
    assert february.as_json() == ["2027-02-01T00:00:00Z", "2027-03-01T00:00:00Z"]
    march = dates.period(["2029-02-28", "2029-03-01"], "UTC", NOW).year_before()
    assert march.as_json() == ["2028-02-28T00:00:00Z", "2028-03-02T00:00:00Z"]
    assert dates.year_earlier(dt.date(2028, 2, 29)) == dt.date(2027, 2, 28)
    assert dates.year_earlier(dt.datetime(2026, 11, 26, 6, 30)) == dt.datetime(2025, 11, 26, 6, 30)


def test_the_year_before_keeps_local_midnights_across_clock_changes() -> None:
    # Berlin's summer time began on 29 March 2026 and on 30 March 2025: each day starts at its
    # own local midnight, whichever offset it had.
    day = dates.period(["2026-03-29", "2026-03-30"], "Europe/Berlin", NOW)
    assert day.as_json() == ["2026-03-28T23:00:00Z", "2026-03-30T22:00:00Z"]
    assert day.year_before().as_json() == ["2025-03-28T23:00:00Z", "2025-03-30T22:00:00Z"]
    # Times keep their local clock time: 10:00 in summer then is 10:00 in winter the year before.
    times = dates.period(["2026-03-29T10:00:00", "2026-03-29T12:00:00"], "Europe/Berlin", NOW)
    assert times.year_before().as_json() == ["2025-03-29T09:00:00Z", "2025-03-29T11:00:00Z"]
    today = dates.period("today", "Pacific/Kiritimati", NOW)  # UTC+14: 20:00 on the 26th there
    assert today.year_before().as_json() == ["2025-11-25T10:00:00Z", "2025-11-26T10:00:00Z"]
