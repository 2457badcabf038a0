"""The metrics-and-dimensions page says exactly what the registry holds."""

from __future__ import annotations

from pathlib import Path

from clycyo.query import catalog, registry

PAGE = Path(__file__).resolve().parents[2] / "docs" / "metrics-and-dimensions.md"


def test_the_page_matches_the_registry() -> None:
    assert PAGE.read_text() == catalog.markdown(), (
        "regenerate: python -m clycyo.query.catalog > docs/metrics-and-dimensions.md"
    )


def test_every_metric_and_dimension_has_both_dialects() -> None:
    for metric in registry.METRICS.values():
        for recipe in metric.recipes.values():
            assert set(recipe.final) == set(registry.DIALECTS), metric.name
            for partial in recipe.partials.values():
                assert set(partial.value) == set(registry.DIALECTS), metric.name
    for dimension in registry.DIMENSIONS.values():
        if isinstance(dimension.sql, dict):
            assert set(dimension.sql) == set(registry.DIALECTS), dimension.name
