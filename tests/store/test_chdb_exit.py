"""A process that used chDB ends cleanly, even with a store still held at exit.

Left open until the C++ exit handlers, chDB's shutdown stops halfway and its background threads
crash the process after the program's end; the transport closes every engine at exit. Each test
runs a process of its own: closing the engines would close this run's shared one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import clycyo

pytest.importorskip("chdb")

_HELD_AT_EXIT = """
import sys, threading, time
from clycyo.store.clickhouse.store import ClickHouseStore
from clycyo.store.clickhouse.transport import ChdbTransport

store = ClickHouseStore(ChdbTransport(sys.argv[1], "exit"), loader="test")
INSERT = (
    "INSERT INTO pageviews (site_id, time, page_key, type, name, origin, loader, load_seq)"
    " VALUES (1, now64(6), ?, 'pageview', 'pageview', 'browser', 'test', 0)"
)
for n in range(1, 4):
    store.command(INSERT, [n])
store.delete("pageviews", "site_id = 1 AND page_key = ?", [2])
print(store.execute("SELECT count() FROM pageviews")[0][0], flush=True)
# A thread still running at exit holds the store, as a server's threads do.
threading.Thread(target=lambda held=store: time.sleep(60), daemon=True).start()
"""


def test_a_process_ends_cleanly_with_a_chdb_store_still_held(tmp_path: Path) -> None:
    source = str(Path(clycyo.__file__).parents[1])
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_HELD_AT_EXIT), str(tmp_path / "chdb")],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": source},
    )
    assert done.stdout == "2\n"
    assert "shutdown" not in done.stderr  # chDB's "Exception in global_context->shutdown()"
    assert done.returncode == 0, done.stderr
