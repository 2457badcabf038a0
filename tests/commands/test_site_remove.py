"""`clycyo site remove`: a site's keys stop working at once and every stored row of it goes, in
every table of the event store (DuckDB and chDB), the intake logs, the quarantine, the Stripe
links and the configuration (funnels, tokens' grants, shared links, logins' access), while the
other site's figures stay as they were; through a running server and on a folder no server
holds; and never without the domain typed again or `--yes`."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from clycyo.config import site_removal
from clycyo.config.access import AccessStore
from clycyo.config.funnels import FunnelStore, check_step
from clycyo.config.store import ConfigStore
from clycyo.integrations.stripe_links import Person, StripeLinks
from clycyo.store.quarantine import Quarantine
from clycyo.store.segments import read_segment, record_of
from tests.engines import ENGINES, available
from tests.serverproc import ServerProcess, Site, clycyo, run_clycyo

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/131.0.0.0 Safari/537.36"
)
FIGURES = ["visitors", "visits", "pageviews", "events", "revenue", "orders"]


def _send(site: Site) -> None:
    """Browser events (pageviews, a web vital, an identify, a browser copy of an order), server
    events (the order, a signup) and one event the quarantine keeps."""
    now_ms = int(time.time() * 1000)
    page = f"https://{site.site}"
    browser = [
        {"type": "pageview", "visitor_id": "v1", "url": page + "/", "timestamp": now_ms - 600_000,
         "referrer": "https://www.google.com/"},
        {"type": "pageview", "visitor_id": "v1", "url": page + "/pricing",
         "timestamp": now_ms - 540_000},
        {"name": "web_vital", "visitor_id": "v1", "url": page + "/pricing",
         "timestamp": now_ms - 539_000,
         "props": {"metric": "LCP", "value": 1200, "rating": "good"}},
        {"type": "identify", "visitor_id": "v1", "user_id": "u1", "timestamp": now_ms - 480_000},
        {"name": "invoice.paid", "visitor_id": "v1", "order_id": "o1",
         "timestamp": now_ms - 420_000, "revenue": {"amount": "49.00", "currency": "USD"}},
        {"type": "pageview", "visitor_id": "v2", "url": page + "/", "timestamp": now_ms - 300_000},
    ]  # fmt: skip
    status, body = site.post(
        "/api/collect",
        {"key": site.public_key, "batch": browser},
        headers={"User-Agent": CHROME, "Origin": page},
    )
    assert status == 200 and body["accepted"] == len(browser), body
    server = [
        {"name": "invoice.paid", "user_id": "u1", "order_id": "o1", "timestamp": now_ms - 419_000,
         "revenue": {"amount": "49.00", "currency": "USD"}},
        {"name": "signup", "user_id": "u2", "timestamp": now_ms - 200_000},
        {"type": "event", "visitor_id": "v9"},  # no name: rejected, kept in the quarantine
    ]  # fmt: skip
    status, body = site.post("/api/collect", {"batch": server}, secret=True)
    assert status == 200 and body["accepted"] == 2 and len(body["rejected"]) == 1, body


def _figures(site: Site, secret_key: str | None = None) -> tuple[int, Any]:
    return site.server.post(
        "/api/v1/query",
        {"site": site.site, "metrics": FIGURES, "date_range": "7d"},
        bearer=secret_key or site.secret_key,
    )


def _site_id(data: Path, domain: str) -> int:
    site = ConfigStore(data / "config.sqlite").site_by_domain(domain)
    assert site is not None
    return site.id


def _extras(data: Path, kept: int, removed: int) -> dict[str, Any]:
    """What else refers to sites: funnels, tokens, a shared link, logins, Stripe links."""
    config = ConfigStore(data / "config.sqlite")
    steps = [check_step("pageview", "/", []), check_step("event", "signup", [])]
    for site_id in (kept, removed):
        FunnelStore(config).add(site_id, "signup", steps)
    access = AccessStore(config)
    both, _ = access.add_api_token([kept, removed], "both")
    only_removed, _ = access.add_api_token([removed], "removed only")
    link, _ = access.add_shared_link(removed)
    config.add_user("both@example.com", "x", [kept, removed])
    config.add_user("removed@example.com", "x", [removed])
    links = StripeLinks.in_folder(data)
    links.remember(kept, ["cus_kept"], Person(user_id="u1"))
    links.remember(removed, ["cus_removed"], Person(user_id="u1"))
    links.close()
    return {"both": both, "only_removed": only_removed, "link": link}


_COUNT_ROWS = """
import json, sys
from pathlib import Path
from clycyo.store.open import open_store
url, data, site_id = sys.argv[1] or None, Path(sys.argv[2]), int(sys.argv[3])
store = open_store(url, data)
if store.dialect == "duckdb":
    tables = store.execute(
        "SELECT DISTINCT table_name FROM duckdb_columns() WHERE column_name = 'site_id'"
    )
else:
    tables = store.execute(
        "SELECT DISTINCT table FROM system.columns WHERE database = currentDatabase()"
        " AND name = 'site_id'"
    )
print(json.dumps({
    table: store.execute(f"SELECT count(*) FROM {table} WHERE site_id = ?", [site_id])[0][0]
    for (table,) in tables
}))
store.close()
"""


def _store_rows(data: Path, url: str | None, site_id: int) -> dict[str, int]:
    """Rows of `site_id` in every table of the store that has a `site_id` column, found in the
    engine's own catalogue (in a process of its own: chDB keeps one folder per process; the
    server must be stopped)."""
    counted = subprocess.run(
        [sys.executable, "-c", _COUNT_ROWS, url or "", str(data), str(site_id)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    rows: dict[str, int] = json.loads(counted.stdout)
    return rows


def _intake_site_ids(folder: Path) -> list[int]:
    """The site id of every event and rejection in every intake log in `folder` (a data
    folder, or one log's folder)."""
    found = []
    for path in sorted(folder.rglob("*.log")):
        for _, payload, _ in read_segment(int(path.stem), path):
            record = record_of(payload)
            found += [e.site_id for e in record.events] + [r.site_id for r in record.rejections]
    return found


def _check_gone(
    data: Path, url: str | None, kept: int, removed: int, *, kept_in_intake: bool = True
) -> None:
    rows = _store_rows(data, url, removed)
    assert {"events", "orders", "visits", "identities", "actions", "pageviews", "vitals"} <= set(
        rows
    )
    assert rows == dict.fromkeys(rows, 0)
    # The same events fill the same tables for the site kept: what was asserted gone was there.
    left = _store_rows(data, url, kept)
    assert all(left[t] > 0 for t in ("events", "orders", "visits", "identities", "pageviews"))
    assert all(left[t] > 0 for t in ("vitals", "vital_hours", "actions"))
    intake = _intake_site_ids(data / "intake")
    assert removed not in intake and (kept in intake) == kept_in_intake
    quarantine = Quarantine(data / "quarantine.sqlite")
    assert quarantine.count(removed) == 0 and quarantine.count(kept) == 1


def _check_configuration(data: Path, kept: int, removed: int, extras: dict[str, Any]) -> None:
    config = ConfigStore(data / "config.sqlite")
    funnels = FunnelStore(config)
    assert funnels.list(removed) == [] and len(funnels.list(kept)) == 1
    access = AccessStore(config)
    both = access.api_token(extras["both"])
    assert both is not None and both.site_ids == (kept,) and both.revoked_at is None
    only_removed = access.api_token(extras["only_removed"])
    assert only_removed is None or only_removed.revoked_at is not None
    assert access.shared_link(extras["link"]) is None or access.shared_links(removed) == []
    assert config.user_by_email("removed@example.com") is None
    user = config.user_by_email("both@example.com")
    assert user is not None and config.user_site_ids(user[0]) == [kept]
    links = StripeLinks.in_folder(data)
    try:
        assert links.person(removed, ["cus_removed"]) == Person()
        assert links.person(kept, ["cus_kept"]) == Person(user_id="u1")
    finally:
        links.close()


def _refused(site: Site) -> None:
    page = f"https://{site.site}"
    event = {"type": "pageview", "url": page + "/"}
    status, _ = site.post(
        "/api/collect", {"key": site.public_key, **event}, headers={"User-Agent": CHROME}
    )
    assert status == 401
    assert site.post("/api/collect", {"name": "x"}, secret=True)[0] == 401
    assert _figures(site)[0] == 401


@pytest.mark.parametrize("engine", ENGINES)
def test_remove_through_the_server(engine: str, tmp_path: Path) -> None:
    if not available(engine):
        pytest.skip("chDB is not installed (pip install '.[clickhouse]')")
    # A folder of the server's own: chDB keeps one per process.
    url = f"chdb://{tmp_path / 'chdb'}" if engine == "chdb" else None
    data = tmp_path / "data"
    server = ServerProcess(data, extra_args=("--storage", url) if url else ())
    server.start()
    try:
        kept, removed = server.add_site("kept.example"), server.add_site("removed.example")
        kept_id, removed_id = _site_id(data, kept.site), _site_id(data, removed.site)
        extras = _extras(data, kept_id, removed_id)
        for site in (kept, removed):
            _send(site)
        status, before = _figures(kept)
        assert status == 200 and before["results"][0]["metrics"][0] == 2, before
        stored = len(removed.events(limit="1000"))
        endpoint = "/api/admin/sites/remove"
        for bearer in (None, removed.secret_key, removed.public_key):
            assert server.post(endpoint, {"site": removed.site}, bearer=bearer)[0] == 401
        admin = (data / "admin.token").read_text().strip()
        assert server.post(endpoint, {"site": "nowhere.example"}, bearer=admin)[0] == 404
        assert server.post(endpoint, {"site": 3}, bearer=admin)[0] == 400

        out = clycyo("site", "remove", removed.site, "--yes", "--json", data=data)
        report = json.loads(out)
        assert report["site"] == removed.site and report["id"] == removed_id
        assert report["events"] == stored and report["visits"] == 2
        assert report["quarantined"] == 1 and report["stripe_links"] == 1
        assert report["configuration"]["funnels"] == 1
        assert report["configuration"]["secret_keys"] == 1
        assert report["configuration"]["logins_removed"] == 1
        assert report["configuration"]["api_tokens_revoked"] == 1

        _refused(removed)
        assert _figures(kept) == (200, before)
        added = json.loads(clycyo("site", "add", removed.site, "--json", data=data))
        assert added["id"] != removed_id
        again = Site(server, removed.site, added["public_key"], added["secret_key"])
        status, empty = _figures(again)
        assert status == 200 and [r["metrics"] for r in empty["results"]] == [[0] * 6], empty
        assert again.events() == []
        _send(again)  # the new site collects and reports as any other
        assert _figures(again)[1]["results"] == before["results"]
    finally:
        server.stop()
    _check_gone(data, url, kept_id, removed_id)
    _check_configuration(data, kept_id, removed_id, extras)


def test_remove_on_a_folder_no_server_holds(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = ServerProcess(data).start()
    try:
        kept, removed = server.add_site("kept.example"), server.add_site("removed.example")
        kept_id, removed_id = _site_id(data, kept.site), _site_id(data, removed.site)
        extras = _extras(data, kept_id, removed_id)
        for site in (kept, removed):
            _send(site)
        status, before = _figures(kept)
        assert status == 200
    finally:
        server.stop()
    assert removed_id in _intake_site_ids(data / "intake")

    out = clycyo("site", "remove", "Removed.Example", "--yes", data=data)
    assert out.startswith("site removed.example removed:"), out
    assert "quarantine     1 entries" in out
    # The server stored every event before it stopped: the log's copies are not called unstored.
    assert "  intake logs    8 events, stored or not\n" in out, out
    assert json.loads(clycyo("site", "list", "--json", data=data))[0]["site"] == kept.site
    _check_gone(data, None, kept_id, removed_id)
    _check_configuration(data, kept_id, removed_id, extras)

    server = ServerProcess(data).start()
    try:
        _refused(Site(server, removed.site, removed.public_key, removed.secret_key))
        assert _figures(Site(server, kept.site, kept.public_key, kept.secret_key)) == (200, before)
    finally:
        server.stop()


def test_an_unknown_site_and_a_clickhouse_folder_are_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    clycyo("site", "add", "kept.example", data=data)
    result = run_clycyo("site", "remove", "nowhere.example", "--yes", data=data)
    assert result.returncode == 1 and result.stderr == "clycyo: no site nowhere.example\n"
    (data / "clickhouse-loader").write_text("elsewhere-1234\n")
    result = run_clycyo("site", "remove", "kept.example", "--yes", data=data)
    assert result.returncode == 1 and "loads its events into ClickHouse" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert json.loads(clycyo("site", "list", "--json", data=data))[0]["site"] == "kept.example"


def test_the_report_names_every_kind_of_configuration_row(tmp_path: Path) -> None:
    # A folder where no token, link or funnel was ever made has none of their tables; the
    # removed site's two segments are counted.
    data = tmp_path / "data"
    clycyo("site", "add", "kept.example", data=data)
    clycyo("site", "add", "removed.example", data=data)
    for name in ("Paid", "Organic"):
        clycyo(
            "segment", "add", name, "--site", "removed.example",
            "--filter", "is,visit:source,Google", data=data,
        )  # fmt: skip
    report = json.loads(clycyo("site", "remove", "removed.example", "--yes", "--json", data=data))
    assert report["configuration"] == {
        "annotations": 0,
        "api_token_sites": 0,
        "api_tokens_revoked": 0,
        "email_deliveries": 0,
        "email_recipients": 0,
        "email_spike_thresholds": 0,
        "funnels": 0,
        "logins_removed": 0,
        "page_goals": 0,
        "secret_keys": 1,
        "segments": 2,
        "shared_links": 0,
        "shields": 0,
        "user_sites": 0,
    }
    out = clycyo("site", "remove", "kept.example", "--yes", data=data)
    assert "configuration  annotations 0, api_token_sites 0, api_tokens_revoked 0," in out


def test_without_yes_and_without_a_terminal_nothing_is_removed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    clycyo("site", "add", "kept.example", data=data)
    result = run_clycyo("site", "remove", "kept.example", data=data, stdin="kept.example\n")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("clycyo: ") and "--yes" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert json.loads(clycyo("site", "list", "--json", data=data))[0]["site"] == "kept.example"


def _on_a_terminal(data: Path, domain: str, typed: str) -> tuple[int, str]:
    """Run `site remove DOMAIN` with a terminal as its standard input, typing `typed`."""
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "clycyo", "site", "remove", domain, "--data", str(data)],
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.write(leader, typed.encode() + b"\n")
        out, err = process.communicate(timeout=60)
    finally:
        os.close(leader)
        os.close(follower)
    return process.returncode, out + err


def test_on_a_terminal_the_domain_is_typed_again(tmp_path: Path) -> None:
    data = tmp_path / "data"
    clycyo("site", "add", "kept.example", data=data)
    status, shown = _on_a_terminal(data, "kept.example", "kept.exampl")
    assert status == 1 and "Type the domain to confirm" in shown and "nothing removed" in shown
    assert json.loads(clycyo("site", "list", "--json", data=data))[0]["site"] == "kept.example"
    status, shown = _on_a_terminal(data, "kept.example", "kept.example")
    assert status == 0 and "site kept.example removed" in shown, shown
    assert json.loads(clycyo("site", "list", "--json", data=data)) == []


def test_a_removal_that_did_not_finish_is_finished_by_the_same_command(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = ServerProcess(data).start()
    try:
        kept, removed = server.add_site("kept.example"), server.add_site("removed.example")
        kept_id, removed_id = _site_id(data, kept.site), _site_id(data, removed.site)
        for site in (kept, removed):
            _send(site)
    finally:
        server.stop()
    # The configuration went, and the data job never ran (a process stopped in between).
    site_removal.remove(ConfigStore(data / "config.sqlite"), removed.site)
    assert _store_rows(data, None, removed_id)["events"] > 0
    # Added again now, the domain would be a new site that `site remove` finds instead.
    added = run_clycyo("site", "add", removed.site, data=data)
    assert added.returncode == 1 and added.stderr == (
        f"clycyo: the removal of {removed.site} has not finished: run clycyo site remove"
        f" {removed.site} again, then add it\n"
    )

    report = json.loads(clycyo("site", "remove", removed.site, "--yes", "--json", data=data))
    assert report["resumed"] is True and report["events"] > 0 and report["id"] == removed_id
    assert report["configuration"] == dict.fromkeys(site_removal.KINDS, 0)
    _check_gone(data, None, kept_id, removed_id)
    result = run_clycyo("site", "remove", removed.site, "--yes", data=data)
    assert result.returncode == 1 and result.stderr == "clycyo: no site removed.example\n"
    assert json.loads(clycyo("site", "add", removed.site, "--json", data=data))["id"] > removed_id


def test_remove_with_collector_processes(tmp_path: Path) -> None:
    """Events collected by a collector process are in its own log: it goes too, and the
    collector refuses the keys by the time the command returns."""
    data = tmp_path / "data"
    server = ServerProcess(data, extra_args=("--workers", "1")).start()
    try:
        kept, removed = server.add_site("kept.example"), server.add_site("removed.example")
        kept_id, removed_id = _site_id(data, kept.site), _site_id(data, removed.site)
        for site in (kept, removed):
            _send(site)
        status, before = _figures(kept)
        assert status == 200
        assert removed_id in _intake_site_ids(data / "intake" / "w0")

        report = json.loads(clycyo("site", "remove", removed.site, "--yes", "--json", data=data))
        assert report["events"] > 0 and report["quarantined"] == 1
        _refused(removed)
        assert _figures(kept) == (200, before)
    finally:
        server.stop()
    # The collector's log was loaded and its old segments deleted: no record is left at all.
    _check_gone(data, None, kept_id, removed_id, kept_in_intake=False)


def test_events_sent_while_the_site_is_removed_are_not_kept(tmp_path: Path) -> None:
    """A backend that keeps sending while the site is removed: what it sent before its key was
    refused goes with the site, whatever moment of the removal it arrived at."""
    data = tmp_path / "data"
    server = ServerProcess(data).start()
    answers: list[int] = []
    done = threading.Event()

    def keep_sending(site: Site) -> None:
        deadline = time.monotonic() + 20
        number = 0
        while time.monotonic() < deadline and not (done.is_set() and answers[-5:] == [401] * 5):
            number += 1
            batch = [{"name": "tick", "event_id": f"t{number}-{i}"} for i in range(20)]
            answers.append(site.post("/api/collect", {"batch": batch}, secret=True)[0])

    try:
        kept, removed = server.add_site("kept.example"), server.add_site("removed.example")
        kept_id, removed_id = _site_id(data, kept.site), _site_id(data, removed.site)
        _send(kept)
        sender = threading.Thread(target=keep_sending, args=(removed,))
        sender.start()
        while answers.count(200) < 5:
            time.sleep(0.01)
        clycyo("site", "remove", removed.site, "--yes", data=data)
        done.set()
        sender.join(30)
        assert not sender.is_alive()
        assert set(answers) == {200, 401} and answers[-1] == 401
    finally:
        server.stop()
    rows = _store_rows(data, None, removed_id)
    assert rows == dict.fromkeys(rows, 0)
    assert removed_id not in _intake_site_ids(data / "intake")
    assert _store_rows(data, None, kept_id)["events"] > 0


def test_a_domain_and_a_key_id_typed_otherwise_are_named_as_stored(tmp_path: Path) -> None:
    """`site remove` and `key revoke` find what was typed in another case or form, and name it
    as the configuration holds it, not as typed."""
    data = tmp_path / "data"
    clycyo("site", "add", "example.com", data=data)
    clycyo("key", "add", "--site", "Example.COM", data=data)
    (first, _) = json.loads(clycyo("key", "list", "--json", data=data))
    revoked = clycyo("key", "revoke", f" {first['id'].upper()} ", data=data)
    assert revoked == f"secret key {first['id']} of example.com revoked\n"
    again = run_clycyo("key", "revoke", first["id"].upper(), data=data)
    assert (again.returncode, again.stderr) == (
        1,
        f"clycyo: secret key {first['id']} is already revoked\n",
    )
    removed = clycyo("site", "remove", " https://WWW.Example.COM/ ", "--yes", data=data)
    assert removed.startswith("site example.com removed: "), removed
    gone = run_clycyo("site", "remove", "Example.COM", "--yes", data=data)
    assert (gone.returncode, gone.stderr) == (1, "clycyo: no site example.com\n")
