"""Orders the core's deleters left with no copy, handed on to the collector processes.

Erasure and retention run in the core, which has its pipeline's memory of orders
(`pipeline/memory.py`) forget each order they left with no stored copy, so that a later copy of
it is accepted as the order's only one. Each collector (`serve --workers N`) runs a pipeline of
its own, whose memory would still answer that copy as a duplicate (and hand it on to the writer,
which stores it all the same: `pipeline/dedupe.py`). So the core writes those orders into each
running collector's log folder, one file per job (written, then renamed into place), and the
collector forgets them at its next tick, within a second, then deletes the file. A file, as for
the core's other request to a collector (`intake_reader.ROTATE_REQUEST`): nothing to lose if
the collector is busy, and a file renamed into place is never read half-written.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

OrderKey = tuple[int, str, str]  # (site_id, name, order_id)
_PATTERN = "forget-*.json"


def tell(folders: Iterable[Path], keys: Sequence[OrderKey]) -> None:
    """Write `keys` into each collector log folder of `folders` that exists."""
    if not keys:
        return
    payload = json.dumps([list(key) for key in keys]).encode()
    name = f"forget-{time.time_ns()}-{os.getpid()}.json"
    for folder in folders:
        if not folder.is_dir():
            continue
        written = folder / f"{name}.tmp"
        try:
            written.write_bytes(payload)
            written.replace(folder / name)
        except OSError as exc:
            # The erasure or retention itself is done: at worst that collector answers a later
            # copy of these orders as a duplicate (and stores it) until it restarts.
            log.warning("orders to forget: cannot tell %s: %s", folder.name, exc)


def take(folder: Path, forget: Callable[[int, str, str], None]) -> int:
    """Forget the orders of every file the core left in `folder`, and delete the files; the
    number of orders forgotten."""
    forgotten = 0
    for path in sorted(folder.glob(_PATTERN)):
        try:
            keys = _keys(json.loads(path.read_bytes()))
        except (OSError, ValueError, TypeError) as exc:
            # Deleted all the same: a file left in place would fail every tick after this one.
            log.error("orders to forget: cannot read %s: %s", path.name, exc)
            keys = []
        for site_id, name, order_id in keys:
            forget(site_id, name, order_id)
            forgotten += 1
        path.unlink(missing_ok=True)
    return forgotten


def _keys(loaded: object) -> list[OrderKey]:
    """A file's orders, as `tell` writes them (`[[site_id, name, order_id], …]`); `ValueError`
    or `TypeError` for anything else."""
    if not isinstance(loaded, list):
        raise ValueError("not a list of orders")
    return [(int(site_id), str(name), str(order_id)) for site_id, name, order_id in loaded]
