"""The remembered Stripe links: people by customer, refunds by charge, and their erasure."""

from __future__ import annotations

from pathlib import Path

from clycyo.integrations.stripe_links import Person, StripeLinks


def test_people_are_found_by_any_linked_id_and_merged(tmp_path: Path) -> None:
    links = StripeLinks.in_folder(tmp_path)
    links.remember(1, ["cus_1", None, "sub_1"], Person(visitor_id="v1"))
    links.remember(1, ["cus_1"], Person(user_id="u1"))
    assert links.person(1, [None, "sub_x", "cus_1"]) == Person("u1", "v1")
    assert links.person(1, ["sub_1"]) == Person(None, "v1")
    assert not links.person(2, ["cus_1"])  # another site knows nothing of it
    links.remember(1, ["cus_2"], Person())  # an empty person links nothing
    assert not links.person(1, ["cus_2"])


def test_links_survive_a_reopen_and_are_erased_per_person(tmp_path: Path) -> None:
    links = StripeLinks.in_folder(tmp_path)
    links.remember(1, ["cus_1"], Person("u1", "v1"))
    links.remember(1, ["cus_2"], Person(None, "v2"))
    links.remember(1, ["cus_3"], Person("u3", None))
    links.remember(1, ["cus_4"], Person("u4", "v2"))  # v2 is a shared browser: u4's link stays
    links.close()
    reopened = StripeLinks.in_folder(tmp_path)
    assert reopened.forget_person(1, "u1", ["v2"]) == 2
    assert not reopened.person(1, ["cus_1"]) and not reopened.person(1, ["cus_2"])
    assert reopened.person(1, ["cus_3"]) == Person("u3", None)
    assert reopened.person(1, ["cus_4"]) == Person("u4", "v2")


def test_refund_deltas_are_idempotent(tmp_path: Path) -> None:
    links = StripeLinks.in_folder(tmp_path)
    links.record_refunds(1, "ch_1", [("re_1", 300)])
    assert links.refund_delta(1, "ch_1", 300) is None  # listed already
    assert links.refund_delta(1, "ch_1", 1000) == ("ch_1@1000", 700)
    assert links.refund_delta(1, "ch_1", 1000) == ("ch_1@1000", 700)  # a retry: the same again
    assert links.refund_delta(1, "ch_1", 800) is None  # an older, smaller total
    assert links.refund_delta(1, "ch_1", 1500) == ("ch_1@1500", 500)
