"""docs/marts.md is generated from the mart sidecars and must not go stale."""

from __future__ import annotations

from countyflow.mart_docs import DOCS_PATH, REGENERATE, render_mart_docs
from warehouse.marts import VIEWS


def test_mart_docs_are_up_to_date() -> None:
    committed = DOCS_PATH.read_text(encoding="utf-8") if DOCS_PATH.exists() else ""
    assert committed == render_mart_docs(), (
        f"{DOCS_PATH} is stale; regenerate it with `{REGENERATE}`"
    )


def test_mart_docs_cover_every_view_and_column() -> None:
    text = render_mart_docs()
    for name, view in VIEWS.items():
        assert f"### `{name}`" in text and f"(#{name})" in text
        for column in view.column_docs:
            assert f"| `{column.name}` | {column.type} |" in text
            assert column.zh in text
