"""The data folder a command works on: checked before use, created private.

Only the commands that set a folder up (`serve`, `site add`, `user add`) create it; the others
(`site list`, `backup`, `query`, …) refuse a folder that is not there, so that a mistyped
`--data` is an error rather than a new, empty folder that reads as "nothing here". The folder
holds key hashes, salts and every event: it is created readable by its owner only (0700),
whatever the umask, and what a Clycyo process writes into it is 0600 (`PRIVATE_UMASK`).
This module checks and creates the folder; it does not open anything inside it.
"""

from __future__ import annotations

import os
from pathlib import Path

# Files and folders a Clycyo process creates (the stores, the intake log, backups, exports) are
# its owner's only: 0600 and 0700. Set once at start by the command line.
PRIVATE_UMASK = 0o077


class FolderError(Exception):
    """The data folder cannot be used (the message says why and what to do)."""


def require(path: Path) -> None:
    """Raise `FolderError` unless `path` is a data folder this user may read and write."""
    if not path.exists():
        raise FolderError(
            f"no data folder at {path} (create one with clycyo site add or clycyo serve)"
        )
    _check(path)


def create(path: Path) -> None:
    """Make `path` a usable data folder: created with mode 0700 when missing (its parents as the
    umask says), checked like `require` when it exists."""
    if not path.exists():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.mkdir(mode=0o700)
        except FileExistsError:
            pass  # another process made it first
        except OSError as exc:
            raise FolderError(f"cannot create the data folder {path}: {exc.strerror}") from None
        else:
            os.chmod(path, 0o700)  # `mkdir`'s mode is masked by the umask, which may be odd
    _check(path)


def _check(path: Path) -> None:
    if not path.is_dir():
        raise FolderError(f"{path} is not a folder: --data names the data folder")
    # Every command writes in the folder (SQLite's write-ahead log, at least).
    if not os.access(path, os.R_OK | os.W_OK | os.X_OK):
        raise FolderError(
            f"cannot read and write the data folder {path} as this user: run the command as"
            " the folder's owner"
        )
