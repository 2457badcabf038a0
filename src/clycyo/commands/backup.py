"""`clycyo backup DEST`: a consistent copy of the data folder, while the server runs or not.

With a server on the folder, it asks the server (which copies as a writer job, see
`web/maintenance_api.py`); without one it copies the folder itself (`store/backup.py`). Either
way DEST becomes a data folder that `clycyo serve --data DEST` opens.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from clycyo import local_server
from clycyo.store import backup as backups


def run(args: argparse.Namespace, data_dir: Path) -> int:
    dest = Path(args.dest).resolve()
    server = local_server.find(data_dir)
    if server is not None:
        # The copy takes as long as the store is large (some 40 s for 30 million events), so
        # no deadline: the server is on this machine, and if it stops, the connection ends.
        status, body = server.call("POST", "/api/admin/backup", {"dest": str(dest)}, timeout_s=None)
        if status != 200:
            print(f"clycyo: {body.get('error', body)}", file=sys.stderr)
            return 1
        report = body
    else:
        try:
            report = backups.offline(data_dir, dest)
        except (backups.BackupError, OSError) as exc:
            print(f"clycyo: {exc}", file=sys.stderr)
            return 1
    if args.json:
        print(json.dumps(report))
    else:
        print(f"backed up {data_dir} to {report['dest']}: {', '.join(report['files'])}")
    return 0
