"""Making what was written durable by path: a file's contents, or a folder's entries.

A file created, renamed over another or removed is durable only once its folder is synced too:
after a power cut, an entry that was not synced may come back as it was. The intake log syncs
its folder when it starts or replaces a segment, and a compaction syncs the new event store and
then its folder. What is written through an open descriptor is synced through that descriptor
where it is written; this module only opens a path to sync it.
"""

from __future__ import annotations

import os
from pathlib import Path


def fsync_path(path: Path) -> None:
    """`fsync` the file or folder at `path`."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
