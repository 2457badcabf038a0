"""The one error a query can fail with: which part of the spec is wrong, and why."""

from __future__ import annotations

import re

import msgspec

# Where msgspec says an error is: `Expected X - at `$.a.b``.
_PATH = re.compile(r" - at `\$\.?(.*)`$")


class QueryError(ValueError):
    """A spec the query layer refuses; `str()` reads "field: reason" (e.g. "metrics[2]: …")."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class UnknownSite(QueryError):
    """No site by the name a query gives (`domain`, as given); a local tool says it in the
    command line's words, `no site DOMAIN`, as `export` and `import` do."""

    def __init__(self, domain: str) -> None:
        super().__init__("site", f"unknown site {domain!r}")
        self.domain = domain


def invalid_spec(exc: msgspec.ValidationError) -> QueryError:
    """msgspec's `Expected X - at `$.a.b`` as `a.b: expected X` (the body when it names none)."""
    message = str(exc)
    match = _PATH.search(message)
    field = (match.group(1) if match else "") or "body"
    reason = message[: match.start()] if match else message
    return QueryError(field, reason[:1].lower() + reason[1:])
