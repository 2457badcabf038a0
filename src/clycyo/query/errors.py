"""The one error a query can fail with: which part of the spec is wrong, and why."""

from __future__ import annotations

import re

import msgspec
import msgspec.inspect as types

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


def invalid_spec(exc: msgspec.ValidationError, kind: type | None = None) -> QueryError:
    """msgspec's `Expected X - at `$.a.b`` as `a.b: expected X` (the body when it names none);
    a word the field does not take is answered with those it takes, read from `kind`."""
    message = str(exc)
    match = _PATH.search(message)
    field = (match.group(1) if match else "") or "body"
    reason = message[: match.start()] if match else message
    reason = reason[:1].lower() + reason[1:]
    if kind is not None and reason.startswith("invalid enum value"):
        words = _words(kind, field)
        if words:
            reason += f" (one of {', '.join(repr(w) for w in words)})"
    return QueryError(field, reason)


def _words(kind: type, field: str) -> list[object]:
    """The literal values the struct field at dotted path `field` of `kind` takes."""
    info: types.Type = types.type_info(kind)
    for name in field.split("."):
        struct = next((t for t in _members(info) if isinstance(t, types.StructType)), None)
        found = (
            None
            if struct is None
            else next((f.type for f in struct.fields if f.encode_name == name), None)
        )
        if found is None:
            return []
        info = found
    return [v for t in _members(info) if isinstance(t, types.LiteralType) for v in t.values]


def _members(info: types.Type) -> tuple[types.Type, ...]:
    return info.types if isinstance(info, types.UnionType) else (info,)
