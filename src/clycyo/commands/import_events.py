"""`clycyo import`: a file `clycyo export` wrote, loaded into a site as stored events.

The command reads the file a part at a time and hands each part over: to the server that owns
the data folder when one runs (`POST /api/admin/import`, with the admin token), or, when none
does, to an instance it opens on the folder itself (refusing a folder whose events went to
ClickHouse, which only its server reaches). Either way each part is checked row by row and its
valid events are appended to the intake log (`store/importing.py`), durably, before the next part
is read; events the site holds already are counted, not appended again.

Invalid rows are reported one line each (the first `_SHOWN` of them) and counted; the others are
imported all the same. The summary says how many rows were read, imported, already present and
invalid; the exit status is 1 when any row was invalid or the import stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import http.client
import io
import json
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from clycyo import gc_tuning, local_server
from clycyo.commands.progress import bar as progress_bar
from clycyo.config.store import ConfigStore
from clycyo.settings import config_path
from clycyo.store import import_rows
from clycyo.store.open import clickhouse_folder_refusal, loads_into_clickhouse

_SHOWN = 20  # invalid rows shown one by one; the rest are counted
# A request's body, at most: a part of long rows is sent in pieces, for collector processes
# (`--workers`) hand on to the core bodies of up to 16 MiB.
_MAX_REQUEST_BYTES = 8 * 1024 * 1024
_ANSWER_S = 600.0  # a part is answered once its events are durable: seconds, minutes at worst


class ImportFailed(Exception):
    pass


@dataclass
class Totals:
    rows: int = 0
    imported: int = 0
    present: int = 0
    invalid: list[tuple[int, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "imported": self.imported,
            "present": self.present,
            "invalid": len(self.invalid),
        }


# A part's rows in, (imported, already present, invalid rows) out.
Part = Callable[[pa.RecordBatch, int], tuple[int, int, list[tuple[int, str]]]]


def run(args: argparse.Namespace, data_dir: Path, *, progress: bool | None = None) -> int:
    """`progress`: show a progress bar on standard error (default: when it is a terminal; in a
    log or a pipe it would be a line per update)."""
    path = Path(args.in_file)
    shown = sys.stderr.isatty() if progress is None else progress
    totals = Totals()
    stopped: str | None = None
    try:
        kind = import_rows.format_of(path, args.format)
        rows, batches = import_rows.read_file(path, kind)
        server = local_server.find(data_dir)
        if server is not None:
            # The configuration is shared with the server: an unknown site is said before a
            # row is sent (the server says it too, for a site removed meanwhile).
            _site_id(data_dir, args.site)
            part = _server_part(server, args.site)
            _run_parts(batches, rows, part, totals, progress=shown)
        else:
            _in_folder(data_dir, args.site, batches, rows, totals, progress=shown)
    except (ImportFailed, import_rows.ImportFileError, OSError) as exc:
        stopped = str(exc)
    for row, error in totals.invalid[:_SHOWN]:
        print(f"clycyo: {path.name}: row {row}: {error}", file=sys.stderr)
    if len(totals.invalid) > _SHOWN:
        print(f"clycyo: … and {len(totals.invalid) - _SHOWN:,} more invalid rows", file=sys.stderr)
    if stopped is not None:
        print(f"clycyo: {stopped}", file=sys.stderr)
        if totals.rows == 0:
            return 1
    if args.json:
        print(json.dumps({"site": args.site, **totals.as_json(), "complete": stopped is None}))
    else:
        print(
            f"{path.name} into {args.site}: {totals.rows:,} rows read, {totals.imported:,}"
            f" imported, {totals.present:,} already present, {len(totals.invalid):,} invalid"
            + ("" if stopped is None else " (stopped before the end)")
        )
    return 1 if stopped is not None or totals.invalid else 0


def _run_parts(
    batches: Iterator[pa.RecordBatch],
    rows: int | None,
    part: Part,
    totals: Totals,
    *,
    progress: bool,
) -> None:
    # CSV: the rows are not known before reading, so the bar is a count.
    with progress_bar(rows, "rows", enabled=progress) as bar:
        for batch in batches:
            if not batch.num_rows:
                continue
            imported, present, invalid = part(batch, totals.rows + 1)
            totals.rows += batch.num_rows
            totals.imported += imported
            totals.present += present
            totals.invalid += invalid
            bar.update(batch.num_rows)


def _server_part(server: local_server.LocalServer, domain: str) -> Part:
    def part(batch: pa.RecordBatch, first_row: int) -> tuple[int, int, list[tuple[int, str]]]:
        sink = io.BytesIO()
        with pa.ipc.new_stream(sink, batch.schema) as writer:
            writer.write_batch(batch)
        if sink.tell() > _MAX_REQUEST_BYTES and batch.num_rows > 1:
            half = batch.num_rows // 2
            imported, present, invalid = part(batch.slice(0, half), first_row)
            more = part(batch.slice(half), first_row + half)
            return imported + more[0], present + more[1], invalid + more[2]
        query = urllib.parse.urlencode({"site": domain, "first_row": first_row})
        headers = {
            "Authorization": f"Bearer {server.admin_token}",
            "Content-Type": "application/octet-stream",  # an Arrow IPC stream
        }
        status, raw = _post(server.url, f"/api/admin/import?{query}", sink.getvalue(), headers)
        if status != 200:
            raise ImportFailed(_error_of(raw))
        answer = json.loads(raw)
        invalid = [(int(i["row"]), str(i["error"])) for i in answer["invalid"]]
        return int(answer["imported"]), int(answer["present"]), invalid

    return part


def _post(url: str, target: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """POST `body` and return the answer's status and body. A server may answer before it has
    read the whole body (a refusal: no such site, no token) and close: the send then fails with
    a broken pipe or a reset, and the answer, already received, is read all the same."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=_ANSWER_S)
    try:
        try:
            connection.request("POST", target, body=body, headers=headers)
        except (BrokenPipeError, ConnectionResetError) as exc:
            sent: OSError | None = exc
        else:
            sent = None
        try:
            response = connection.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException) as exc:
            reason = sent or exc
            raise ImportFailed(f"cannot reach {url}: {reason}") from None
    except OSError as exc:  # nothing listens, or it timed out
        raise ImportFailed(f"cannot reach {url}: {exc}") from None
    finally:
        connection.close()


def _site_id(data_dir: Path, domain: str) -> int:
    site = ConfigStore(config_path(data_dir)).site_by_domain(domain.strip().lower())
    if site is None:
        raise ImportFailed(f"no site {domain}")
    return int(site.id)


def _error_of(raw: bytes) -> str:
    try:
        return str(json.loads(raw)["error"])
    except (ValueError, KeyError, TypeError):
        return raw.decode("utf-8", "replace")


def _in_folder(
    data_dir: Path,
    domain: str,
    batches: Iterator[pa.RecordBatch],
    rows: int | None,
    totals: Totals,
    *,
    progress: bool,
) -> None:
    """No server runs on the folder: open it, as `serve` would, for as long as the import
    lasts; closing it loads everything appended into the store."""
    if loads_into_clickhouse(data_dir):
        # Opened here, the folder would be served from DuckDB: the events would go to the
        # wrong store.
        raise ImportFailed(clickhouse_folder_refusal(data_dir, "import"))
    site_id = _site_id(data_dir, domain)
    from clycyo.runtime import Runtime, Settings
    from clycyo.store.importing import append_events
    from clycyo.store.intake import IntakeUnavailable

    runtime = Runtime.open(Settings.from_env(data_dir))
    # The writer runs in this process as in a server's, and makes and drops as many objects:
    # without the server's settings the collector scans its memories again and again (a fifth
    # of a million rows' import). They are put back after, for a caller that goes on.
    threshold = gc.get_threshold()
    gc_tuning.tune()
    try:
        with asyncio.Runner() as runner:

            def part(
                batch: pa.RecordBatch, first_row: int
            ) -> tuple[int, int, list[tuple[int, str]]]:
                now_us = time.time_ns() // 1000
                events, invalid = import_rows.events_of(batch, site_id, first_row, now_us)
                try:
                    done = runner.run(append_events(runtime, site_id, events))
                except IntakeUnavailable as exc:
                    raise ImportFailed(exc.reason) from None
                return done.imported, done.present, invalid

            _run_parts(batches, rows, part, totals, progress=progress)
    finally:
        runtime.close()
        gc.unfreeze()
        gc.set_threshold(*threshold)
