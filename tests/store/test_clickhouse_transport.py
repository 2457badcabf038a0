"""The ClickHouse store's pieces that need no engine: the URL, parameter binding, the answers'
types, and the HTTP transport's calls into `clickhouse-connect` (with a stand-in client)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from clycyo.store.clickhouse import binding, transport
from clycyo.store.open import StorageURLError, chdb_location, loader_name


def test_question_marks_become_typed_placeholders_outside_quotes() -> None:
    sql, params = binding.bind(
        "SELECT '?' AS q, x FROM t WHERE a = ? AND b IN (?, ?) AND c = ? AND d = ?",
        [1 << 63, "it's", None, dt.datetime(2026, 1, 2, 3, 4, 5, 6), [1, 2]],
    )
    assert sql == (
        "SELECT '?' AS q, x FROM t WHERE a = {p0:UInt64} AND b IN ({p1:String}, NULL)"
        " AND c = {p3:DateTime64(6, 'UTC')} AND d = {p4:Array(Int64)}"
    )
    assert params == {
        "p0": 1 << 63,
        "p1": "it's",
        "p3": dt.datetime(2026, 1, 2, 3, 4, 5, 6),
        "p4": [1, 2],
    }
    with pytest.raises(ValueError, match="parameters"):
        binding.bind("SELECT ?", [])


def test_answers_leave_as_duckdb_gives_them() -> None:
    table = pa.table(
        {
            "utc": pa.array([dt.datetime(2026, 1, 1, 12)], pa.timestamp("us", tz="UTC")),
            "local": pa.array([dt.datetime(2026, 1, 1, 12)], pa.timestamp("s", tz="Asia/Kolkata")),
            "day": pa.array([dt.date(2026, 1, 5)], pa.date32()),
            "props": pa.array([[("a", "b")]], pa.map_(pa.string(), pa.string())),
            "empty": pa.array([[]], pa.map_(pa.string(), pa.string())),
            "money": pa.array([Decimal("1.500000")], pa.decimal128(18, 6)),
        }
    )
    assert binding.rows(table) == [
        (
            dt.datetime(2026, 1, 1, 12),
            dt.datetime(2026, 1, 1, 17, 30),  # the wall time in the zone
            dt.datetime(2026, 1, 5),
            {"a": "b"},
            None,
            Decimal("1.500000"),
        )
    ]
    assert binding.rows(pa.table({})) == []


def test_storage_urls(tmp_path: Path) -> None:
    assert chdb_location(f"chdb://{tmp_path}/x?database=t_1") == (str(tmp_path / "x"), "t_1")
    assert chdb_location(f"chdb://{tmp_path}/x")[1] == "clycyo"
    with pytest.raises(StorageURLError):
        chdb_location("chdb://x?database=a;b")
    with pytest.raises(StorageURLError):
        chdb_location("chdb://")
    name = loader_name(tmp_path)
    assert name == loader_name(tmp_path) and len(name) > 8  # made once, then kept


class FakeClient:
    def __init__(self, **options: Any) -> None:
        self.options = options
        self.calls: list[tuple[str, Any, Any]] = []
        self.fail = False

    def query_arrow(self, sql: str, parameters: dict[str, Any]) -> pa.Table:
        if self.fail:
            raise ConnectionError("refused")
        self.calls.append(("query", sql, parameters))
        return pa.table({"x": [1]})

    def command(self, sql: str, parameters: dict[str, Any]) -> None:
        self.calls.append(("command", sql, parameters))

    def insert_arrow(self, table: str, data: pa.Table, settings: dict[str, Any]) -> None:
        self.calls.append(("insert", table, settings))

    def close(self) -> None:
        self.calls.append(("close", None, None))


def test_the_http_transport_drives_clickhouse_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    clickhouse_connect = pytest.importorskip("clickhouse_connect")
    made: list[FakeClient] = []

    def get_client(**options: Any) -> FakeClient:
        made.append(FakeClient(**options))
        return made[-1]

    monkeypatch.setattr(clickhouse_connect, "get_client", get_client)
    http = transport.HttpTransport(
        "clickhouses://ada:p%40ss@db.example:9440/analytics?max_threads=4&cluster=main"
    )
    options = made[0].options
    assert (options["host"], options["port"], options["database"]) == (
        "db.example",
        9440,
        "analytics",
    )
    assert (options["username"], options["password"], options["secure"]) == ("ada", "p@ss", True)
    assert options["settings"]["max_threads"] == 4 and options["settings"]["join_use_nulls"] == 1
    assert "cluster" not in options["settings"]
    moment = dt.datetime(2026, 1, 2, 3, 4, 5, 123456)
    assert http.query_arrow("SELECT {p0:DateTime64(6, 'UTC')}", {"p0": moment}).num_rows == 1
    # The driver would format a time without its microseconds: it gets the text.
    assert made[0].calls[0][2] == {"p0": "2026-01-02 03:04:05.123456"}
    http.insert_arrow("events", pa.table({"x": [1]}), {"insert_deduplication_token": "t"})
    assert made[0].calls[1] == ("insert", "events", {"insert_deduplication_token": "t"})
    made[0].fail = True
    with pytest.raises(transport.TransportError, match="refused"):
        http.query_arrow("SELECT 1", {})
    http.close()
    assert transport.HttpTransport("clickhouse://h/db")._client.options["port"] == 8123  # type: ignore[attr-defined]
