"""A chDB transport that fails on demand, for the tests of loads that meet a failing ClickHouse."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from clycyo.store.clickhouse.transport import ChdbTransport, TransportError


class FlakyTransport:
    """chDB that can be down, fail after some inserts, lose a commit's answer, or restart."""

    def __init__(self, folder: str, database: str) -> None:
        self.folder, self.database = folder, database
        self.inner = ChdbTransport(folder, database)
        self.down = False
        self.inserts_left: int | None = None  # inserts that still succeed; then each one fails
        self.lose_commit_answer = False  # store the next commit, then report a failure
        self.down_after_inserts = False  # once the inserts run out, everything fails
        # The next statement that starts with this runs, then its answer is lost.
        self.lose_answer_of: str | None = None
        self.failures = 0

    def _check(self) -> None:
        if self.down:
            self.failures += 1
            raise TransportError("connection refused")

    def restart(self) -> None:
        """The chDB session closed and opened again (what a restarted server looks like)."""
        self.inner.close()
        self.inner = ChdbTransport(self.folder, self.database)

    def query_arrow(self, sql: str, params: Mapping[str, Any]) -> pa.Table:
        self._check()
        return self.inner.query_arrow(sql, params)

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._check()
        self.inner.command(sql, params)
        if self.lose_answer_of is not None and sql.startswith(self.lose_answer_of):
            self.lose_answer_of = None
            self.failures += 1
            raise TransportError("connection reset after the statement was sent")
        if self.lose_commit_answer and sql.startswith("INSERT INTO meta"):
            self.lose_commit_answer = False
            self.failures += 1
            raise TransportError("connection reset after the statement was sent")

    def insert_arrow(self, table: str, data: pa.Table, settings: Mapping[str, str | int]) -> None:
        self._check()
        if self.inserts_left is not None:
            if self.inserts_left <= 0:
                self.failures += 1
                self.down = self.down_after_inserts
                raise TransportError("timeout")
            self.inserts_left -= 1
        self.inner.insert_arrow(table, data, settings)

    def close(self) -> None:
        self.inner.close()
