"""The orders the core tells each collector to forget: written whole, taken once, and a file
that holds no orders deleted rather than failing every tick after it."""

from __future__ import annotations

from pathlib import Path

from clycyo.workers import forgotten_orders


def _taking(folder: Path) -> tuple[int, list[tuple[int, str, str]]]:
    taken: list[tuple[int, str, str]] = []
    count = forgotten_orders.take(folder, lambda *key: taken.append(key))
    return count, taken


def test_each_running_collector_takes_the_orders_once(tmp_path: Path) -> None:
    running, gone = tmp_path / "w0", tmp_path / "w1"
    running.mkdir()
    forgotten_orders.tell([running, gone], [(1, "purchase", "o1"), (2, "payment", "in_2")])
    assert not gone.exists()
    assert [p.suffix for p in running.iterdir()] == [".json"]  # no temporary file left
    assert _taking(running) == (2, [(1, "purchase", "o1"), (2, "payment", "in_2")])
    assert _taking(running) == (0, [])


def test_a_file_that_holds_no_orders_is_deleted_and_the_next_taken(tmp_path: Path) -> None:
    for index, text in enumerate(('{"site": 1}', '[[1, "purchase"]]', "[7]", "not json")):
        (tmp_path / f"forget-{index}-1.json").write_text(text)
    forgotten_orders.tell([tmp_path], [(3, "purchase", "o3")])
    assert _taking(tmp_path) == (1, [(3, "purchase", "o3")])
    assert list(tmp_path.iterdir()) == []
