"""Structured logs: JSON lines, no client address, no long payloads."""

from __future__ import annotations

import json
import logging
import sys
import time

from clycyo.logs import MAX_MESSAGE_CHARS, JsonFormatter, scrub
from tests.serverproc import ServerProcess


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


def test_the_server_says_where_it_listens_and_that_it_stopped_with_nothing_left(
    own_server: ServerProcess,
) -> None:
    own_server.start()
    site = own_server.add_site()
    status, _ = site.post("/api/collect", {"name": "x"}, secret=True)
    assert status == 200
    deadline = time.monotonic() + 10
    lines: list[dict[str, str]] = []
    while not any("listening on" in line["message"] for line in lines):
        assert time.monotonic() < deadline, "no start line"
        time.sleep(0.05)
        lines = [json.loads(text) for text in own_server.log_path.read_text().splitlines()]
    own_server.stop()
    messages = [
        json.loads(text)["message"] for text in own_server.log_path.read_text().splitlines()
    ]
    started = f"listening on {own_server.url} (data folder {own_server.data_dir}, duckdb store)"
    assert [m for m in messages if m.startswith("listening on")] == [started]
    assert messages[-1] == "stopped: every acknowledged event is in the store"
