"""The machine a benchmark ran on, and the versions of what it measured, for its results file."""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any


def _proc_line(path: str, prefix: str) -> str | None:
    with contextlib.suppress(OSError):
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line
    return None


def machine() -> dict[str, Any]:
    model_line = _proc_line("/proc/cpuinfo", "model name")
    memory_line = _proc_line("/proc/meminfo", "MemTotal:")
    memory_kb = int(memory_line.split()[1]) if memory_line else 0
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model_line.split(":", 1)[1].strip() if model_line else "unknown",
        "memory_gib": round(memory_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg(),
    }


def versions(packages: Iterable[str]) -> dict[str, str]:
    """The installed version of each of `packages` that is installed."""
    found = {}
    for package in packages:
        with contextlib.suppress(PackageNotFoundError):
            found[package] = version(package)
    return found
