"""Generate `docs/marts.md` from the mart sidecars (`warehouse/marts/*.toml`), so the
column docs BI users read cannot drift from the views and their comments.

Regenerate with `uv run python -m countyflow.mart_docs`; a test fails when the committed
file is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from countyflow.contract_docs import _cell, _table
from warehouse.marts import KINDS, VIEWS, Mart

DOCS_PATH = Path(__file__).resolve().parents[1] / "docs" / "marts.md"
REGENERATE = "uv run python -m countyflow.mart_docs"

_KIND_TITLES = {
    "mart": "Marts / 主题数据",
    "dimension": "Conformed dimensions / 公共维度",
    "reference": "Metric catalogue / 指标目录",
    "intermediate": "Intermediate views / 中间视图",
}
_ORDER = ("mart", "dimension", "reference", "intermediate")


def _section(view: Mart) -> list[str]:
    lines = [
        f"### `{view.name}`",
        "",
        f"**Grain / 粒度:** {view.grain} / {view.grain_zh}",
        "",
        view.doc,
        "",
        view.doc_zh,
        "",
    ]
    lines += _table(
        ("column", "type", "unit / 单位", "description", "说明"),
        ((f"`{c.name}`", c.type, f"{c.unit} / {c.unit_zh}" if c.unit else "", c.en, c.zh)
         for c in view.column_docs),
    )
    return [*lines, ""]


def render_mart_docs() -> str:
    """The whole `docs/marts.md` text, generated from `warehouse.marts.VIEWS`."""
    assert set(_ORDER) == set(KINDS)
    lines = [
        "# Marts for BI users / BI 主题数据",
        "",
        f"<!-- Generated from warehouse/marts/*.toml by `{REGENERATE}`; do not edit by hand. -->",
        "",
        "Views in schema `marts` on PostgreSQL (DuckDB: its one schema `main`), with the same "
        "names, columns and rows on both. Every view and column carries this text as its "
        "database comment (`COMMENT ON VIEW` / `COMMENT ON COLUMN`), which Superset, Metabase "
        "and SQL clients show. Dates are city dates (Asia/Shanghai) unless a column says UTC.",
        "",
        "| view | kind | grain | 粒度 |",
        "|---|---|---|---|",
    ]
    ordered = [v for kind in _ORDER for v in VIEWS.values() if v.kind == kind]
    lines += [f"| [`{v.name}`](#{v.name}) | {v.kind} | {_cell(v.grain)} | "
              f"{_cell(v.grain_zh)} |" for v in ordered]
    lines.append("")
    for kind in _ORDER:
        views = [v for v in ordered if v.kind == kind]
        if not views:
            continue
        lines += [f"## {_KIND_TITLES[kind]}", ""]
        for view in views:
            lines += _section(view)
    return "\n".join(lines).rstrip("\n") + "\n"


def write_mart_docs(path: Path = DOCS_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_mart_docs(), encoding="utf-8")
    return path


if __name__ == "__main__":
    sys.stdout.write(f"wrote {write_mart_docs()}\n")
