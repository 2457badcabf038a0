"""The demo's live traffic: the demo world going on in real time after its history.

The live visits are the history's kind of visits (same generator), the same for the same seed
and start; `serve --demo` sends them as they happen once the history is in, the Realtime page
shows them minute by minute, and a stop ends them without an error.
"""

from __future__ import annotations

import collections
import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from clycyo.demo.live import Schedule, live_schedule, parse_rate
from clycyo.demo.setup import DEMO_DOMAIN, prepare_demo
from tests.serverproc import ServerProcess, run_clycyo

START_MS = 1_795_000_000_000
HOUR_MS = 3_600_000
Event = dict[str, Any]


def _schedule(start_ms: int = START_MS, seed: int = 7, rate: float = 1.0) -> Schedule:
    return live_schedule("demo.test", visitors_per_minute=rate, seed=seed, start_ms=start_ms)


def test_a_seed_and_a_start_make_the_same_live_traffic() -> None:
    assert _schedule().due(START_MS + HOUR_MS) == _schedule().due(START_MS + HOUR_MS)
    # A restart (another start) brings other visitors and events, never the same ids again.
    ids = {e["event_id"] for e in _schedule().due(START_MS + HOUR_MS)}
    later = _schedule(START_MS + 60_000).due(START_MS + HOUR_MS)
    assert later and not ids & {e["event_id"] for e in later}


def test_events_come_due_in_time_order_and_not_before_their_time() -> None:
    schedule = _schedule()
    assert schedule.due(START_MS) == []
    now_ms, stamps = START_MS, []
    while now_ms < START_MS + HOUR_MS:
        assert schedule.next_ms() > now_ms
        now_ms = schedule.next_ms() + 500
        due = schedule.due(now_ms)
        assert due and all(now_ms - 60_000 < e["timestamp"] <= now_ms for e in due)
        stamps += [e["timestamp"] for e in due]
    assert stamps == sorted(stamps)


def test_live_visits_have_the_demo_worlds_mix() -> None:
    events = _schedule().due(START_MS + 12 * HOUR_MS)
    visitors = {e["visitor_id"] for e in events if e.get("type") == "pageview"}
    assert 500 < len(visitors) < 900  # about one a minute
    names = collections.Counter(e.get("name") or e["type"] for e in events)
    for name in ("pageview", "engagement", "web_vital", "identify", "signup", "payment"):
        assert names[name] > 0, (name, names)
    urls = " ".join(str(e.get("url")) for e in events)
    assert "utm_source=" in urls and "gclid=" in urls
    assert len({e["context"]["ip"].split(".")[0] for e in events if "context" in e}) >= 8
    assert len({e["context"]["user_agent"] for e in events if "context" in e}) >= 6
    # The server reports a new customer's signup and first payment for the identified user.
    identified = {e["user_id"] for e in events if e["type"] == "identify"}
    paid = {e["user_id"] for e in events if e.get("name") == "payment"}
    assert paid and paid <= identified
    assert all("origin" not in e for e in events if e.get("name") in ("signup", "payment"))
    # Customers' ids are new ones, not the history's `user_1`, `user_2`...
    assert all(int(str(u).removeprefix("user_")) > START_MS // 1000 for u in identified)


def test_the_rate_is_a_number_on_or_off() -> None:
    assert parse_rate("off") == parse_rate("0") == 0
    assert parse_rate("on") == 0.5
    assert parse_rate(" 3 ") == 3
    for wrong in ("fast", "-1", "1000"):
        with pytest.raises(ValueError, match="--demo-live"):
            parse_rate(wrong)


def test_serve_refuses_a_rate_that_is_not_one_before_it_opens_anything(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = run_clycyo("serve", "--demo", "--demo-live", "fast", data=data)
    assert result.returncode == 2, result.stderr
    assert "clycyo: --demo-live (CLYCYO_DEMO_LIVE) 'fast'" in result.stderr
    assert "Traceback" not in result.stderr and not data.exists()


def _demo_folder(folder: Path) -> dict[str, Any]:
    """A demo data folder whose history is small (two days), so the server sends it quickly."""
    prepare_demo(folder, "127.0.0.1", 0)
    state = json.loads((folder / "demo.json").read_text())
    state.update(days=2, visitors_per_day=20)
    (folder / "demo.json").write_text(json.dumps(state))
    return dict(state)


def _events(server: ServerProcess, secret: str, limit: int = 200) -> list[Event]:
    status, body = server.get(f"/api/v1/events?site={DEMO_DOMAIN}&limit={limit}", bearer=secret)
    assert status == 200, body
    return list(body["events"])


def test_serve_demo_sends_live_traffic_after_the_history_and_stops_cleanly(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    state = _demo_folder(data)
    secret = state["secret_key"]
    server = ServerProcess(data, extra_args=("--demo", "--demo-live", "40"))
    server.start()
    try:
        deadline = time.monotonic() + 60
        live: list[Event] = []
        while time.monotonic() < deadline and len({e["visitor_id"] for e in live}) < 3:
            time.sleep(1)
            now_ms = time.time() * 1000
            # Live events carry the time they were sent at; the history's end before the start.
            live = [
                e
                for e in _events(server, secret)
                if now_ms - 20_000 < _epoch_ms(e["time"]) <= now_ms + 1000
            ]
        assert len({e["visitor_id"] for e in live}) >= 3, server.log_path.read_text()[-2000:]
        filled = json.loads((data / "demo.json").read_text())
        assert filled["filled"] and filled["days"] == 2 and filled["events"] > 500
        status, now = server.get(f"/sites/{DEMO_DOMAIN}/realtime.json", bearer=secret)
        assert status == 200, now
        assert now["visitors"] >= 1
        assert len(now["minutes"]) == 30 and now["minutes"][-1]["visitors"] >= 1
        assert sum(m["pageviews"] for m in now["minutes"]) >= 1
        status, page = server.request(
            "GET", f"/sites/{DEMO_DOMAIN}/realtime", headers={"Authorization": f"Bearer {secret}"}
        )
        assert status == 200
        assert 'data-rt-chart="rt-minutes"' in page.decode() and "Conversions in the last 30" in (
            page.decode()
        )
    finally:
        server.stop()
    assert server.proc is not None and server.proc.returncode == -signal.SIGTERM
    log = server.log_path.read_text()
    assert "Traceback" not in log and '"level": "ERROR"' not in log, log[-3000:]
    assert "Live        about 40 visitors a minute" in log
    assert "every acknowledged event is in the store" in log


def test_serve_demo_live_off_sends_nothing_live(tmp_path: Path) -> None:
    data = tmp_path / "data"
    state = _demo_folder(data)
    server = ServerProcess(data, extra_args=("--demo",), env={"CLYCYO_DEMO_LIVE": "off"})
    server.start()
    try:
        deadline = time.monotonic() + 60
        while "Live        off" not in server.log_path.read_text():
            assert time.monotonic() < deadline, server.log_path.read_text()[-2000:]
            time.sleep(0.5)
        started_ms = time.time() * 1000
        time.sleep(4)
        latest = _events(server, state["secret_key"], limit=1)
        assert latest and _epoch_ms(latest[0]["time"]) < started_ms
    finally:
        server.stop()


def _epoch_ms(stamp: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000
