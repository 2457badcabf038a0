"""The rule that fits foreign properties into Clycyo's flat props."""

from __future__ import annotations

from clycyo.collect import limits
from clycyo.collect.formats.shape import bounded_traits, checked, flat_props, instant
from clycyo.collect.ingest import Invalid
from clycyo.collect.wire import EventIn


def test_scalars_kept_nested_as_json_nulls_dropped() -> None:
    props = flat_props({"a": "x", "b": 1, "c": 1.5, "d": False, "e": None, "f": {"g": [1, 2]}})
    assert props == {"a": "x", "b": 1, "c": 1.5, "d": False, "f": '{"g":[1,2]}'}


def test_limits() -> None:
    long_text = "x" * (limits.MAX_PROP_VALUE_CHARS + 5)
    props = flat_props({"long": long_text, "deep": [long_text], "k" * 101: 1})
    assert props == {"long": long_text[: limits.MAX_PROP_VALUE_CHARS]}
    many = flat_props({f"k{i}": i for i in range(80)})
    assert list(many) == [f"k{i}" for i in range(limits.MAX_PROPS)]


def test_skips() -> None:
    props = flat_props(
        {"$lib": "web", "token": "t", "plan": "pro"}, skip=("token",), skip_prefix="$"
    )
    assert props == {"plan": "pro"}
    assert flat_props(["not", "an", "object"]) == {}


def test_traits_and_instants() -> None:
    assert bounded_traits({"email": "a@b.c", "gone": None}) == {"email": "a@b.c"}
    assert bounded_traits({}) is None
    assert instant(1_700_000_000_000) == 1_700_000_000_000
    assert instant("not a time") is None


def test_checked_names_the_broken_field() -> None:
    assert isinstance(checked({"name": "ok", "user_id": None}), EventIn)
    bad = checked({"name": "x" * 300})
    assert isinstance(bad, Invalid) and bad.error.startswith("name:")
