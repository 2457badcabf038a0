"""A filter's values reach both engines as written: a backslash, a tab, a newline or a quote in
an `is` value or a `matches` expression means the same on DuckDB and on ClickHouse, whose query
parameters would otherwise read backslash escapes (and refuse a raw tab)."""

from __future__ import annotations

from tests.small_world import SmallWorld

PAGES = ("/a.b", "/axb", "/c\\d", "/e\tf", "/it's")


def test_filter_values_are_matched_verbatim(world: SmallWorld) -> None:
    world.send(*(world.pageview(f"v{i}", 60 + i, page) for i, page in enumerate(PAGES)))

    def pages(operator: str, *values: str) -> set[str]:
        rows = world.breakdown(
            "event:page", "pageviews", filters=[[operator, "event:page", list(values)]]
        )
        return set(rows)

    assert pages("matches", r"^/a\.b$") == {"/a.b"}
    assert pages("matches", r"^/a.b$") == {"/a.b", "/axb"}
    assert pages("matches", r"\\") == {"/c\\d"}
    assert pages("matches", r"\t") == {"/e\tf"}
    assert pages("is", "/c\\d", "/it's") == {"/c\\d", "/it's"}
    assert pages("is", "/e\tf") == {"/e\tf"}
    assert pages("contains", "\\") == {"/c\\d"}
