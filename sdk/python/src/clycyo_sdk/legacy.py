"""Former names of public parameters, still accepted for a while with a `DeprecationWarning`.

A former name is a keyword-only parameter whose default is `UNSET`, so that a call naming it can
be told from one that does not. This module only maps an old spelling onto the new one: it holds
no option's meaning or default.
"""

from __future__ import annotations

import enum
import warnings
from typing import TypeVar, Union

T = TypeVar("T")


class Unset(enum.Enum):
    UNSET = "unset"


UNSET = Unset.UNSET
Legacy = Union[T, Unset]  # a value given under a former name, or UNSET


def resolve_timeout(
    method: str, timeout: float | None, timeout_s: Legacy[float | None], default: float
) -> float | None:
    """The deadline of `flush()` or `shutdown()` in seconds: `timeout`, or `timeout_s` (its
    former name) with a warning. Naming both, with different values, is a TypeError."""
    if timeout_s is UNSET:
        return timeout
    if timeout not in (default, timeout_s):
        raise TypeError(f"{method}() got both timeout and timeout_s; give timeout only")
    warnings.warn(
        f"{method}(timeout_s=...) is deprecated; use {method}(timeout=...)",
        DeprecationWarning,
        stacklevel=3,
    )
    return timeout_s
