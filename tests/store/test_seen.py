"""The writer's memory of stored fingerprints: exact answers whatever order and repeats it is
given, before and after recent fingerprints are merged into the sorted array."""

from __future__ import annotations

import numpy as np
import pytest

from clycyo.store import seen
from clycyo.store.seen import SeenFingerprints


def test_stored_fingerprints_in_any_order_with_repeats_are_each_known_once() -> None:
    rng = np.random.default_rng(7)
    stored = rng.integers(0, 2**64 - 1, 5_000, dtype=np.uint64, endpoint=True)
    given = np.concatenate([stored, stored[:1_000], np.array([0, 2**64 - 1], np.uint64)])
    memory = SeenFingerprints(rng.permutation(given))
    assert len(memory) == len(np.union1d(stored, [0, 2**64 - 1]))
    absent = [int(x) for x in rng.integers(0, 2**64 - 1, 200, dtype=np.uint64) if x not in stored]
    probe = [int(x) for x in stored[:300]] + [0, 2**64 - 1] + absent
    expected = [True] * 302 + [False] * len(absent)
    assert memory.contains(probe) == expected


@pytest.mark.parametrize("stored", [[], [5]])
def test_small_memories(stored: list[int]) -> None:
    memory = SeenFingerprints(np.array(stored, np.uint64))
    assert memory.contains([5, 6]) == [bool(stored), False]


def test_recent_fingerprints_are_known_before_and_after_they_are_merged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(seen, "_MERGE_AT", 10)
    memory = SeenFingerprints(np.array([100, 50], np.uint64))
    memory.add([7, 8, 9])
    assert memory.contains([7, 50, 100, 11]) == [True, True, True, False]
    memory.add(list(range(1_000, 1_010)))  # past the threshold: merged into the array
    assert len(memory) == 15
    assert memory.contains([7, 1_009, 100, 11]) == [True, True, True, False]
