"""The one error a query can fail with: which part of the spec is wrong, and why."""

from __future__ import annotations


class QueryError(ValueError):
    """A spec the query layer refuses; `str()` reads "field: reason" (e.g. "metrics[2]: …")."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
