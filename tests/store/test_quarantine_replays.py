"""A replay that fails again is one more attempt of its quarantine entry, not a new entry; other
rejections, identical ones included, stay entries of their own."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import msgspec

from clycyo.model import Observed, Rejection
from clycyo.store.quarantine import Quarantine

PAYLOAD = '{"name":"checkout","timestamp":"not a time"}'


def rejected(
    seq: int, error: str = "timestamp: bad", *, at_us: int = 1
) -> tuple[int, int, Rejection]:
    rejection = Rejection(site_id=1, received_us=at_us, trusted=True, error=error, payload=PAYLOAD)
    return seq, 0, rejection


def test_a_failed_replay_counts_on_its_entry_and_a_crash_replay_adds_nothing(
    tmp_path: Path,
) -> None:
    quarantine = Quarantine(tmp_path / "quarantine.sqlite")
    quarantine.add([rejected(1, at_us=100)])
    [entry] = quarantine.entries()
    # The same payload from a client is another entry: nothing was replayed.
    quarantine.add([rejected(2)])
    assert len(quarantine.entries()) == 2
    quarantine.add([rejected(2)])  # the log replayed after a crash: already there
    assert len(quarantine.entries()) == 2

    quarantine.replay_asked(entry.id, 200)
    quarantine.add([rejected(3, "timestamp: still bad", at_us=300)])
    quarantine.add([rejected(3, "timestamp: still bad", at_us=300)])  # after a crash
    replayed = quarantine.get(entry.id)
    assert replayed is not None
    assert (replayed.attempts, replayed.error) == (2, "timestamp: still bad")
    assert (replayed.received_us, replayed.last_rejected_us, replayed.replayed_us) == (
        100,
        300,
        None,
    )
    assert len(quarantine.entries()) == 2
    # The next identical rejection, with no replay asked, is a client's again.
    quarantine.add([rejected(4)])
    assert len(quarantine.entries()) == 3
    assert quarantine.get(entry.id) == replayed


def test_a_quarantine_file_of_the_first_schema_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "quarantine.sqlite"
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE quarantine (
            id INTEGER PRIMARY KEY, site_id INTEGER NOT NULL, received_us INTEGER NOT NULL,
            trusted INTEGER NOT NULL, error TEXT NOT NULL, payload TEXT NOT NULL,
            replayed_us INTEGER, seq INTEGER, idx INTEGER, UNIQUE (seq, idx)
        );
        INSERT INTO quarantine VALUES (1, 1, 100, 1, 'timestamp: bad', 'x', NULL, 1, 0);
        """
    )
    old.close()
    quarantine = Quarantine(path)
    [entry] = quarantine.entries()
    assert (entry.id, entry.error, entry.attempts, entry.last_rejected_us) == (
        1,
        "timestamp: bad",
        1,
        None,
    )
    Quarantine(path)  # a second opening finds it done


def test_an_observed_visitor_hash_names_its_person_for_export_and_erasure(
    tmp_path: Path,
) -> None:
    quarantine = Quarantine(tmp_path / "quarantine.sqlite")
    seen = Observed(country="DE", browser="Chrome", device="desktop", visitor_id="h_0123abcd")
    browser = Rejection(
        site_id=1, received_us=1, trusted=False, error="revenue.currency: bad", payload=PAYLOAD
    )
    quarantine.add([(1, 0, msgspec.structs.replace(browser, observed=seen)), (1, 1, browser)])
    kept, earlier = sorted(quarantine.entries(), key=lambda e: e.id)
    assert (kept.observed, earlier.observed) == (seen, None)
    assert [e.id for e in quarantine.matching(1, ["h_0123abcd"])] == [kept.id]
    assert quarantine.delete_matching(1, ["h_0123abcd"]) == 1
    assert [e.id for e in quarantine.entries()] == [earlier.id]
