"""The Stripe Checkout hand-off: the visitor and user travel in the session's parameters."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from clycyo_sdk import RequestContext, checkout_reference, with_checkout_reference

META = {"clycyo_visitor_id": "v_1", "clycyo_user_id": "u_1"}


def test_all_keys_without_a_mode() -> None:
    assert checkout_reference("v_1", user_id="u_1") == {
        "client_reference_id": "u_1",
        "metadata": META,
        "subscription_data": {"metadata": META},
        "payment_intent_data": {"metadata": META},
    }


@pytest.mark.parametrize(
    ("mode", "key", "absent"),
    [
        ("subscription", "subscription_data", "payment_intent_data"),
        ("payment", "payment_intent_data", "subscription_data"),
        ("setup", "setup_intent_data", "payment_intent_data"),
    ],
)
def test_a_mode_gets_only_the_keys_stripe_accepts_for_it(mode: str, key: str, absent: str) -> None:
    params = checkout_reference("v_1", user_id="u_1", mode=mode)
    assert params[key] == {"metadata": META}
    assert absent not in params


def test_the_visitor_comes_from_the_request_cookie() -> None:
    request = SimpleNamespace(META={"REQUEST_METHOD": "POST", "HTTP_COOKIE": "clycyo_vid=v_c"})
    params = checkout_reference(request, mode="payment")
    assert params["client_reference_id"] == "v_c"  # no user yet: the visitor is the reference
    assert params["metadata"] == {"clycyo_visitor_id": "v_c"}


def test_explicit_visitor_id_and_request_context() -> None:
    assert checkout_reference(visitor_id="v_k")["metadata"] == {"clycyo_visitor_id": "v_k"}
    found = RequestContext(visitor_id="v_r")
    assert checkout_reference(found)["metadata"] == {"clycyo_visitor_id": "v_r"}


def test_a_user_alone_and_an_int_user_id() -> None:
    params = checkout_reference(user_id=42, mode="subscription")
    assert params["client_reference_id"] == "42"
    assert params["metadata"] == {"clycyo_user_id": "42"}


def test_nothing_known_gives_nothing_to_merge() -> None:
    assert checkout_reference() == {}
    assert checkout_reference({"REQUEST_METHOD": "GET"}) == {}


def test_a_bad_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="mode"):
        checkout_reference("v", mode="subscriptions")


def test_with_checkout_reference_merges_into_existing_parameters() -> None:
    params = {
        "mode": "subscription",
        "line_items": [{"price": "price_1", "quantity": 1}],
        "metadata": {"cart": "c_9", "clycyo_user_id": "mine"},
        "subscription_data": {"trial_period_days": 7},
    }
    merged = with_checkout_reference(params, "v_1", user_id="u_1")
    assert merged["metadata"] == {
        "clycyo_visitor_id": "v_1",
        "clycyo_user_id": "mine",
        "cart": "c_9",
    }
    assert merged["subscription_data"] == {"trial_period_days": 7, "metadata": META}
    assert "payment_intent_data" not in merged
    assert merged["client_reference_id"] == "u_1"
    assert params["subscription_data"] == {"trial_period_days": 7}  # the input is untouched
