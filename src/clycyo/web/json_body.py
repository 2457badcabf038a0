"""The JSON object a read or settings API takes as its body (the query API, the annotations API),
read so that no body answers a 500: too large, not JSON, nested past the reader's depth (`[[[[…`
fits in a few kilobytes), not an object, or holding a text that is not Unicode (a lone
surrogate escape such as `"\\ud800"`, which no answer quoting it, nor SQLite, can hold) are each
refused naming the field and the reason. The collect API reads its events with its own decoder
(`collect/wire.py`).
"""

from __future__ import annotations

import json
from typing import Any

from clycyo.config.site_rows import is_unicode


class BodyError(ValueError):
    """A body that is no JSON object one can work with; `str()` reads "field: reason"."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def json_object(raw: bytes, max_bytes: int) -> dict[str, Any]:
    if len(raw) > max_bytes:
        raise BodyError("body", f"larger than {max_bytes} bytes")
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        raise BodyError("body", "not valid JSON") from None
    except RecursionError:
        raise BodyError("body", "JSON nested too deeply") from None
    if not isinstance(body, dict):
        raise BodyError("body", "expected a JSON object")
    field = _not_unicode(body)
    if field is not None:
        raise BodyError(field, "not valid Unicode text (a lone surrogate such as \\ud800)")
    return body


def _not_unicode(body: dict[str, Any]) -> str | None:
    """Where the first key or text holding a lone surrogate is (`filters[0][2][0]`), if any.
    Walked with a list, not by recursion: the body may be nested nearly as deep as the reader
    allows."""
    waiting: list[tuple[str, Any]] = [("", body)]
    while waiting:
        path, value = waiting.pop()
        if isinstance(value, str):
            if not is_unicode(value):
                return path or "body"
        elif isinstance(value, dict):
            for key, item in value.items():
                if not is_unicode(key):
                    return path or "body"
                waiting.append((f"{path}.{key}" if path else key, item))
        elif isinstance(value, list):
            waiting.extend((f"{path}[{i}]", item) for i, item in enumerate(value))
    return None
