"""A one-view Django project for the framework tests, configured once per test process.

Django's settings are process-wide, so the test changes `CLYCYO_TRUSTED_PROXIES` with
`override_settings` and a fresh test `Client`, whose handler builds the middleware anew.
"""

from __future__ import annotations

from typing import Any

import django
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import path

from clycyo_sdk import Client

# The SDK client the view reports to; each test sets its own.
clycyo: dict[str, Client] = {}


def signup(request: HttpRequest) -> JsonResponse:
    client = clycyo["client"]
    user_id = request.POST["user_id"]
    identified = client.identify_request(request, user_id, traits={"plan": "pro"})
    # None: the request the Clycyo middleware is handling.
    tracked = client.track_request(None, "signup", user_id=user_id, props={"plan": "pro"})
    return JsonResponse({"identified": identified, "tracked": tracked})


urlpatterns = [path("signup", signup)]


def configure() -> None:
    if settings.configured:
        return
    settings.configure(
        DEBUG=False,
        ALLOWED_HOSTS=["testserver"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=["clycyo_sdk.DjangoMiddleware"],
        INSTALLED_APPS=[],
        SECRET_KEY="only-for-tests",
        USE_TZ=True,
    )
    django.setup()


def settings_for(trusted_proxies: Any) -> dict[str, Any]:
    return {"CLYCYO_TRUSTED_PROXIES": trusted_proxies}
