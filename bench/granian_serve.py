"""Clycyo under Granian instead of uvicorn, for the server comparison in `bench/ingest.py`.

The same runtime and application as `clycyo serve` (`Runtime.open`, then `build_app`), served by
Granian's ASGI interface with one worker process (DuckDB lets one process open the event store)
and uvloop. Granian calls `create_app` in its worker; the ASGI lifespan shutdown closes the
runtime (last group commit, everything loaded into the store) when the server gets SIGTERM.

    .venv/bin/python bench/granian_serve.py --data DIR --port 8000
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

DATA_ENV = "CLYCYO_DATA"


def create_app() -> Any:
    """The application factory Granian runs in its worker process."""
    from clycyo.app import build_app
    from clycyo.runtime import Runtime, Settings

    runtime = Runtime.open(Settings.from_env(Path(os.environ[DATA_ENV])))
    return build_app(runtime)


def main() -> None:
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, Loops
    from granian.log import LogLevels

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--runtime-threads", type=int, default=1)
    args = parser.parse_args()
    os.environ[DATA_ENV] = str(args.data.resolve())
    Granian(
        "granian_serve:create_app",
        factory=True,
        address=args.host,
        port=args.port,
        interface=Interfaces.ASGI,
        workers=1,
        runtime_threads=args.runtime_threads,
        loop=Loops.uvloop,
        http=HTTPModes.http1,
        websockets=False,
        backlog=4096,
        log_level=LogLevels.warning,
        working_dir=Path(__file__).resolve().parent,
    ).serve()


if __name__ == "__main__":
    main()
