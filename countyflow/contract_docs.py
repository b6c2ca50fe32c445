"""Generate `docs/datasets.md` from the dataset contracts, so the docs cannot drift from the code.

Regenerate with `uv run python -m countyflow.contract_docs`; a test fails when the
committed file is stale.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from schemas import CONTRACTS
from schemas.contract import COMMON_RULES, PERSONAL_COLUMNS, Column, Contract
from schemas.lookups import LOOKUPS

DOCS_PATH = Path(__file__).resolve().parents[1] / "docs" / "datasets.md"
REGENERATE = "uv run python -m countyflow.contract_docs"

_PERIOD_KINDS = {
    "school_year": "`YYYY` (school year from autumn YYYY)",
    "summer": "`YYYY-summer` (06-15 … 09-15)",
    "winter": "`YYYY-winter` (01-01 … 03-15)",
    "month": "`YYYY-MM` (calendar month)",
}


def _cell(text: object) -> str:
    """Markdown table cell text: pipes escaped, line breaks flattened."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return lines


def _code(values: Iterable[str]) -> str:
    return ", ".join(f"`{value}`" for value in values)


def _vocabulary(column: Column) -> str:
    if not column.vocabulary:
        return ""
    return "; ".join(f"`{canonical}` = {'/'.join(aliases)}" if aliases else f"`{canonical}`"
                     for canonical, aliases in column.vocabulary.items())


def _contract_section(contract: Contract) -> list[str]:
    kinds = ", ".join(_PERIOD_KINDS.get(kind.value, kind.value)
                      for kind in sorted(contract.period_kinds))
    lines = [
        f"## `{contract.dataset}` — {contract.title_zh} / {contract.title_en}",
        "",
        f"- **Grain:** {contract.grain}",
        f"- **Key:** {_code(contract.key)}",
        f"- **Periods:** {kinds}",
    ]
    if contract.lookups:
        lines.append(f"- **Checked against:** {_code(contract.lookups)}")
    if contract.hold_until:
        lines.append(f"- **Held until** `{contract.hold_until}` has arrived (status `waiting`)")
    if contract.depends_on:
        lines.append(f"- **Depends on:** {_code(contract.depends_on)}")
    if contract.doc:
        lines += ["", contract.doc]
    lines += ["", "### Columns", ""]
    lines += _table(
        ("column", "type", "required", "中文", "description", "aliases", "vocabulary"),
        (
            (f"`{c.name}`", c.type.value, "yes" if c.required else "no", c.label_zh,
             c.description_en, " / ".join(c.aliases), _vocabulary(c))
            for c in contract.columns
        ),
    )
    lines += ["", "### Rules", ""]
    if contract.rules:
        lines += _table(
            ("rule", "severity", "column", "needs", "中文", "English", "怎么改", "how to fix"),
            (
                (f"`{r.id}`", r.severity.value, f"`{r.column}`", _code(r.requires), r.message_zh,
                 r.message_en, r.fix_zh, r.fix_en)
                for r in contract.rules
            ),
        )
    else:
        lines.append("No dataset-specific rules.")
    return [*lines, ""]


def render_contract_docs() -> str:
    """The whole `docs/datasets.md` text, generated from `schemas.CONTRACTS`."""
    lines = [
        "# Datasets",
        "",
        f"<!-- Generated from schemas/ by `{REGENERATE}`; do not edit by hand. -->",
        "",
        "Every county submission belongs to one of these datasets. Headers may be the "
        "canonical name, the Chinese label or any alias; values are normalised as described "
        "in SPEC §3. Rules with severity `error` make a row invalid; `warning` rows load "
        "and are flagged in the clerk report. Rules that need a lookup are skipped when it "
        "is unavailable (e.g. `countyflow check`). Each rule's 怎么改 (how to fix) is the line "
        "the clerk report shows next to its issues.",
        "",
        "| dataset | 中文 | English | grain |",
        "|---|---|---|---|",
        *(f"| `{c.dataset}` | {_cell(c.title_zh)} | {_cell(c.title_en)} | "
          f"{_cell(c.grain)} |" for c in CONTRACTS.values()),
        "",
    ]
    for contract in CONTRACTS.values():
        lines += _contract_section(contract)
    lines += ["## Lookups", ""]
    lines += _table(
        ("lookup", "keys", "context columns", "default"),
        ((f"`{lookup.name}`", _code(lookup.keys), _code(lookup.columns),
          "reference data" if lookup.default else "")
         for lookup in LOOKUPS.values()),
    )
    lines += ["", "## Rules common to every dataset", ""]
    lines += _table(
        ("rule", "severity", "中文", "English", "怎么改", "how to fix"),
        ((f"`{rule}`", text.severity.value, text.message_zh, text.message_en, text.fix_zh,
          text.fix_en)
         for rule, text in COMMON_RULES.items()),
    )
    lines += [
        "", "## Personal data", "",
        "These columns may appear in any file. They are dropped right after reading and never "
        "reach frames, logs, reports or the warehouse.", "",
    ]
    lines += _table(
        ("column", "中文", "aliases"),
        ((f"`{c.name}`", c.label_zh, " / ".join(c.aliases)) for c in PERSONAL_COLUMNS),
    )
    return "\n".join(lines) + "\n"


def write_contract_docs(path: Path = DOCS_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_contract_docs(), encoding="utf-8")
    return path


if __name__ == "__main__":
    sys.stdout.write(f"wrote {write_contract_docs()}\n")
