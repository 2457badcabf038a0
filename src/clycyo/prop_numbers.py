"""When a prop's text is a number: the one rule every reader of a numeric prop follows.

Props are stored as text; `pipeline/minimize.py` writes a JSON number as Python's `str` of it
(`50`, `12.5`, `1e+16`), and a backend may send any text. A prop is a number when its text is
written as JSON writes one: an optional minus, digits, an optional fraction, an optional
exponent, and nothing around them. ` 50`, `1_0`, `0x10`, `+5`, `.5`, `5.`, `nan`, `inf` and the
empty text are none, whatever Python's `float` or an engine's cast would make of them (DuckDB's
cast takes spaces and underscores as Python does, ClickHouse's `toFloat64OrNull` neither), so
the writer's narrow copies, a visit's engaged time and the reports that read the events' props
on either engine agree. A number too large for a double (`1e400`) is infinite here and may be
NULL in an engine: each reader's range leaves both out.

This module holds the rule (`PATTERN`, RE2 and Python `re` alike) and its Python reading;
`query/dialect.py` writes it in SQL. What range a number must be in is its reader's.
"""

from __future__ import annotations

import re

# No backslash and no quote, so it goes into either engine's SQL as a plain literal.
PATTERN = "-?[0-9]+(?:[.][0-9]+)?(?:[eE][-+]?[0-9]+)?"
_NUMBER = re.compile(PATTERN)


def prop_number(value: object) -> float | None:
    """A prop's value as a number by the rule above; None when it is none (or absent)."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    if _NUMBER.fullmatch(text) is None:
        return None
    return float(text)
