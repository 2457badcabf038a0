"""`clycyo export`: a site's raw events to a Parquet or CSV file, with a progress bar on a
terminal.

The events come from the server that owns the data folder when one runs (streamed as Arrow by
`POST /api/admin/export`), or from the DuckDB file opened read-only when none does; either way
this command writes the file, as the user who runs it. It reads nothing else and changes nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from clycyo import local_server
from clycyo.commands.progress import bar as progress_bar
from clycyo.config.store import ConfigStore
from clycyo.store import export as exports
from clycyo.store.base import LOCAL_SOURCE, checkpoint_key
from clycyo.store.intake_reader import collector_logs
from clycyo.store.open import clickhouse_folder_refusal, loads_into_clickhouse
from clycyo.store.segments import read_after, segment_path
from clycyo.web.maintenance_api import ROWS_HEADER


class ExportFailed(Exception):
    pass


def run(args: argparse.Namespace, data_dir: Path) -> int:
    try:
        first, last = _day("--from", args.from_day), _day("--to", args.to_day)
        if first and last and first > last:
            raise ExportFailed(f"--from {first} is after --to {last}: no day is in that range")
        span = exports.ExportRange(args.from_day, args.to_day)
        server = local_server.find(data_dir)
        if server is not None:
            rows, schema, batches = _from_server(server, args)
        else:
            rows, schema, batches = _from_file(data_dir, args.site, span)
        written = write(
            Path(args.out), args.format, schema, batches, rows, progress=sys.stderr.isatty()
        )
    except (ExportFailed, ValueError, OSError) as exc:
        print(f"clycyo: {exc}", file=sys.stderr)
        return 1
    print(f"{written} events of {args.site} written to {args.out}", file=sys.stderr)
    return 0


def _day(option: str, text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ExportFailed(f"{option} {text!r}: expected a day, YYYY-MM-DD ({exc})") from None


Source = tuple[int, pa.Schema, Iterator[pa.RecordBatch]]


def _from_server(server: local_server.LocalServer, args: argparse.Namespace) -> Source:
    body = json.dumps({"site": args.site, "from": args.from_day, "to": args.to_day}).encode()
    request = urllib.request.Request(
        server.url + "/api/admin/export",
        data=body,
        method="POST",
        headers={
            "Authorization": f"Bearer {server.admin_token}",
            "Content-Type": "application/json",
        },
    )
    try:
        response = urllib.request.urlopen(request, timeout=600)
    except urllib.error.HTTPError as exc:
        raise ExportFailed(_error_of(exc.read())) from None
    reader = pa.ipc.open_stream(response)
    rows = int(response.headers.get(ROWS_HEADER, "0"))
    return rows, reader.schema, exports.iterate(reader)


def _error_of(raw: bytes) -> str:
    try:
        return str(json.loads(raw)["error"])
    except (ValueError, KeyError, TypeError):
        return raw.decode("utf-8", "replace")


def _from_file(data_dir: Path, domain: str, span: exports.ExportRange) -> Source:
    import duckdb

    if loads_into_clickhouse(data_dir):
        # Its events.duckdb, if any, is what it held before the move: not the site's events.
        raise ExportFailed(clickhouse_folder_refusal(data_dir, "export"))
    site = ConfigStore(data_dir / "config.sqlite").site_by_domain(domain)
    if site is None:
        raise ExportFailed(f"no site {domain}")
    path = data_dir / "events.duckdb"
    if not path.exists():
        raise ExportFailed(f"no event store in {data_dir}")
    connection = duckdb.connect(str(path), read_only=True)
    behind = _logs_not_loaded(data_dir, connection)
    if behind:
        connection.close()
        raise ExportFailed(
            f"the intake log {behind[0]} holds records the event store has not loaded (the"
            f" server stopped before it could): start clycyo serve on {data_dir} once, then export"
        )
    rows = exports.count(connection, site.id, span)
    reader = exports.batches(connection, site.id, span)
    return rows, reader.schema, exports.iterate(reader)


def _logs_not_loaded(data_dir: Path, connection: Any) -> list[Path]:
    """The folder's intake logs (its own and its collector processes') with records beyond what
    the store records as loaded: acknowledged events a server stopped by a crash left there,
    which an export of the file alone would lack. Reads the logs, changes nothing."""
    loaded = dict(connection.execute("SELECT key, value FROM meta").fetchall())
    logs = [(data_dir / "intake", LOCAL_SOURCE)]
    logs += [(folder, folder.name) for folder in collector_logs(data_dir)]
    behind = []
    for folder, source in logs:
        after = int(loaded.get(checkpoint_key(source), 0))
        firsts = sorted(int(p.stem) for p in folder.glob("*.log") if p.stem.isdigit())
        for index, first in enumerate(firsts):
            if index + 1 < len(firsts) and firsts[index + 1] - 1 <= after:
                continue  # every record of this segment is loaded
            if next(read_after(first, segment_path(folder, first), after), None) is not None:
                behind.append(folder)
                break
    return behind


def write(
    out: Path,
    kind: str,
    schema: pa.Schema,
    batches: Iterator[pa.RecordBatch],
    rows: int,
    *,
    progress: bool = False,
) -> int:
    """Write the batches to `out` as Parquet or CSV, with a progress bar on standard error when
    `progress` (on a terminal: in a log or a pipe it would be a line per update); returns the
    rows written."""
    partial = out.with_name(out.name + ".partial")
    writer: Any = (
        pq.ParquetWriter(partial, schema, compression="zstd")
        if kind == "parquet"
        else pa_csv.CSVWriter(partial, schema)
    )
    written = 0
    with progress_bar(rows, "events", enabled=progress) as bar:
        try:
            for batch in batches:
                writer.write_batch(batch)
                written += batch.num_rows
                bar.update(batch.num_rows)
        finally:
            writer.close()
    # A finished file appears under its name at once; an interrupted one never does.
    partial.replace(out)
    return written
