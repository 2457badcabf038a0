from clycyo.pipeline.memory import RecentIds


def test_an_added_id_is_seen_per_site() -> None:
    recent = RecentIds(generation_size=100)
    recent.add(1, "a")
    assert recent.seen(1, "a")
    assert not recent.seen(2, "a")
    assert not recent.seen(1, "b")


def test_ids_stay_for_one_more_generation_then_go() -> None:
    recent = RecentIds(generation_size=10)
    recent.add(1, "first")
    for index in range(9):
        recent.add(1, f"filler-{index}")
    # "first" is now in the previous generation.
    assert recent.seen(1, "first")
    for index in range(10):
        recent.add(1, f"later-{index}")
    assert not recent.seen(1, "first")
    assert recent.seen(1, "later-0") and recent.seen(1, "later-9")


def test_adding_an_id_twice_counts_it_once() -> None:
    recent = RecentIds(generation_size=3)
    for _ in range(5):
        recent.add(1, "same")
    recent.add(1, "other")
    # Still the first generation: one more makes it full, so "same" moves to the previous one.
    recent.add(1, "third")
    recent.add(1, "fourth")
    assert recent.seen(1, "same")


def test_a_forgotten_id_is_not_seen_and_its_neighbours_still_are() -> None:
    recent = RecentIds(generation_size=50_000)
    ids = [f"event-{index}" for index in range(20_000)]
    for event_id in ids:
        recent.add(7, event_id)
    for event_id in ids[::3]:
        recent.forget(7, event_id)
    for index, event_id in enumerate(ids):
        assert recent.seen(7, event_id) is (index % 3 != 0)
    recent.add(7, ids[0])
    assert recent.seen(7, ids[0])


def test_a_forgotten_id_leaves_the_previous_generation_too() -> None:
    recent = RecentIds(generation_size=2)
    recent.add(1, "a")
    recent.add(1, "b")  # both now in the previous generation
    recent.forget(1, "a")
    assert not recent.seen(1, "a")
    assert recent.seen(1, "b")


def test_many_ids_in_a_small_table_are_all_found() -> None:
    recent = RecentIds(generation_size=4096)
    for index in range(4095):
        recent.add(index % 5, str(index))
    assert all(recent.seen(index % 5, str(index)) for index in range(4095))
    assert not any(recent.seen(index % 5, f"x{index}") for index in range(4095))


def test_adding_tells_whether_the_id_was_new_in_either_generation() -> None:
    recent = RecentIds(generation_size=2)
    assert recent.add(1, "a") is True
    assert recent.add(1, "a") is False
    assert recent.add(1, "b") is True  # the generation is full: "a" and "b" are now previous
    assert recent.add(1, "a") is False
    assert recent.add(1, "c") is True
    assert recent.seen(1, "a") and recent.seen(1, "c")
