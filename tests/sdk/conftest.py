"""Fixtures of the SDK-against-the-server tests: clients delivering to a real `clycyo serve`.

Every test gets a fresh site on the shared server (the `server` fixture of `tests/conftest.py`)
and reads back what the server stored through `GET /api/v1/events`. This module must not start
or configure the server itself, and nothing here replaces the SDK's HTTP transport: the point of
these tests is the real wire between the two.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from clycyo_sdk import Client
from tests.integrations.conftest import StripeSite
from tests.serverproc import ServerProcess, Site

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)

ClientFactory = Callable[..., Client]


@pytest.fixture
def sync_client(server: Site) -> Iterator[ClientFactory]:
    """Make sync-mode clients for the test's site (or `site=`): each event call returns once the
    server has the event.

    Short retries and timeouts: on loopback a healthy server answers in milliseconds, and a test
    that waited out the default two minutes of retries would hide the failure it should report.
    """
    made: list[Client] = []

    def make(site: Site | None = None, **options: Any) -> Client:
        site = site or server
        client = Client(
            site.secret_key,
            host=site.url,
            sync_mode=True,
            max_retries=2,
            backoff_base_s=0.05,
            timeout_s=5.0,
            exit_flush_timeout_s=None,
            **options,
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.shutdown(timeout=1.0)


@pytest.fixture
def stripe_site(shared_server: ServerProcess) -> StripeSite:
    """A site with a Stripe signing secret, as `clycyo site add --stripe-signing-secret` makes."""
    signing_secret = "whsec_" + secrets.token_hex(16)
    site = shared_server.add_site(stripe_signing_secret=signing_secret)
    return StripeSite(site, signing_secret)
