"""Reading the visitor from requests of every shape, and the end user's IP behind proxies."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import SimpleNamespace
from typing import Any

import pytest

from clycyo_sdk import RequestContext, request_context
from clycyo_sdk.client_ip import ProxyTrust, normalize_ip
from clycyo_sdk.request_context import cookie_value
from clycyo_sdk.testing import InMemoryTransport
from sdk_doubles import MakeClient

COOKIE = "theme=dark; clycyo_vid=v_123abc; other=1"
UA = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"


def environ(**extra: str) -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/signup",
        "REMOTE_ADDR": "10.0.0.2",
        "HTTP_COOKIE": COOKIE,
        "HTTP_USER_AGENT": UA,
        "HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9,en;q=0.8",
        "wsgi.version": (1, 0),
    }
    env.update(extra)
    return env


def scope(
    *headers: tuple[bytes, bytes], client: tuple[str, int] | None = ("10.0.0.2", 5000)
) -> dict[str, Any]:
    base = [(b"cookie", COOKIE.encode()), (b"user-agent", UA.encode())]
    return {"type": "http", "headers": base + list(headers), "client": client}


EXPECTED = RequestContext(visitor_id="v_123abc", ip="10.0.0.2", user_agent=UA, locale="de-DE")


def test_wsgi_environ() -> None:
    assert request_context(environ()) == EXPECTED


def test_asgi_scope() -> None:
    found = request_context(scope((b"accept-language", b"de-DE")))
    assert found == EXPECTED


def test_django_like_request() -> None:
    django = SimpleNamespace(META=environ(), COOKIES={"clycyo_vid": "v_123abc"})
    assert request_context(django) == EXPECTED


def test_flask_like_request() -> None:
    flask = SimpleNamespace(environ=environ(), headers={}, remote_addr="10.0.0.2")
    assert request_context(flask) == EXPECTED


def test_starlette_like_request() -> None:
    starlette = SimpleNamespace(scope=scope((b"accept-language", b"de-DE")), headers={})
    assert request_context(starlette) == EXPECTED


def test_starlette_requests_are_mappings_over_their_scope_too() -> None:
    class MappingRequest(Mapping[str, Any]):
        def __init__(self, scope: dict[str, Any]) -> None:
            self.scope = scope

        def __getitem__(self, key: str) -> Any:
            return self.scope[key]

        def __iter__(self) -> Iterator[str]:
            return iter(self.scope)

        def __len__(self) -> int:
            return len(self.scope)

    found = request_context(MappingRequest(scope((b"accept-language", b"de-DE"))))
    assert found == EXPECTED


def test_anything_with_headers_and_a_remote_address() -> None:
    class Headers(dict[str, str]):
        def get(self, key: str, default: Any = None) -> Any:  # case-insensitive, as frameworks
            return {k.lower(): v for k, v in self.items()}.get(key.lower(), default)

    generic = SimpleNamespace(
        headers=Headers({"Cookie": COOKIE, "User-Agent": UA, "Accept-Language": "de-DE"}),
        remote="10.0.0.2",
    )
    assert request_context(generic) == EXPECTED


def test_an_unknown_object_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="int"):
        request_context(42)


def test_a_request_without_anything_gives_an_empty_context() -> None:
    assert request_context({"type": "http", "headers": []}) == RequestContext()
    assert request_context({"REQUEST_METHOD": "GET"}) == RequestContext()


def test_asgi_joins_repeated_headers() -> None:
    found = request_context(
        {
            "type": "http",
            "headers": [(b"cookie", b"a=1"), (b"cookie", b"clycyo_vid=v2")],
            "client": None,
        }
    )
    assert found.visitor_id == "v2"
    assert found.ip is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("clycyo_vid=abc", "abc"),
        ('clycyo_vid="abc"', "abc"),
        ("x=1;clycyo_vid=abc-DEF_123.4", "abc-DEF_123.4"),
        ("broken; ;=; clycyo_vid=abc", "abc"),
        ("not_clycyo_vid=abc", None),
        ("clycyo_vid=", None),
        ("clycyo_vid=<script>", None),
        ("clycyo_vid=" + "a" * 201, None),
        ("", None),
    ],
)
def test_cookie_value(header: str, expected: str | None) -> None:
    assert cookie_value(header, "clycyo_vid") == expected


def test_a_custom_cookie_name() -> None:
    env = environ(HTTP_COOKIE="vid=mine")
    assert request_context(env, visitor_cookie="vid").visitor_id == "mine"


@pytest.mark.parametrize(
    ("accept_language", "locale"),
    [("en-US,en;q=0.5", "en-US"), ("*", None), ("", None), ("fr;q=0.8", "fr")],
)
def test_locale_is_the_first_language(accept_language: str, locale: str | None) -> None:
    assert request_context(environ(HTTP_ACCEPT_LANGUAGE=accept_language)).locale == locale


def test_a_long_user_agent_is_cut_to_the_collector_limit() -> None:
    assert len(request_context(environ(HTTP_USER_AGENT="x" * 5000)).user_agent or "") == 2000


# -- the end user's IP ----------------------------------------------------------------------


def test_forwarding_headers_are_ignored_unless_trusted() -> None:
    env = environ(HTTP_X_FORWARDED_FOR="6.6.6.6", HTTP_X_REAL_IP="6.6.6.6")
    assert request_context(env).ip == "10.0.0.2"


def test_trusted_hops_take_the_address_their_proxies_wrote() -> None:
    # The client forged "6.6.6.6"; our one proxy appended the address it really saw.
    env = environ(HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    assert request_context(env, trusted_proxies=1).ip == "203.0.113.7"
    two = environ(HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7, 10.0.0.9")
    assert request_context(two, trusted_proxies=2).ip == "203.0.113.7"
    # Fewer entries than hops: the request did not pass our proxies as configured.
    assert request_context(environ(HTTP_X_FORWARDED_FOR="1.1.1.1"), trusted_proxies=2).ip == (
        "10.0.0.2"
    )


def test_trusted_networks_skip_our_own_proxies() -> None:
    networks = ["10.0.0.0/8", "fd00::/8"]
    env = environ(HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7, 10.1.2.3")
    assert request_context(env, trusted_proxies=networks).ip == "203.0.113.7"
    # A peer outside the trusted networks is the client itself, whatever it claims.
    direct = environ(REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert request_context(direct, trusted_proxies=networks).ip == "198.51.100.1"
    # Only proxies all the way: the leftmost entry.
    inner = environ(HTTP_X_FORWARDED_FOR="10.9.9.9, 10.1.1.1")
    assert request_context(inner, trusted_proxies=networks).ip == "10.9.9.9"


def test_the_forwarded_header_when_configured() -> None:
    env = environ(HTTP_FORWARDED='for=6.6.6.6, for="[2001:db8::7]:4711";proto=https')
    found = request_context(env, trusted_proxies=1, proxy_header="Forwarded")
    assert found.ip == "2001:db8::7"
    # Configured for Forwarded, a forged X-Forwarded-For is not read at all.
    forged = environ(HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert request_context(forged, trusted_proxies=1, proxy_header="forwarded").ip == "10.0.0.2"


def test_x_real_ip_when_configured() -> None:
    env = environ(HTTP_X_REAL_IP="203.0.113.7")
    assert request_context(env, trusted_proxies=1, proxy_header="x-real-ip").ip == "203.0.113.7"


def test_asgi_forwarded_for() -> None:
    found = request_context(
        scope((b"x-forwarded-for", b"203.0.113.7")), trusted_proxies=["10.0.0.0/8"]
    )
    assert found.ip == "203.0.113.7"


@pytest.mark.parametrize(
    ("raw", "ip"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7:8080 ", "203.0.113.7"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("unknown", None),
        ("_hidden", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_ip(raw: str | None, ip: str | None) -> None:
    assert normalize_ip(raw) == ip


def test_garbage_in_the_chain_is_not_forwarded() -> None:
    trust = ProxyTrust(1)
    assert trust.client_ip("10.0.0.2", {"x-forwarded-for": "not-an-ip"}) is None


def test_bad_trust_settings() -> None:
    with pytest.raises(ValueError, match="networks"):
        ProxyTrust("10.0.0.0/8")
    with pytest.raises(ValueError, match=">= 0"):
        ProxyTrust(-1)
    with pytest.raises(ValueError, match=r"does not appear|network"):
        ProxyTrust(["not a network"])


# -- one call in a signup handler ----------------------------------------------------------


def test_identify_request_and_track_request_fill_visitor_and_context(
    make_client: MakeClient, transport: InMemoryTransport
) -> None:
    client = make_client(trusted_proxies=1)
    env = environ(HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert client.identify_request(env, "u_42", traits={"plan": "pro"})
    assert client.track_request(env, "signup", user_id="u_42", props={"plan": "pro"})
    assert client.track_request(env, "override", visitor_id="v_explicit")
    assert client.flush(5)
    identify, signup, override = transport.events
    context = {"ip": "203.0.113.7", "user_agent": UA, "locale": "de-DE"}
    assert identify["visitor_id"] == "v_123abc"
    assert identify["user_id"] == "u_42"
    assert identify["traits"] == {"plan": "pro"}
    assert identify["context"] == context
    assert signup["visitor_id"] == "v_123abc"
    assert signup["context"] == context
    assert override["visitor_id"] == "v_explicit"


def test_an_unreadable_request_still_sends_the_event(
    make_client: MakeClient, transport: InMemoryTransport
) -> None:
    client = make_client()
    assert client.track_request(object(), "signup", user_id="u")
    assert client.flush(5)
    assert transport.events[0]["user_id"] == "u"
    assert "context" not in transport.events[0]
