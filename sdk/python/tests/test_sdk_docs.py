"""Every option and public name is documented in docs/sdk.md (when the repository is there)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import clycyo_sdk
from clycyo_sdk import Client

DOC = Path(__file__).resolve().parents[3] / "docs" / "sdk.md"


@pytest.fixture(scope="module")
def doc() -> str:
    if not DOC.exists():
        pytest.skip("docs/sdk.md is not beside this checkout of the SDK")
    return DOC.read_text(encoding="utf-8")


def test_every_client_option_is_in_the_options_table(doc: str) -> None:
    options = [name for name in inspect.signature(Client).parameters if name != "self"]
    missing = [name for name in options if f"| `{name}` |" not in doc]
    assert missing == []


def test_every_public_name_is_mentioned(doc: str) -> None:
    missing = [name for name in clycyo_sdk.__all__ if not name.startswith("_") and name not in doc]
    assert missing == []
