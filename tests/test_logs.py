"""Structured logs: JSON lines, no client address, no long payloads."""

from __future__ import annotations

import json
import logging
import sys

from clycyo.logs import MAX_MESSAGE_CHARS, JsonFormatter, scrub


def test_addresses_are_scrubbed_but_not_the_servers_own() -> None:
    text = "from 203.0.113.9 and 2001:db8::1 via ::ffff:198.51.100.7, on 127.0.0.1 and ::1"
    scrubbed = scrub(text)
    assert "203.0.113.9" not in scrubbed and "2001:db8::1" not in scrubbed
    assert "198.51.100.7" not in scrubbed
    assert "127.0.0.1" in scrubbed and "::1" in scrubbed
    assert scrub("at 12:30:45, version 1.2.3") == "at 12:30:45, version 1.2.3"


def test_a_record_is_one_json_line_without_addresses() -> None:
    try:
        raise ValueError("bad input from 203.0.113.9")
    except ValueError:
        error = sys.exc_info()
    record = logging.LogRecord(
        "clycyo.test",
        logging.ERROR,
        __file__,
        1,
        "client %s sent %s",
        ("2001:db8::7", "x" * 5000),
        error,
    )
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "error" and entry["logger"] == "clycyo.test"
    assert len(entry["message"]) <= MAX_MESSAGE_CHARS
    assert "2001:db8::7" not in line and "203.0.113.9" not in line
    assert "ValueError" in entry["error"]
