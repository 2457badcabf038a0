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
