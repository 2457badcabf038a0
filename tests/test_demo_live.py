"""The demo's live traffic: the demo world going on in real time after its history.

The live visits are the history's kind of visits (same generator), the same for the same seed
and start; `serve --demo` sends them as they happen once the history is in, the Realtime page
shows them minute by minute, and a stop ends them without an error.
"""

from __future__ import annotations

import collections
import email.utils
import http.client
import json
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from clycyo.demo.live import LiveTraffic, Schedule, live_schedule, parse_rate, worth_retrying
from clycyo.demo.send import MAX_WAIT_S, retry_after_s
from clycyo.demo.setup import DEMO_DOMAIN, prepare_demo
from tests.serverproc import ServerProcess, Site, run_clycyo

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


# A busy or unreachable server: the live traffic waits, then sends the same events again.

LIVE_RATE = 120.0  # visits a minute: an event comes due every second or so


def _wait_for(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.25)


def _start_live(site: Site, start_ms: int) -> LiveTraffic:
    schedule = live_schedule(site.site, visitors_per_minute=LIVE_RATE, seed=3, start_ms=start_ms)
    live = LiveTraffic(site.url, site.secret_key, schedule)
    live.start()
    return live


def _all_stored_once(site: Site, start_ms: int, until_ms: int) -> Callable[[], bool]:
    """Whether every event the live schedule made due by `until_ms` is stored, each once."""
    schedule = live_schedule(site.site, visitors_per_minute=LIVE_RATE, seed=3, start_ms=start_ms)
    due = {e["event_id"] for e in schedule.due(until_ms)}
    assert len(due) > 5

    def check() -> bool:
        stored = [e["event_id"] for e in site.events(limit="100000")]
        assert len(stored) == len(set(stored)), "an event stored twice"
        return due <= set(stored)

    return check


def test_what_is_waited_out_and_for_how_long() -> None:
    assert all(worth_retrying(status) for status in (408, 429, 500, 502, 503, 504))
    assert not any(worth_retrying(status) for status in (400, 401, 403, 404, 413, 422))
    assert retry_after_s(None) is None and retry_after_s("soon") is None
    assert retry_after_s(" 7 ") == 7 and retry_after_s("86400") == MAX_WAIT_S
    in_a_minute = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 55 <= (retry_after_s(in_a_minute) or 0) <= 60
    assert retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # a moment past


def test_live_traffic_waits_out_a_server_that_is_down_and_goes_on(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data").start()
    site = server.add_site()
    start_ms = int(time.time() * 1000)
    live = _start_live(site, start_ms)
    try:
        _wait_for(lambda: live.sent > 0, 30, "nothing sent")
        server.stop()  # connections refused while it is down
        time.sleep(4)
        assert live.put_off >= 2
        server.start()
        restarted_ms = int(time.time() * 1000)
        # What came due while it was down, and after, arrives, each event once.
        _wait_for(_all_stored_once(site, start_ms, restarted_ms + 3000), 60, "events missing")
        assert live.running
    finally:
        live.stop()
        live.join(10)
        server.stop()
    log = server.log_path.read_text()
    assert "Traceback" not in log, log[-3000:]


def _flood(site: Site, until_s: float) -> int:
    """Requests with the site's secret key as fast as the server answers, until `until_s`
    (monotonic), taking every token of the key's rate limit; returns how many were refused."""
    host, port = site.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    body = json.dumps({"name": "flood", "event_id": "flood"})
    headers = {"Authorization": f"Bearer {site.secret_key}", "Content-Type": "application/json"}
    refused = 0
    while time.monotonic() < until_s:
        connection.request("POST", "/api/collect", body, headers)
        response = connection.getresponse()
        response.read()
        refused += response.status == 429
        time.sleep(0.005)
    connection.close()
    return refused


def test_live_traffic_waits_out_429s_and_goes_on(tmp_path: Path) -> None:
    """A key's rate limit taken by another sender answers the live traffic's sends `429` with
    `Retry-After` for longer than any fixed number of attempts; once it is free again, the
    same events go through, and those that came due meanwhile."""
    server = ServerProcess(tmp_path / "data", env={"CLYCYO_RATE_LIMIT_KEY": "1"}).start()
    site = server.add_site()
    start_ms = int(time.time() * 1000)
    live = _start_live(site, start_ms)
    try:
        _wait_for(lambda: live.sent > 0, 30, "nothing sent")
        sent_before = live.sent
        refused: list[int] = []
        flood = threading.Thread(
            target=lambda: refused.append(_flood(site, time.monotonic() + 15)), daemon=True
        )
        flood.start()
        flood.join(30)
        assert refused and refused[0] > 100
        assert live.put_off >= 9  # more 429s than a fixed number of attempts outlasts
        flood_ended_ms = int(time.time() * 1000)
        _wait_for(_all_stored_once(site, start_ms, flood_ended_ms + 3000), 60, "events missing")
        assert live.sent > sent_before and live.running
    finally:
        live.stop()
        live.join(10)
        server.stop()


def test_live_traffic_stops_on_a_refusal_for_good(tmp_path: Path, caplog: Any) -> None:
    server = ServerProcess(tmp_path / "data").start()
    try:
        site = server.add_site()
        wrong = Site(server, site.site, site.public_key, "sk_revoked")
        live = _start_live(wrong, int(time.time() * 1000))
        live.join(30)
        assert not live.running and live.sent == 0 and live.put_off == 0
    finally:
        server.stop()
    stopped = [r.getMessage() for r in caplog.records if "demo live traffic" in r.getMessage()]
    assert len(stopped) == 1 and "stopped" in stopped[0] and "answered 401" in stopped[0]
