"""clycyo-sdk: send server-side events to Clycyo without slowing the application down.

    import clycyo_sdk
    clycyo_sdk.init("sk_...", host="https://stats.example.com")
    clycyo_sdk.track("invoice.paid", user_id="u_42", revenue=("49.00", "EUR"), order_id="in_1")

This module only gathers the public names; each lives in the module that is responsible for it.
"""

from clycyo_sdk.checkout import checkout_reference, with_checkout_reference
from clycyo_sdk.client import DEFAULT_HOST, Client
from clycyo_sdk.default_client import flush, get_client, identify, init, page, shutdown, track
from clycyo_sdk.events import Revenue
from clycyo_sdk.middleware import (
    ASGIMiddleware,
    DjangoMiddleware,
    WSGIMiddleware,
    current_request_context,
)
from clycyo_sdk.request_context import VISITOR_COOKIE, RequestContext, request_context
from clycyo_sdk.retry import RetryPolicy
from clycyo_sdk.stats import DeliveryError
from clycyo_sdk.transport import HTTPTransport, Response, Transport
from clycyo_sdk.version import VERSION

__version__ = VERSION

__all__ = [
    "DEFAULT_HOST",
    "VERSION",
    "VISITOR_COOKIE",
    "ASGIMiddleware",
    "Client",
    "DeliveryError",
    "DjangoMiddleware",
    "HTTPTransport",
    "RequestContext",
    "Response",
    "RetryPolicy",
    "Revenue",
    "Transport",
    "WSGIMiddleware",
    "__version__",
    "checkout_reference",
    "current_request_context",
    "flush",
    "get_client",
    "identify",
    "init",
    "page",
    "request_context",
    "shutdown",
    "track",
    "with_checkout_reference",
]
