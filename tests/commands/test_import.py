"""`clycyo import`: events collected on one instance, exported, and imported into another report
the same figures there, with and without a server on the folder, from Parquet and from CSV;
importing again changes nothing; invalid rows are named, counted and left out."""

from __future__ import annotations

import argparse
import gc
import io
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from clycyo import local_server
from clycyo.commands import import_events
from clycyo.store import import_rows
from clycyo.store.export import EXPORT_COLUMNS
from tests.engines import available
from tests.serverproc import ServerProcess, Site, as_a_plain_user, clycyo, run_clycyo

DOMAIN = "moved.example"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/131.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like"
    " Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
HOUR_MS = 3600 * 1000


def _events(now_ms: int) -> list[dict[str, Any]]:
    """Some days of a small shop: visits from search, a newsletter, social and direct, on two
    devices, a login that links a visitor to a user, a payment sent by the server and by the
    browser, another with a refund, and a cookieless visitor."""
    day = 24 * HOUR_MS
    start = now_ms - 3 * day
    page = "https://moved.example"

    def browser(visitor: str | None, at_ms: int, agent: str, **fields: Any) -> dict[str, Any]:
        event = {"origin": "browser", "timestamp": at_ms, **fields}
        event["context"] = {"user_agent": agent, "ip": "81.2.69.160", "locale": "en-GB"}
        if visitor is not None:
            event["visitor_id"] = visitor
        return event

    def view(visitor: str | None, at_ms: int, path: str, agent: str = CHROME, **more: Any) -> Any:
        return browser(visitor, at_ms, agent, type="pageview", url=page + path, **more)

    return [
        view("v1", start, "/", referrer="https://www.google.com/", title="Home"),
        view("v1", start + 60_000, "/pricing"),
        browser("v1", start + 90_000, CHROME, name="signup", props={"plan": "pro", "seats": 3}),
        browser("v1", start + 100_000, CHROME, type="identify", user_id="u1", traits={"n": 1}),
        {
            "name": "invoice.paid",
            "user_id": "u1",
            "order_id": "o1",
            "timestamp": start + 120_000,
            "revenue": {"amount": "49.00", "currency": "USD"},
            "props": {"invoice": "in_1"},
        },
        browser(
            "v1",
            start + 121_000,
            CHROME,
            name="invoice.paid",
            order_id="o1",
            revenue={"amount": 49, "currency": "USD"},
        ),
        view("v2", start + 2 * HOUR_MS, "/?utm_source=news&utm_medium=email&utm_campaign=nov"),
        view("v2", start + 2 * HOUR_MS + 30_000, "/docs"),
        {
            "name": "purchase",
            "visitor_id": "v2",
            "user_id": "u2",
            "order_id": "o2",
            "timestamp": start + 2 * HOUR_MS + 60_000,
            "revenue": {"amount": "100", "currency": "USD"},
        },
        {
            "name": "refund",
            "user_id": "u2",
            "order_id": "r2",
            "timestamp": start + day,
            "revenue": {"amount": "-20.5", "currency": "USD"},
        },
        view("v3", start + day + HOUR_MS, "/blog/post", IPHONE),
        view("v3", start + 2 * day, "/", IPHONE, referrer="https://www.facebook.com/"),
        view("v1", start + 2 * day + HOUR_MS, "/account", IPHONE, referrer="https://t.co/x"),
        browser("v1", start + 2 * day + HOUR_MS + 5_000, IPHONE, type="identify", user_id="u1"),
        view(None, start + 2 * day + 2 * HOUR_MS, "/about", referrer="https://duckduckgo.com/"),
        view(None, start + 2 * day + 2 * HOUR_MS + 40_000, "/pricing"),
    ]


QUERIES: list[dict[str, Any]] = [
    {
        "metrics": [
            "visitors",
            "visits",
            "pageviews",
            "events",
            "bounce_rate",
            "visit_duration",
            "revenue",
            "orders",
            "refunds",
        ]
    },
    {"metrics": ["visitors", "visits", "revenue", "orders"], "dimensions": ["visit:channel"]},
    {"metrics": ["revenue", "visitors"], "dimensions": ["first_touch:channel"]},
    {"metrics": ["pageviews", "visits"], "dimensions": ["event:page", "visit:source"]},
    {"metrics": ["visitors"], "dimensions": ["visit:country", "visit:device", "visit:browser"]},
    {"metrics": ["visitors", "pageviews"], "dimensions": ["time:day", "visit:utm_campaign"]},
    {"metrics": ["events"], "dimensions": ["event:name", "event:props:plan"]},
]
PEOPLE = ("u1", "u2", "v3")
STORED = 15  # the events sent but one: the browser's copy of an order the server sent


def figures(site: Site, events: int) -> dict[str, Any]:
    """What the query API and the people API report of the site, once it stores `events`."""
    deadline = time.monotonic() + 60
    while len(site.events(limit="1000")) < events and time.monotonic() < deadline:
        time.sleep(0.1)  # a busy machine's writer may take a while over the first load
    today = time.strftime("%Y-%m-%d", time.gmtime())
    found: dict[str, Any] = {}
    for query in QUERIES:
        spec = {"site": site.site, "date_range": ["2026-01-01", today], "limit": 1000, **query}
        status, body = site.post("/api/v1/query", spec, secret=True)
        assert status == 200, body
        found[json.dumps(query)] = body["results"]
    for person in PEOPLE:
        status, body = site.server.get(
            f"/api/v1/persons/{person}/timeline?site={site.site}", bearer=site.secret_key
        )
        assert status == 200, body
        found[person] = body
    return found


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, Path]]:
    """Folder A: the events sent through the collect API of a running server, and its two
    exports (written while it runs)."""
    folder = tmp_path_factory.mktemp("a")
    server = ServerProcess(folder / "data").start()
    try:
        site = server.add_site(DOMAIN)
        status, body = site.post(
            "/api/collect", {"batch": _events(int(time.time() * 1000))}, secret=True
        )
        assert status == 200 and body["rejected"] == [], body
        for kind in ("parquet", "csv"):
            out = folder / f"events.{kind}"
            clycyo(
                "export",
                "--site",
                DOMAIN,
                "--format",
                kind,
                "--out",
                str(out),
                data=server.data_dir,
            )
        yield site, folder
    finally:
        server.stop()


def import_json(folder: Path, path: Path, *extra: str) -> dict[str, Any]:
    result = run_clycyo(
        "import", "--site", DOMAIN, "--in", str(path), "--json", *extra, data=folder
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_import_through_a_running_server_reports_the_same_figures(
    collected: tuple[Site, Path], tmp_path: Path
) -> None:
    source, exports = collected
    expected = figures(source, STORED)
    assert expected[json.dumps(QUERIES[0])][0]["metrics"][6] == 128.5  # 49 + 100 - 20.5
    moved = ServerProcess(tmp_path / "b").start()
    try:
        site = moved.add_site(DOMAIN)
        first = import_json(moved.data_dir, exports / "events.parquet")
        stored = STORED
        assert first == {
            "site": DOMAIN,
            "rows": stored,
            "imported": stored,
            "present": 0,
            "invalid": 0,
            "complete": True,
        }
        assert figures(site, STORED) == expected
        elsewhere = run_clycyo(
            "import",
            "--site",
            "elsewhere.example",
            "--in",
            str(exports / "events.parquet"),
            data=moved.data_dir,
        )
        assert (elsewhere.returncode, elsewhere.stderr) == (
            1,
            "clycyo: no site elsewhere.example\n",
        )
        again = import_json(moved.data_dir, exports / "events.parquet")
        assert (again["imported"], again["present"]) == (0, stored)
        assert figures(site, STORED) == expected
        assert len(site.events(limit="1000")) == stored
    finally:
        moved.stop()


def test_import_into_a_folder_no_server_holds(collected: tuple[Site, Path], tmp_path: Path) -> None:
    source, exports = collected
    expected = figures(source, STORED)
    folder = tmp_path / "b"
    keys = json.loads(clycyo("site", "add", DOMAIN, "--json", data=folder))
    first = import_json(folder, exports / "events.csv")
    assert first["rows"] == first["imported"] > 0
    again = import_json(folder, exports / "events.csv")
    assert (again["imported"], again["present"]) == (0, first["rows"])
    moved = ServerProcess(folder).start()
    try:
        site = Site(moved, DOMAIN, keys["public_key"], keys["secret_key"])
        assert figures(site, STORED) == expected
    finally:
        moved.stop()


def test_an_older_file_imported_after_the_newer_events_reports_the_same_figures(
    collected: tuple[Site, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A site's older history imported after its newer events (stored already, as live ones
    would be), in parts of 3 rows, each older than everything the writer holds: every older
    event is placed among the stored visits, and the figures are the collected site's. v2's
    visit begins in the older file and goes on in the stored events: it stays one visit, with
    the older file's landing page and campaign."""
    source, exports = collected
    table = pq.read_table(exports / "events.parquet")
    landing = table.filter(pc.match_substring(table["url"], "utm_campaign=nov"))
    split = pa.scalar(landing["time"][0].as_py() + timedelta(seconds=15), table["time"].type)
    older, newer = tmp_path / "older.parquet", tmp_path / "newer.parquet"
    pq.write_table(table.filter(pc.less(table["time"], split)), older)
    pq.write_table(table.filter(pc.greater_equal(table["time"], split)), newer)
    folder = tmp_path / "b"
    keys = json.loads(clycyo("site", "add", DOMAIN, "--json", data=folder))
    for path, part_rows in ((newer, import_rows.PART_ROWS), (older, 3)):
        monkeypatch.setattr(import_rows, "PART_ROWS", part_rows)
        args = argparse.Namespace(site=DOMAIN, in_file=str(path), format=None, json=True)
        assert import_events.run(args, folder, progress=False) == 0
    moved = ServerProcess(folder).start()
    try:
        site = Site(moved, DOMAIN, keys["public_key"], keys["secret_key"])
        # A visit's id is taken from its start when it is first stored: v2's, first stored
        # from the newer file, is another than when collected in order (its start's minute).
        assert _without_visit_ids(figures(site, STORED)) == _without_visit_ids(
            figures(source, STORED)
        )
        spec = {
            "site": DOMAIN,
            "date_range": ["2026-01-01", time.strftime("%Y-%m-%d", time.gmtime())],
            "metrics": ["visits", "pageviews"],
            "dimensions": ["visit:utm_campaign", "visit:entry_page"],
            "filters": [["is", "visit:utm_campaign", ["nov"]]],
        }
        status, body = site.post("/api/v1/query", spec, secret=True)
        assert status == 200, body
        assert body["results"] == [{"dimensions": ["nov", "/"], "metrics": [1, 2]}]
    finally:
        moved.stop()


def _without_visit_ids(found: dict[str, Any]) -> dict[str, Any]:
    return {
        key: {**value, "events": [_no_visit(event) for event in value["events"]]}
        if key in PEOPLE
        else value
        for key, value in found.items()
    }


def _no_visit(event: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in event.items() if name != "visit_id"}


def test_invalid_rows_are_named_counted_and_left_out(
    collected: tuple[Site, Path], tmp_path: Path
) -> None:
    _, exports = collected
    table = pa_csv.read_csv(
        exports / "events.csv",
        convert_options=pa_csv.ConvertOptions(
            column_types=dict.fromkeys(EXPORT_COLUMNS, pa.string()),
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    rows = table.to_pylist()
    rows[1]["time"] = "yesterday"
    rows[2]["name"] = "n" * 201
    rows[3]["type"] = "click"
    rows[4]["event_id"] = "broken-money"
    rows[4]["revenue_amount"], rows[4]["revenue_currency"] = "12", "EURO"
    broken = tmp_path / "broken.csv"
    pa_csv.write_csv(pa.Table.from_pylist(rows, table.schema), broken)
    folder = tmp_path / "b"
    clycyo("site", "add", DOMAIN, data=folder)
    result = run_clycyo("import", "--site", DOMAIN, "--in", str(broken), data=folder)
    assert result.returncode == 1
    errors = result.stderr.splitlines()
    assert errors == [
        "clycyo: broken.csv: row 2: time: not a time ('yesterday')",
        "clycyo: broken.csv: row 3: name: longer than 200 characters",
        "clycyo: broken.csv: row 4: type: expected pageview, event or identify",
        "clycyo: broken.csv: row 5: revenue.currency: not an ISO 4217 currency code",
    ]
    valid = len(rows) - 4
    assert result.stdout.strip() == (
        f"broken.csv into {DOMAIN}: {len(rows)} rows read, {valid} imported,"
        " 0 already present, 4 invalid"
    )


def test_refusals_are_one_line(collected: tuple[Site, Path], tmp_path: Path) -> None:
    _, exports = collected
    folder = tmp_path / "b"
    clycyo("site", "add", "elsewhere.example", data=folder)
    parquet = str(exports / "events.parquet")
    unknown = run_clycyo("import", "--site", DOMAIN, "--in", parquet, data=folder)
    assert (unknown.returncode, unknown.stderr) == (1, f"clycyo: no site {DOMAIN}\n")
    no_kind = tmp_path / "events.data"
    no_kind.write_bytes((exports / "events.parquet").read_bytes())
    guessed = run_clycyo("import", "--site", DOMAIN, "--in", str(no_kind), data=folder)
    assert guessed.returncode == 1 and "--format" in guessed.stderr
    (folder / "clickhouse-loader").write_text("host-1234\n")
    refused = run_clycyo("import", "--site", "elsewhere.example", "--in", parquet, data=folder)
    assert refused.returncode == 1
    assert "loads its events into ClickHouse" in refused.stderr
    assert len(refused.stderr.splitlines()) == 1


def test_progress_counts_whole_rows(
    collected: tuple[Site, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, exports = collected
    folder = tmp_path / "b"
    clycyo("site", "add", DOMAIN, data=folder)
    for kind, shown in (("parquet", f"{STORED}/{STORED} rows"), ("csv", f"{STORED} rows")):
        args = argparse.Namespace(
            site=DOMAIN, in_file=str(exports / f"events.{kind}"), format=None, json=True
        )
        assert import_events.run(args, folder, progress=True) == 0  # as on a terminal
        err = capsys.readouterr().err
        assert shown in err, err
        assert ("100%" in err) == (kind == "parquet")  # a CSV's rows are known once read


def test_import_into_clickhouse_through_its_server(
    collected: tuple[Site, Path], tmp_path: Path
) -> None:
    if not available("chdb"):
        pytest.skip("chDB is not installed (pip install '.[clickhouse]')")
    source, exports = collected
    expected = figures(source, STORED)
    storage = ("--storage", f"chdb://{tmp_path / 'chdb'}")
    moved = ServerProcess(tmp_path / "b", extra_args=storage).start()
    try:
        site = moved.add_site(DOMAIN)
        first = import_json(moved.data_dir, exports / "events.csv")
        assert (first["imported"], first["present"]) == (STORED, 0)
        assert figures(site, STORED) == expected
        again = import_json(moved.data_dir, exports / "events.parquet")
        assert (again["imported"], again["present"]) == (0, STORED)
        assert figures(site, STORED) == expected
    finally:
        moved.stop()


def test_the_endpoint_refuses_what_is_not_a_part_of_an_export(
    collected: tuple[Site, Path],
) -> None:
    source, _ = collected
    found = local_server.find(source.data_dir)
    assert found is not None
    admin = {"Authorization": f"Bearer {found.admin_token}"}
    stream = io.BytesIO()
    table = pa.table({"event_id": ["e1"], "colour": ["red"]})
    with pa.ipc.new_stream(stream, table.schema) as writer:
        writer.write_table(table)
    for query, body, error in (
        ("first_row=%C2%B2", b"", "first_row: expected a whole number, 1 or more"),
        ("first_row=0", b"", "first_row: expected a whole number, 1 or more"),
        ("first_row=1", b"not arrow", "body: not an Arrow IPC stream of exported rows"),
        ("first_row=1", stream.getvalue(), "column 'colour': not a column of clycyo export's"),
    ):
        path = f"/api/admin/import?site={DOMAIN}&{query}"
        status, answer = source.server.request("POST", path, body, admin)
        assert status == 400, (query, answer)
        assert answer["error"].startswith(error), answer
    status, _ = source.server.request("POST", f"/api/admin/import?site={DOMAIN}", b"", {})
    assert status == 401


def test_a_file_of_several_parts_with_repeated_event_ids(
    collected: tuple[Site, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Parts of 4 rows: an event id repeated in the same part, in a later part and in the part
    after that is counted already present each time, whatever the writer has stored by then."""
    source, exports = collected
    table = pq.read_table(exports / "events.parquet")
    repeated = table.take([0, 0, 1, 2, 3, 4, 1, 5, 6, 7, 8, 9, 0, 10, 11, 12, 13, 14, 5])
    path = tmp_path / "repeated.parquet"
    pq.write_table(repeated, path)
    monkeypatch.setattr(import_rows, "PART_ROWS", 4)
    folder = tmp_path / "b"
    keys = json.loads(clycyo("site", "add", DOMAIN, "--json", data=folder))
    args = argparse.Namespace(site=DOMAIN, in_file=str(path), format=None, json=True)
    collector = (gc.get_threshold(), gc.get_freeze_count())
    assert import_events.run(args, folder, progress=True) == 0
    assert (gc.get_threshold(), gc.get_freeze_count()) == collector  # a server's, then put back
    captured = capsys.readouterr()
    assert "19/19 rows" in captured.err
    assert json.loads(captured.out) == {
        "site": DOMAIN,
        "rows": 19,
        "imported": STORED,
        "present": 4,
        "invalid": 0,
        "complete": True,
    }
    moved = ServerProcess(folder).start()
    try:
        site = Site(moved, DOMAIN, keys["public_key"], keys["secret_key"])
        assert figures(site, STORED) == figures(source, STORED)
    finally:
        moved.stop()


def _large_export(exports: Path, path: Path, rows: int = 150_000) -> Path:
    """`rows` rows of the export, each with an event id of its own: several parts of several
    megabytes, which the client is still sending when a server refuses one."""
    table = pq.read_table(exports / "events.parquet")
    big = table.take([i % table.num_rows for i in range(rows)])
    ids = pa.array([f"e{i}" for i in range(rows)])
    big = big.set_column(big.schema.get_field_index("event_id"), "event_id", ids)
    pq.write_table(big, path)
    return path


def test_an_unknown_site_through_a_server_is_said_whatever_the_file(
    collected: tuple[Site, Path], tmp_path: Path
) -> None:
    _, exports = collected
    big = _large_export(exports, tmp_path / "big.parquet")
    server = ServerProcess(tmp_path / "b").start()
    try:
        server.add_site(DOMAIN)
        result = run_clycyo("import", "--site", "nope.test", "--in", str(big), data=server.data_dir)
        assert (result.returncode, result.stderr) == (1, "clycyo: no site nope.test\n")
    finally:
        server.stop()


def test_a_site_removed_during_an_import_is_said(
    collected: tuple[Site, Path], tmp_path: Path
) -> None:
    """The server refuses the next part from its headers, while the client still sends it:
    the client reads that answer, not the broken pipe."""
    _, exports = collected
    big = _large_export(exports, tmp_path / "big.parquet", rows=300_000)
    server = ServerProcess(tmp_path / "b").start()
    try:
        site = server.add_site(DOMAIN)
        command = [sys.executable, "-m", "clycyo", "import", "--site", DOMAIN, "--in", str(big)]
        importing = subprocess.Popen(
            [*command, "--data", str(server.data_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not site.events(limit="1") and time.monotonic() < deadline:
            time.sleep(0.05)  # the first part is in
        removed = run_clycyo("site", "remove", DOMAIN, "--yes", data=server.data_dir)
        assert removed.returncode == 0, removed.stderr
        out, err = importing.communicate(timeout=120)
        assert importing.returncode == 1
        assert err == f"clycyo: no site {DOMAIN}\n", err
        assert "(stopped before the end)" in out
    finally:
        server.stop()


def test_files_that_cannot_be_imported_are_named_in_one_line(
    collected: tuple[Site, Path], tmp_path: Path
) -> None:
    _, exports = collected
    folder = tmp_path / "b"
    clycyo("site", "add", DOMAIN, data=folder)
    (tmp_path / "a-folder.csv").mkdir()
    unreadable = tmp_path / "unreadable.parquet"
    unreadable.write_bytes((exports / "events.parquet").read_bytes())
    unreadable.chmod(0)
    (tmp_path / "text.parquet").write_text("event_id,time\n1,2\n")
    (tmp_path / "events.json").write_text("{}")
    pq.write_table(
        pq.read_table(exports / "events.parquet").drop(["origin"]), tmp_path / "o.parquet"
    )
    (tmp_path / "few.csv").write_text("event_id,time\n1,2\n")
    cases = {
        "missing.csv": f"{tmp_path / 'missing.csv'}: no such file",
        "a-folder.csv": f"{tmp_path / 'a-folder.csv'}: a folder, not a file",
        "unreadable.parquet": f"{unreadable}: cannot read it (permission denied)",
        "text.parquet": "text.parquet: not a Parquet file (",
        "o.parquet": "o.parquet: column 'origin': missing (needed: ",
        "few.csv": "few.csv: column 'origin': missing (needed: ",
        "events.json": (
            "events.json: cannot tell the format from the extension;"
            " give --format parquet or --format csv"
        ),
    }
    for name, said in cases.items():
        result = run_clycyo(
            "import",
            "--site",
            DOMAIN,
            "--in",
            str(tmp_path / name),
            data=folder,
            prefix=as_a_plain_user(),
        )
        assert result.returncode == 1, (name, result)
        assert result.stderr.startswith(f"clycyo: {said}"), (name, result.stderr)
        assert len(result.stderr.splitlines()) == 1, (name, result.stderr)


def test_a_part_of_long_rows_goes_through_collector_processes(
    collected: tuple[Site, Path], tmp_path: Path
) -> None:
    """A part of 25,000 rows of long URLs is some 30 MB of Arrow, more than a collector process
    (`--workers`) hands on to the core in one request: it is sent in pieces."""
    _, exports = collected
    big = _large_export(exports, tmp_path / "long.parquet", rows=import_rows.PART_ROWS)
    table = pq.read_table(big)
    urls = pa.array([f"https://moved.example/{'x' * 1200}/{i}" for i in range(table.num_rows)])
    table = table.set_column(table.schema.get_field_index("url"), "url", urls)
    pq.write_table(table, big)
    server = ServerProcess(tmp_path / "b", extra_args=("--workers", "1")).start()
    try:
        server.add_site(DOMAIN)
        done = import_json(server.data_dir, big)
        assert (done["rows"], done["imported"], done["invalid"]) == (table.num_rows,) * 2 + (0,)
    finally:
        server.stop()
