"""The few spellings DuckDB and ClickHouse disagree on, in one place.

Reports write their statements once, asking this module for each expression the engines spell
differently (bit operations on keys, epoch microseconds, percentiles, time zones, map lookups,
a prop read as a number), so the two dialects cannot drift apart report by report. The registry
(`registry.py`) holds the metrics' and dimensions' expressions; this module holds the building
blocks around them. It writes expression text only, from column names and parameter markers it
is given.
"""

from __future__ import annotations

from dataclasses import dataclass

from clycyo.prop_numbers import PATTERN

_VISIT_MASK = 16_777_215  # the low 24 bits of a visit id number the visit (identity/keys.py)


@dataclass(frozen=True)
class Dialect:
    name: str

    @property
    def clickhouse(self) -> bool:
        return self.name == "clickhouse"

    def bits(self, visit_id: str) -> str:
        """The 40 person bits a visit id carries (its visitor's, or an outside id's)."""
        return f"bitShiftRight({visit_id}, 24)" if self.clickhouse else f"({visit_id} >> 24)"

    def in_visit(self, visit_id: str) -> str:
        """Whether a visit id names a visit (not a person's "outside" id)."""
        if self.clickhouse:
            return f"bitAnd({visit_id}, {_VISIT_MASK}) != 0"
        return f"{visit_id} & {_VISIT_MASK} <> 0"

    def epoch_us(self, time: str) -> str:
        return f"toUnixTimestamp64Micro({time})" if self.clickhouse else f"epoch_us({time})"

    def from_epoch_us(self, value: str) -> str:
        if self.clickhouse:
            return f"fromUnixTimestamp64Micro(toInt64({value}), 'UTC')"
        return f"make_timestamp(({value})::BIGINT)"

    def local(self, time: str, zone: str) -> str:
        """A UTC time as the wall time of time zone `zone` (a parameter marker)."""
        if self.clickhouse:
            return f"toTimeZone({time}, {zone})"
        return f"(({time}) AT TIME ZONE 'UTC') AT TIME ZONE {zone}"

    def week(self, time: str) -> str:
        """The Monday that starts `time`'s week, as a time (in `time`'s zone)."""
        if self.clickhouse:
            return f"toDateTime64(toMonday({time}), 0, timezoneOf({time}))"
        return f"date_trunc('week', {time})"

    def weeks_between(self, first: str, second: str) -> str:
        """Whole weeks from one week start to another."""
        if self.clickhouse:
            return f"intDiv(dateDiff('day', {first}, {second}), 7)"
        return f"datediff('week', {first}, {second})"

    def prop(self, props: str, key: str) -> str:
        """A property's value, NULL when the event lacks it (ClickHouse's map gives '')."""
        if self.clickhouse:
            return f"if(mapContains({props}, {key}), {props}[{key}], NULL)"
        return f"{props}[{key}]"

    def matches(self, text: str, regex: str) -> str:
        """Whether `text` matches the regular expression `regex` (RE2 in both engines)."""
        return f"match({text}, {regex})" if self.clickhouse else f"regexp_matches({text}, {regex})"

    def prop_number(self, text: str) -> str:
        """A prop's text as a number by `prop_numbers`' rule, NULL when it is none. The text is
        read once: what the whole pattern does not match extracts as '', which no cast takes."""
        whole = f"'^{PATTERN}$'"
        if self.clickhouse:
            return f"toFloat64OrNull(extract({text}, {whole}))"
        return f"TRY_CAST(regexp_extract({text}, {whole}) AS DOUBLE)"

    def quantile(self, value: str, level: float) -> str:
        """The interpolated quantile (DuckDB's quantile_cont, ClickHouse's inclusive one)."""
        if self.clickhouse:
            return f"quantileExactInclusive({level})({value})"
        return f"quantile_cont({value}, {level})"

    def function(self, name: str) -> str:
        """Aggregate and string function names: arg_max, arg_min, starts_with."""
        if not self.clickhouse:
            return name
        return {"arg_max": "argMax", "arg_min": "argMin", "starts_with": "startsWith"}[name]

    def first_values(self, value: str, order: list[str], count: str) -> str:
        """The group's first `count` values, ordered by the `order` expressions."""
        if self.clickhouse:
            key = f"tuple({', '.join(order)})"
            return (
                f"arraySlice(arrayMap(x -> x.2, arraySort(x -> x.1,"
                f" groupArray(({key}, {value})))), 1, {count})"
            )
        return f"list({value} ORDER BY {', '.join(order)})[1:{count}]"


DUCKDB = Dialect("duckdb")
CLICKHOUSE = Dialect("clickhouse")


def of(name: str) -> Dialect:
    return CLICKHOUSE if name == "clickhouse" else DUCKDB
