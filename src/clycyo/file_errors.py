"""One wording, for every command, of a file it was given and cannot read."""

from __future__ import annotations

from os import PathLike


def unreadable(path: str | PathLike[str], exc: OSError) -> str:
    """`PATH: no such file`, `a folder, not a file`, or `cannot read it (why)`."""
    if isinstance(exc, FileNotFoundError):
        return f"{path}: no such file"
    if isinstance(exc, IsADirectoryError):
        return f"{path}: a folder, not a file"
    if isinstance(exc, PermissionError):
        return f"{path}: cannot read it (permission denied)"
    return f"{path}: cannot read it ({exc.strerror or exc})"
