"""Admin endpoints for the data lifecycle: backup, export and retention, for `clycyo` commands.

While a server runs it holds the DuckDB file, so the CLI asks it (see `local_server.py`) with the
admin token. Backup and retention run as writer jobs, so no load races them. Export streams the
site's events as Arrow IPC; the CLI writes the Parquet or CSV file itself, as the user who ran it,
so the server never writes a file a request named — except the backup, whose destination must be
an absolute path to a new or empty folder, named by whoever can read the admin token.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pyarrow as pa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from clycyo.store import backup as backups
from clycyo.store import export as exports
from clycyo.web.admin_api import is_admin

ROWS_HEADER = "x-clycyo-rows"
ARROW_STREAM = "application/vnd.apache.arrow.stream"


def _refused() -> JSONResponse:
    return JSONResponse({"error": "authorization: the admin token is required"}, 401)


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ValueError("body: expected a JSON object")
    return body


async def backup(request: Request) -> Response:
    if not is_admin(request):
        return _refused()
    runtime = request.app.state.runtime
    try:
        body = await _json_object(request)
        dest = Path(str(body.get("dest", "")))
        backups.prepare(dest)
    except (ValueError, backups.BackupError) as exc:
        return JSONResponse({"error": str(exc)}, 400)
    except OSError as exc:
        return JSONResponse({"error": f"dest: {exc.strerror or exc}"}, 400)

    def on_writer() -> int:
        # What collector processes acknowledged is loaded first: the copy's store holds every
        # event acknowledged before the backup began, and its copies of their logs what came
        # after (and all a collector that did not answer holds), loaded when the copy is opened.
        with contextlib.suppress(TimeoutError):
            runtime.writer.flush_collector_logs()
        if runtime.store.dialect == "duckdb":
            runtime.store.execute("CHECKPOINT")
            backups.copy_event_store(runtime.store.cursor(), dest)
        return backups.copy_intake(runtime.intake.folder, dest)

    files = await asyncio.to_thread(backups.copy_sqlite_files, runtime.settings.data_dir, dest)
    segments = await asyncio.wrap_future(runtime.writer.submit(on_writer))
    if runtime.store.dialect == "duckdb":
        files.append(backups.EVENTS_FILE)
    return JSONResponse({"dest": str(dest), "files": files, "intake_segments": segments})


async def export(request: Request) -> Response:
    if not is_admin(request):
        return _refused()
    runtime = request.app.state.runtime
    try:
        body = await _json_object(request)
        site = runtime.directory.by_domain(str(body.get("site", "")).strip().lower())
        span = exports.ExportRange(body.get("from"), body.get("to"))
    except (ValueError, TypeError) as exc:
        return JSONResponse({"error": str(exc)}, 400)
    if site is None:
        return JSONResponse({"error": "site: no such site"}, 404)

    def start() -> tuple[int, pa.RecordBatchReader, Any]:
        # Everything acknowledged before the request is in the export.
        runtime.writer.catch_up(30.0)
        if runtime.store.dialect == "clickhouse":
            from clycyo.store.clickhouse import export as clickhouse_export

            store = runtime.store
            rows = clickhouse_export.count(store, site.id, span)
            return rows, clickhouse_export.batches(store, site.id, span), None
        # A connection of its own: a streaming result keeps its connection busy until the end,
        # and the threads' shared cursors must stay free for other requests.
        connection = runtime.store.cursor().cursor()
        rows = exports.count(connection, site.id, span)
        return rows, exports.batches(connection, site.id, span), connection

    rows, reader, connection = await asyncio.to_thread(start)
    return StreamingResponse(
        _arrow_stream(reader, connection),
        media_type=ARROW_STREAM,
        headers={ROWS_HEADER: str(rows)},
    )


async def _arrow_stream(reader: pa.RecordBatchReader, connection: Any) -> AsyncIterator[bytes]:
    try:
        sink = io.BytesIO()
        writer = pa.ipc.new_stream(sink, reader.schema)
        batches = exports.iterate(reader)
        while (batch := await asyncio.to_thread(next, batches, None)) is not None:
            writer.write_batch(batch)
            yield _take(sink)
        writer.close()
        yield _take(sink)
    finally:
        if connection is not None:
            connection.close()


def _take(sink: io.BytesIO) -> bytes:
    data = sink.getvalue()
    sink.seek(0)
    sink.truncate()
    return data


async def retention(request: Request) -> Response:
    if not is_admin(request):
        return _refused()
    runtime = request.app.state.runtime
    report = await asyncio.wrap_future(runtime.writer.submit(runtime.apply_retention))
    return JSONResponse(report.as_json())
