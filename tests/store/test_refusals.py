"""Which load errors are an event's values (quarantined) and which are the store's (retried)."""

from __future__ import annotations

import errno

import duckdb
import pyarrow as pa
import pytest

from clycyo.store.clickhouse.transport import TransportError
from clycyo.store.refusals import internal_error, is_refusal, reason


def duckdb_error(sql: str) -> Exception:
    with pytest.raises(duckdb.Error) as caught:
        duckdb.connect().execute(sql)
    return caught.value


@pytest.mark.parametrize(
    "error",
    [
        duckdb_error("SELECT '1000000000000'::DECIMAL(18, 6)"),
        duckdb_error("SELECT 300::TINYINT"),
        duckdb_error("CREATE TABLE t (a INTEGER NOT NULL); INSERT INTO t VALUES (NULL)"),
        pa.ArrowInvalid("Decimal value does not fit in precision 18"),
        OverflowError("cannot convert float infinity to integer"),
        UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"),
        TransportError("Code: 407. DB::Exception: Decimal math overflow. (DECIMAL_OVERFLOW)"),
        TransportError("Code: 6. DB::Exception: Cannot parse string 'x' as UInt64"),
    ],
)
def test_errors_about_a_value_are_refusals(error: Exception) -> None:
    assert is_refusal(error)


@pytest.mark.parametrize(
    "error",
    [
        duckdb.IOException("IO Error: Could not write file: No space left on device"),
        duckdb.OutOfMemoryException("Out of Memory Error: failed to allocate"),
        duckdb_error("SELECT * FROM no_such_table"),
        OSError(errno.ENOSPC, "No space left on device"),
        TransportError("connection refused"),
        TransportError("Code: 210. DB::NetException: Connection refused (NETWORK_ERROR)"),
        TransportError("Code: 243. DB::Exception: Cannot reserve 1.00 MiB (NOT_ENOUGH_SPACE)"),
        RuntimeError("store unreachable"),
        ValueError("no derived table visits"),
    ],
)
def test_the_stores_own_failures_are_not(error: Exception) -> None:
    assert not is_refusal(error)


@pytest.mark.parametrize(
    "error", [KeyError("v1"), TypeError("unhashable type: 'dict'"), RecursionError(), IndexError()]
)
def test_a_bug_in_the_writers_own_work_is_an_internal_error(error: Exception) -> None:
    internal = internal_error(error)
    assert internal is not None and internal.cause is error
    assert reason(internal).startswith(f"internal error: {type(error).__name__}: ")


@pytest.mark.parametrize(
    "error",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        duckdb.IOException("IO Error: Could not read file"),
        duckdb_error("SELECT * FROM no_such_table"),
        TransportError("connection refused"),
        MemoryError(),
        pa.ArrowInvalid("Decimal value does not fit in precision 18"),  # a refusal
    ],
)
def test_io_the_engine_memory_and_refusals_are_not(error: Exception) -> None:
    assert internal_error(error) is None
