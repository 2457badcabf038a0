"""What Clycyo deletes for privacy leaves no copy in the files of the data folder: a salt past
its days (with it, a cookieless visitor hash could be recomputed from an address), an erased
person's quarantined events and their Stripe links. SQLite keeps deleted rows in free space and
old pages in its write-ahead log unless told otherwise; each file is read whole here."""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from pathlib import Path

from clycyo.config.store import ConfigStore
from clycyo.integrations.stripe_links import Person, StripeLinks
from clycyo.model import Rejection
from clycyo.store.quarantine import Quarantine


def copies(folder: Path, secret: bytes) -> int:
    """How often `secret` appears in the files of `folder` (the database, its log, its index)."""
    return sum(path.read_bytes().count(secret) for path in folder.iterdir() if path.is_file())


def test_salts_past_their_days_leave_no_copy_on_disk(tmp_path: Path) -> None:
    config = ConfigStore(tmp_path / "config.sqlite")
    salts = {day: secrets.token_bytes(16) for day in range(1, 6)}
    for day, salt in salts.items():
        config.save_salt(day, salt)
    assert sorted(config.salts()) == [4, 5]
    assert [copies(tmp_path, salts[day]) for day in (1, 2, 3)] == [0, 0, 0]
    assert [copies(tmp_path, salts[day]) >= 1 for day in (4, 5)] == [True, True]


def test_a_salt_deleted_while_another_process_reads_goes_at_the_next_read(
    tmp_path: Path,
) -> None:
    """The log cannot be emptied while a reader still needs it; the store tries again."""
    config = ConfigStore(tmp_path / "config.sqlite")
    salts = {day: secrets.token_bytes(16) for day in range(1, 4)}
    config.save_salt(1, salts[1])
    config.save_salt(2, salts[2])
    reader = sqlite3.connect(tmp_path / "config.sqlite", isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM salts").fetchone()  # a snapshot held open
    started = time.monotonic()
    config.save_salt(3, salts[3])  # deletes day 1's salt, cannot empty the log yet
    assert sorted(config.salts()) == [2, 3]
    assert time.monotonic() - started < 1.0  # without waiting for the reader (the event loop)
    assert copies(tmp_path, salts[1]) >= 1
    reader.execute("COMMIT")
    reader.close()
    assert sorted(config.salts()) == [2, 3]  # what a server does every second
    assert copies(tmp_path, salts[1]) == 0


def test_an_erased_persons_quarantined_events_leave_no_copy_on_disk(tmp_path: Path) -> None:
    quarantine = Quarantine(tmp_path / "quarantine.sqlite")

    def rejected(user_id: str, index: int) -> tuple[int, int, Rejection]:
        payload = json.dumps({"name": "signup", "user_id": user_id, "props": {"n": index}})
        return (
            1,
            index,
            Rejection(
                site_id=1, received_us=index, trusted=True, error="timestamp: bad", payload=payload
            ),
        )

    erased, kept = f"u_{secrets.token_hex(12)}", f"u_{secrets.token_hex(12)}"
    quarantine.add([rejected(erased, 0), rejected(kept, 1), rejected(erased, 2)])
    assert copies(tmp_path, erased.encode()) >= 2
    assert quarantine.delete_matching(1, [erased]) == 2
    assert copies(tmp_path, erased.encode()) == 0
    assert copies(tmp_path, kept.encode()) >= 1
    assert [entry.payload for entry in quarantine.entries()] == [rejected(kept, 1)[2].payload]


def test_an_erasure_while_another_process_reads_the_quarantine_is_purged_after(
    tmp_path: Path,
) -> None:
    quarantine = Quarantine(tmp_path / "quarantine.sqlite")
    erased = f"u_{secrets.token_hex(12)}"
    payload = json.dumps({"name": "signup", "user_id": erased})
    quarantine.add(
        [(1, 0, Rejection(site_id=1, received_us=1, trusted=True, error="x", payload=payload))]
    )
    reader = sqlite3.connect(tmp_path / "quarantine.sqlite", isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM quarantine").fetchone()  # `clycyo quarantine list`
    started = time.monotonic()
    assert quarantine.delete_matching(1, [erased]) == 1
    assert time.monotonic() - started < 1.0
    assert copies(tmp_path, erased.encode()) >= 1
    reader.execute("COMMIT")
    reader.close()
    quarantine.finish_purge()  # what a server does every second
    assert copies(tmp_path, erased.encode()) == 0


def test_an_erased_persons_stripe_links_leave_no_copy_on_disk(tmp_path: Path) -> None:
    erased, kept = f"u_{secrets.token_hex(12)}", f"u_{secrets.token_hex(12)}"
    links = StripeLinks.in_folder(tmp_path)  # open, as in a running server
    links.remember(1, ["cus_1"], Person(erased, None))
    links.remember(1, ["cus_2"], Person(kept, None))
    assert links.forget_person(1, erased, []) == 1
    assert copies(tmp_path, erased.encode()) == 0
    assert links.person(1, ["cus_2"]) == Person(kept, None)
    links.close()
