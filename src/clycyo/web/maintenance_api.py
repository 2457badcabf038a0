"""Admin endpoints for the data lifecycle: backup, export, import, retention and the removal of
a site, for `clycyo` commands.

While a server runs it holds the DuckDB file, so the CLI asks it (see `local_server.py`) with the
admin token. Backup and retention run as writer jobs, so no load races them. Export streams the
site's events as Arrow IPC; the CLI writes the Parquet or CSV file itself, as the user who ran it,
so the server never writes a file a request named — except the backup, whose destination must be
an absolute path to a new or empty folder, named by whoever can read the admin token. Import takes
a part of an exported file as Arrow IPC, read by the CLI, and appends its events to the intake log
(`store/importing.py`). Removing a site takes its configuration at once and its data in a writer
job (`store/site_removal.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pyarrow as pa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from clycyo.config.store import ConfigError, normalize_domain
from clycyo.store import backup as backups
from clycyo.store import export as exports
from clycyo.store import site_removal
from clycyo.store.intake import IntakeUnavailable
from clycyo.web.admin_api import is_admin
from clycyo.web.json_body import json_object

ROWS_HEADER = "x-clycyo-rows"
MAX_BODY_BYTES = 64 * 1024  # a folder, a site, two days: a few hundred bytes
ARROW_STREAM = "application/vnd.apache.arrow.stream"


def _refused() -> JSONResponse:
    return JSONResponse({"error": "authorization: the admin token is required"}, 401)


async def _json_object(request: Request) -> dict[str, Any]:
    """The body; a `ValueError` (`json_body.BodyError`) naming what is wrong with it."""
    return json_object(await request.body(), MAX_BODY_BYTES)


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
        domain = str(body.get("site", ""))
        site = runtime.directory.by_domain(domain.strip().lower())
        span = exports.ExportRange(body.get("from"), body.get("to"))
    except (ValueError, TypeError) as exc:
        return JSONResponse({"error": str(exc)}, 400)
    if site is None:
        return JSONResponse({"error": f"no site {domain}"}, 404)

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


async def import_events(request: Request) -> Response:
    """`?site=DOMAIN&first_row=N`, a body of exported rows as an Arrow IPC stream: the rows
    checked, the valid ones appended durably, the answer once they are (`clycyo import`)."""
    if not is_admin(request):
        return _refused()
    runtime = request.app.state.runtime
    domain = request.query_params.get("site", "")
    site = runtime.directory.by_domain(domain.strip().lower())
    if site is None:
        # Answered before the body is read: the client reads it when its send then fails.
        return JSONResponse({"error": f"no site {domain}"}, 404)
    first_text = request.query_params.get("first_row", "1")
    if not (first_text.isascii() and first_text.isdigit()) or int(first_text) < 1:
        return JSONResponse({"error": "first_row: expected a whole number, 1 or more"}, 400)
    body = await request.body()
    now_us = time.time_ns() // 1000
    # Imported here, not with this module: the rows' checks load pyarrow's compute, CSV and
    # Parquet modules, some 28 MB that a server which never imports should not hold.
    from clycyo.store import import_rows
    from clycyo.store.importing import append_events

    def read() -> tuple[int, list[Any], list[tuple[int, str]]]:
        rows, events, invalid = 0, [], []
        for batch in pa.ipc.open_stream(body):
            found, wrong = import_rows.events_of(batch, site.id, int(first_text) + rows, now_us)
            rows += batch.num_rows
            events += found
            invalid += wrong
        return rows, events, invalid

    try:
        rows, events, invalid = await asyncio.to_thread(read)
    except import_rows.ImportFileError as exc:
        return JSONResponse({"error": str(exc)}, 400)
    except (pa.ArrowException, OSError, ValueError):
        return JSONResponse({"error": "body: not an Arrow IPC stream of exported rows"}, 400)
    try:
        done = await append_events(runtime, site.id, events)
    except IntakeUnavailable as exc:
        return JSONResponse(
            {"error": exc.reason}, 503, headers={"Retry-After": str(exc.retry_after_s)}
        )
    return JSONResponse(
        {
            "rows": rows,
            "imported": done.imported,
            "present": done.present,
            "invalid": [{"row": row, "error": error} for row, error in invalid],
        }
    )


async def retention(request: Request) -> Response:
    if not is_admin(request):
        return _refused()
    runtime = request.app.state.runtime
    report = await asyncio.wrap_future(runtime.writer.submit(runtime.apply_retention))
    return JSONResponse(report.as_json())


async def remove_site(request: Request) -> Response:
    """`{"site": DOMAIN}`: the site, its keys and every row of its data removed; the answer
    reports what went (`clycyo site remove`)."""
    if not is_admin(request):
        return _refused()
    runtime = request.app.state.runtime
    try:
        body = await _json_object(request)
        domain = body.get("site")
        if not isinstance(domain, str):
            raise ValueError("site: expected the site's domain")
        domain = normalize_domain(domain)
    except ValueError as exc:  # ConfigError too: not a domain
        return JSONResponse({"error": str(exc)}, 400)
    try:
        removal = await asyncio.to_thread(site_removal.remove_configuration, runtime, domain)
    except ConfigError as exc:
        return JSONResponse({"error": f"site: {exc}"}, 404)
    # A request that found the site before its keys went has queued its events by now (it does
    # not wait between the key and the queue): a record queued after them is written after them,
    # so the intake log holds them before the job rewrites it.
    with contextlib.suppress(IntakeUnavailable):
        await runtime.intake.append([], [])
    # Collector processes refuse the keys once they notice; their logs are flushed after that.
    await asyncio.sleep(site_removal.collectors_notice_s(runtime))
    try:
        done = await asyncio.wrap_future(
            runtime.writer.submit(site_removal.data_job(runtime, removal))
        )
    except TimeoutError as exc:
        return JSONResponse(
            {
                "error": f"{exc}: the site and its keys are removed, not all of its data yet;"
                " remove it again to finish"
            },
            503,
            headers={"Retry-After": "5"},
        )
    return JSONResponse(done.as_json())
