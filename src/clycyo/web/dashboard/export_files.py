"""The export's file: tables written as CSV files into one zip, kept in bounded memory.

A table is a file name, its header and its rows; each is written into the zip as it comes and
then dropped, and the zip itself is held in memory only up to `SPOOL_BYTES`, past which it moves
to a temporary file, so a large export costs disk, not memory. Text cells that a spreadsheet
would read as a formula (`=`, `+`, `-`, `@`, a tab or a carriage return first) are written with
a `'` before them: page paths, sources, campaigns, properties and error messages are whatever
a visitor's browser or a site's code sent. Numbers are written as numbers. This module runs no
query and knows no report.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from tempfile import SpooledTemporaryFile
from typing import IO, Any

SPOOL_BYTES = 1 << 20
CHUNK_BYTES = 64 * 1024
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class CsvTable:
    name: str  # the file's name in the zip, `sources.csv`
    header: Sequence[str]
    rows: Iterable[Sequence[Any]]


def safe_cell(value: Any) -> Any:
    """`value` as a spreadsheet reads it as text, not as a formula (numbers as they are)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_zip(into: IO[bytes], tables: Iterable[CsvTable]) -> None:
    """Write every table into the zip `into` as a UTF-8 CSV file, one table at a time."""
    stamp = dt.datetime.now().timetuple()[:6]
    with zipfile.ZipFile(into, "w", zipfile.ZIP_DEFLATED) as archive:
        for table in tables:
            entry = zipfile.ZipInfo(table.name, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            with (
                archive.open(entry, "w") as raw,
                io.TextIOWrapper(raw, encoding="utf-8", newline="") as text,
            ):
                writer = csv.writer(text)
                writer.writerow([safe_cell(cell) for cell in table.header])
                for row in table.rows:
                    writer.writerow([safe_cell(cell) for cell in row])


def spooled_zip(tables: Iterable[CsvTable]) -> tuple[IO[bytes], int]:
    """The zip of `tables` in a file read from its start (in memory while small), and its size
    in bytes; the caller closes it."""
    file: IO[bytes] = SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
    try:
        write_zip(file, tables)
        size = file.tell()
        file.seek(0)
    except BaseException:
        file.close()
        raise
    return file, size


def chunks(file: IO[bytes]) -> Iterator[bytes]:
    """`file`'s bytes a chunk at a time; closes it at the end."""
    try:
        while chunk := file.read(CHUNK_BYTES):
            yield chunk
    finally:
        file.close()
