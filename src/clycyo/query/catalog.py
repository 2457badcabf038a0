"""`docs/metrics-and-dimensions.md`, generated from the registry (a test keeps the page in step).

python -m clycyo.query.catalog > docs/metrics-and-dimensions.md
"""

from __future__ import annotations

from clycyo.query import registry

_BASES = {
    "visits": "visits",
    "events": "events",
    "ledger": "ledger",
    "page_visitors": "pageviews and engagement reports",
}
_HEAD = """# Metrics and dimensions

Generated from `src/clycyo/query/registry.py` by `python -m clycyo.query.catalog`; a test fails
when this page and the registry differ. How they are computed: [query-api.md](query-api.md);
persons, visits and attribution: [identity.md](identity.md); money: [revenue.md](revenue.md).
"""


def markdown() -> str:
    lines = [
        _HEAD,
        "## Metrics",
        "",
        "| metric | unit | computed from | meaning |",
        "|---|---|---|---|",
    ]
    for metric in registry.METRICS.values():
        bases = ", ".join(_BASES[b] for b in metric.recipes) or "conversions and visitors"
        lines.append(f"| `{metric.name}` | {metric.unit} | {bases} | {metric.description} |")
    ratios = ", ".join(f"`{m.name}`" for m in registry.METRICS.values() if m.ratio)
    lines += ["", f"Ratios ({ratios}) are `null` where there is nothing to divide; counts are 0."]
    lines += ["", "## Dimensions", ""]
    lines += [
        "Every dimension but `time:*` can also filter (`is`, `is_not`, `contains`, `contains_not`,",
        "`matches`, `matches_not`). A missing value is reported, and matched, as `(none)`: an",
        "event outside any visit (a server event of a person never seen in a browser) has no",
        "`visit:*` value, and a person with no visit no `first_touch:*` or `last_touch:*` one, so",
        "`is (none)` keeps what the `(none)` row counts and `is_not` keeps such events.",
        "",
        "| dimension | level | meaning |",
        "|---|---|---|",
    ]
    for dimension in registry.DIMENSIONS.values():
        name = dimension.name + ("KEY" if dimension.parameter else "")
        lines.append(f"| `{name}` | {dimension.level} | {dimension.description} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
