"""Carrying the visitor into Stripe Checkout, so that the payment joins the visitor's timeline.

The collector's Stripe webhook finds the person from the Checkout Session's
`client_reference_id` or `metadata.clycyo_visitor_id` / `metadata.clycyo_user_id` (CONTRACT §7).
Metadata is also copied onto the subscription or payment intent, because later invoices and
refunds carry theirs, not the session's. This module builds parameters; it never calls Stripe.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from clycyo_sdk.client_ip import ProxyTrust
from clycyo_sdk.request_context import VISITOR_COOKIE, read_request

# Where the metadata goes in each Checkout mode: Stripe refuses the other modes' keys.
_MODE_KEYS = {
    "payment": ("payment_intent_data",),
    "subscription": ("subscription_data",),
    "setup": ("setup_intent_data",),
    None: ("subscription_data", "payment_intent_data"),
}
_MAX_REFERENCE_CHARS = 200  # Stripe's limit for client_reference_id


def checkout_reference(
    request_or_visitor_id: object = None,
    *,
    user_id: str | int | None = None,
    visitor_id: str | None = None,
    mode: str | None = None,
    visitor_cookie: str = VISITOR_COOKIE,
) -> dict[str, Any]:
    """Keyword arguments to merge into `stripe.checkout.Session.create(...)`.

    The first argument is a request (the visitor id comes from its cookie), a RequestContext or
    the visitor id itself. Pass `mode` ("payment", "subscription" or "setup") to get only the
    keys that mode accepts; without it both `subscription_data` and `payment_intent_data` are
    returned, for you to pick from. Returns {} when neither a visitor nor a user is known.
    """
    if mode not in _MODE_KEYS:
        raise ValueError("mode must be 'payment', 'subscription', 'setup' or None")
    if visitor_id is None and request_or_visitor_id is not None:
        if isinstance(request_or_visitor_id, str):
            visitor_id = request_or_visitor_id or None
        else:
            visitor_id = read_request(request_or_visitor_id, _NO_PROXIES, visitor_cookie).visitor_id
    user = None if user_id is None else str(user_id)
    metadata = {}
    if visitor_id:
        metadata["clycyo_visitor_id"] = visitor_id
    if user:
        metadata["clycyo_user_id"] = user
    if not metadata:
        return {}
    params: dict[str, Any] = {"metadata": dict(metadata)}
    reference = user or visitor_id
    if reference and len(reference) <= _MAX_REFERENCE_CHARS:
        params["client_reference_id"] = reference
    for key in _MODE_KEYS[mode]:
        params[key] = {"metadata": dict(metadata)}
    return params


def with_checkout_reference(
    params: Mapping[str, Any],
    request_or_visitor_id: object = None,
    *,
    user_id: str | int | None = None,
    visitor_id: str | None = None,
    visitor_cookie: str = VISITOR_COOKIE,
) -> dict[str, Any]:
    """A copy of your Checkout Session parameters with the reference merged in.

    The mode is read from `params["mode"]`; metadata you set yourself is kept (on the same key
    yours wins), and so is a `client_reference_id` you set.
    """
    merged = copy.deepcopy(dict(params))
    reference = checkout_reference(
        request_or_visitor_id,
        user_id=user_id,
        visitor_id=visitor_id,
        mode=merged.get("mode", "payment"),
        visitor_cookie=visitor_cookie,
    )
    for key, value in reference.items():
        if key == "client_reference_id":
            merged.setdefault(key, value)
        elif key == "metadata":
            merged[key] = {**value, **merged.get(key, {})}
        else:
            section = merged.setdefault(key, {})
            section["metadata"] = {**value["metadata"], **section.get("metadata", {})}
    return merged


_NO_PROXIES = ProxyTrust()  # only the cookie is read here; the IP does not matter
