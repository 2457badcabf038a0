"""What a serving process keeps out of memory: pyarrow would import pandas (installed with chDB)
just to check the type of the values Clycyo converts, some 43 MB for nothing; and what
`clycyo import` checks rows with (pyarrow's compute, CSV and Parquet modules, some 28 MB) loads
only for an import."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from tests.serverproc import ServerProcess

CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
needs_pandas = pytest.mark.skipif(
    importlib.util.find_spec("pandas") is None, reason="pandas is not installed here"
)


@needs_pandas
def test_a_server_that_stored_and_answered_has_not_loaded_pandas(
    own_server: ServerProcess,
) -> None:
    server = own_server.start()
    site = server.add_site("lean.example")
    money = [
        {
            "name": "payment",
            "order_id": f"o{i}",
            "user_id": "u1",
            "revenue": {"amount": "5.00", "currency": "EUR"},
            "props": {"plan": "pro", "seats": i},
        }
        for i in range(20)
    ]
    assert server.post("/api/collect", {"batch": money}, bearer=site.secret_key)[0] == 200
    # Again: the order memory and the store's order look-up both answer.
    _, again = server.post("/api/collect", {"batch": money}, bearer=site.secret_key)
    assert again["duplicates"] == 20
    view = {"type": "pageview", "url": "https://lean.example/?utm_source=x", "key": site.public_key}
    assert server.post("/api/collect", view, headers={"User-Agent": CHROME_UA})[0] == 200
    status, report = server.post(
        "/api/v1/query",
        {
            "site": "lean.example",
            "metrics": ["visitors", "revenue"],
            "dimensions": ["visit:channel"],
            "date_range": "7d",
        },
        bearer=site.secret_key,
    )
    assert status == 200, report
    assert len(site.events()) == 21
    assert server.proc is not None
    maps = Path(f"/proc/{server.proc.pid}/maps").read_text()
    assert "/pandas/" not in maps
    for module in ("_csv", "_parquet"):
        assert f"/pyarrow/{module}.cpython" not in maps, module


@needs_pandas
def test_pandas_still_works_when_asked_for_explicitly() -> None:
    script = (
        "import sys\n"
        "from clycyo.store.columns import keep_pandas_out\n"
        "import pyarrow as pa\n"
        "keep_pandas_out()\n"
        "pa.array([1, 2], pa.int64())\n"
        "assert 'pandas' not in sys.modules\n"
        "frame = pa.table({'a': pa.array([1, 2], pa.int64())}).to_pandas()\n"
        "assert list(frame['a']) == [1, 2]\n"
        "assert pa.Table.from_pandas(frame).column('a').to_pylist() == [1, 2]\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
