"""Server-side events from real framework requests, delivered to a real `clycyo serve`.

Each framework's own test client makes a request carrying the tracker's `clycyo_vid` cookie, a
browser's `User-Agent` and `Accept-Language`, and an `X-Forwarded-For` naming 8.8.8.8 (a United
States address). The handler calls `identify_request` with the request and `track_request` with
`None` (the request the Clycyo middleware holds), in sync mode, so both events are on the server
when the response comes back. The stored events must carry the cookie's visitor id and the user
id, and a country from the forwarded address only when the proxy that sent it is trusted.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import flask
import pytest
from django.test import Client as DjangoClient
from django.test import override_settings
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from clycyo_sdk import ASGIMiddleware, Client, WSGIMiddleware
from clycyo_sdk.client_ip import TrustedProxies
from tests.sdk import django_project
from tests.sdk.conftest import CHROME, ClientFactory
from tests.serverproc import Site

FORWARDED_FOR = "8.8.8.8"  # United States
PUBLIC_PEER = "81.2.69.142"  # Great Britain: a client that connects without a proxy in between

# (trusted proxies, the socket peer the framework sees, the country the events must carry)
TRUST = [
    # Nothing trusted: the header could be forged, so the peer's own address counts.
    pytest.param(None, PUBLIC_PEER, "GB", id="untrusted"),
    # One proxy hop in front of the application: the address it appended is the client.
    pytest.param(1, PUBLIC_PEER, "US", id="one-hop"),
    # The proxy's network is trusted and the request comes from it.
    pytest.param(["127.0.0.0/8"], "127.0.0.1", "US", id="proxy-network"),
    # A request from outside the trusted network: its header is ignored (loopback: no country).
    pytest.param(["10.0.0.0/8"], "127.0.0.1", None, id="other-network"),
]

Signup = Callable[[Client, TrustedProxies, str, str, str], dict[str, Any]]


def request_headers() -> dict[str, str]:
    return {
        "X-Forwarded-For": FORWARDED_FOR,
        "User-Agent": CHROME,
        "Accept-Language": "de-DE,de;q=0.9,en;q=0.8",
    }


def flask_signup(
    client: Client, trust: TrustedProxies, peer: str, visitor: str, user_id: str
) -> dict[str, Any]:
    app = flask.Flask(__name__)
    app.wsgi_app = WSGIMiddleware(app.wsgi_app, trusted_proxies=trust)  # type: ignore[method-assign]

    @app.post("/signup")
    def signup() -> dict[str, bool]:
        user = flask.request.form["user_id"]
        identified = client.identify_request(flask.request, user, traits={"plan": "pro"})
        tracked = client.track_request(None, "signup", user_id=user, props={"plan": "pro"})
        return {"identified": identified, "tracked": tracked}

    browser = app.test_client()
    browser.set_cookie("clycyo_vid", visitor)
    response = browser.post(
        "/signup",
        data={"user_id": user_id},
        headers=request_headers(),
        environ_base={"REMOTE_ADDR": peer},
    )
    assert response.status_code == 200, response.text
    return dict(response.get_json())


def django_signup(
    client: Client, trust: TrustedProxies, peer: str, visitor: str, user_id: str
) -> dict[str, Any]:
    django_project.configure()
    django_project.clycyo["client"] = client
    with override_settings(**django_project.settings_for(trust)):
        browser = DjangoClient(REMOTE_ADDR=peer)
        browser.cookies["clycyo_vid"] = visitor
        response = browser.post("/signup", {"user_id": user_id}, headers=request_headers())
    assert response.status_code == 200, response.content
    return dict(response.json())


def fastapi_signup(
    client: Client, trust: TrustedProxies, peer: str, visitor: str, user_id: str
) -> dict[str, Any]:
    app = FastAPI()
    app.add_middleware(ASGIMiddleware, trusted_proxies=trust)

    @app.post("/signup")
    async def signup(request: Request) -> dict[str, bool]:
        user = (await request.json())["user_id"]
        identified = client.identify_request(request, user, traits={"plan": "pro"})
        tracked = client.track_request(None, "signup", user_id=user, props={"plan": "pro"})
        return {"identified": identified, "tracked": tracked}

    with TestClient(app, client=(peer, 50_000), cookies={"clycyo_vid": visitor}) as browser:
        response = browser.post("/signup", json={"user_id": user_id}, headers=request_headers())
    assert response.status_code == 200, response.text
    return dict(response.json())


FRAMEWORKS = [
    pytest.param(flask_signup, id="flask"),
    pytest.param(django_signup, id="django"),
    pytest.param(fastapi_signup, id="fastapi"),
]


@pytest.mark.parametrize("signup", FRAMEWORKS)
@pytest.mark.parametrize(("trust", "peer", "country"), TRUST)
def test_identify_and_track_carry_the_visitor_user_and_trusted_country(
    server: Site,
    sync_client: ClientFactory,
    signup: Signup,
    trust: TrustedProxies,
    peer: str,
    country: str | None,
) -> None:
    visitor, user_id = uuid.uuid4().hex, f"user-{uuid.uuid4().hex[:8]}"
    client = sync_client(trusted_proxies=trust)

    answer = signup(client, trust, peer, visitor, user_id)

    # Sync mode: True means the collector has the event, so both are stored by now.
    assert answer == {"identified": True, "tracked": True}
    stored = {event["type"]: event for event in server.events()}
    assert set(stored) == {"identify", "event"}
    assert stored["event"]["name"] == "signup"
    traits = stored["identify"]["traits"]  # the events API returns traits as JSON text
    assert traits == {"plan": "pro"}
    for event in stored.values():
        assert (event["visitor_id"], event["user_id"]) == (visitor, user_id)
        assert event["origin"] == "server"
        assert event["country"] == country
        # The end user's browser and language, not the backend's HTTP library.
        assert (event["browser"], event["locale"]) == ("Chrome", "de-DE")
