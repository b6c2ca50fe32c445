"""Generate `docs/datasets.md` from the dataset contracts, so the docs cannot drift from the code.

Regenerate with `uv run python -m countyflow.contract_docs`; a test fails when the
committed file is stale.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from countyflow.ingest.readers.headers import HEADER_SEARCH_ROWS
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


def _layouts_section() -> list[str]:
    """How county forms may be laid out (SPEC §3.1), for clerks, in Chinese and English."""
    rows = HEADER_SEARCH_ROWS
    return [
        "## 表格格式 / Accepted layouts",
        "",
        "按各县平时在 Excel 或 WPS 里的填法填写即可，下列格式都能正确读取；检查报告（clerk report）"
        "会写明读了哪个工作表、哪几行是表头、跳过了什么、为什么。",
        "Fill in the form the way county offices usually do in Excel or WPS: all of the layouts "
        "below are read correctly, and the clerk report says which sheet and header rows were "
        "read and what was skipped, and why.",
        "",
        *_table(
            ("格式", "怎么读", "layout", "how it is read"),
            (
                ("多个工作表", "读取表头与本数据集相符的工作表；“填表说明”“说明”等说明页、隐藏的工作表跳过；"
                 "每个未读取的工作表都会在报告中列出（空白工作表除外）",
                 "several sheets", "the sheet whose header matches the dataset is read; "
                 "instruction sheets (`填表说明`, `说明`) and hidden sheets are skipped; every sheet "
                 "not read is named in a warning (empty sheets excepted)"),
                ("按月分表", "月报（`YYYY-MM`）读取本月的工作表（`6月`、`六月`、`2025年6月`、`2025-06`、"
                 "`Jun`）；每日到托情况读取本假期内各月的工作表并合并；找不到本月工作表、或无法确定读哪一个，"
                 "整份退回并列出工作表名",
                 "one sheet per month", "a monthly dataset reads the sheet of the period's month "
                 "(`6月`, `六月`, `2025年6月`, `2025-06`, `Jun`); daily attendance reads every month "
                 "sheet inside the season together; no sheet for the month, or two the period "
                 "cannot decide between, rejects the file naming the sheets"),
                ("表头上方的标题、填报单位、卫统表头", f"表头可在前 {rows} 行内任意位置，取与本数据集列名最相符的行",
                 "titles, 填报单位 lines, the 卫统 block above the table",
                 f"the header may start anywhere in the first {rows} rows: the row(s) best "
                 "matching the dataset's column names"),
                ("多行表头（最多 3 行）", "跨列合并的上级表头与下级合并成一个列名：`其中` 下的 `留守儿童数 | "
                 "搬迁群众子女数` 各自成列；`在校生数` 下的 `合计` 即在校生数，`其中：女` 记作"
                 "“在校生数（其中：女）”，本数据集不需要的列忽略并提示；表头下的列号行（甲 乙 1 2 3）不是数据",
                 "headers of up to 3 rows", "a parent merged across columns combines with its "
                 "leaves: `留守儿童数 | 搬迁群众子女数` under `其中` are columns of their own; `合计` "
                 "under `在校生数` is 在校生数, `其中：女` becomes 在校生数（其中：女） and, unknown to the "
                 "dataset, is ignored with a warning; a row of column numbers (甲 乙 1 2 3) under "
                 "the header is not data"),
                ("合并单元格", "县区、乡镇、学校、托管点、机构等向下合并的单元格，对其覆盖的每一行都有效",
                 "merged cells", "a county, township, school, site or facility written once in a "
                 "cell merged down holds for every row it spans"),
                ("合计、小计行", "`合计`、`总计`、`总合计`、`全县合计`、`小计`、`XX镇小计` 等行不是数据，"
                 "在表中任何位置（包括表头下第一行）都能识别；合计与全部数据行核对，小计与本组各行核对，"
                 "不一致时提示两个数",
                 "total and subtotal rows", "`合计`, `总计`, `总合计`, `全县合计`, `小计`, `XX镇小计` … "
                 "rows are not data, wherever they sit (also right under the header); totals are "
                 "checked against all data rows, each 小计 against its group, and a mismatch is a "
                 "warning showing both numbers"),
                ("隐藏的行和列", "隐藏的行（如已撤销的托管点）不作为数据，隐藏的列忽略，均在报告中列出",
                 "hidden rows and columns", "hidden rows (a cancelled site) are not data and hidden "
                 "columns are ignored; both are listed in the report"),
                ("没有县区列", "按文件所在目录的县区填写", "no county column",
                 "the county of the file's folder is used"),
                ("“—”表示无", "必填的数量列中 `—` `－` `-` `/` `无` 按 0 计（报告中合并提示一次）；选填列中视为空",
                 "`—` for none", "in a required count `—`, `－`, `-`, `/`, `无` mean 0 (one grouped "
                 "warning); in an optional column they mean empty"),
                ("入学年级、简写日期", "`2025级` 在 2025 学年为一年级；`7.14`、`7/14` 取报送期的年份",
                 "cohorts, short dates", "`2025级` is grade 1 in school year 2025; `7.14` and `7/14` "
                 "take the period's year"),
                ("志愿者横表", "每个托管点一行、每类志愿者一列（`大学生志愿者 | 返乡大学生 | 教职工 | 村（社区）干部 | "
                 "社会爱心人士 | 其他 | 合计`）会拆成每类一行，`合计` 列逐行核对",
                 "wide volunteer sheets", "one row per site and one column per kind of volunteer is "
                 "read as one row per kind; the `合计` column is checked row by row"),
            ),
        ),
        "",
    ]


def contract_section(contract: Contract) -> list[str]:
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
    if contract.wide is not None:
        lines.append(f"- **Wide form:** one column per `{contract.wide.category}` value, holding "
                     f"`{contract.wide.value}`, plus a row total ({' / '.join(contract.wide.total_headers)})")
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
            ("rule", "severity", "column", "condition (a row passes when)", "needs", "中文", "English",
             "怎么改", "how to fix"),
            (
                (f"`{r.id}`", r.severity.value, f"`{r.column}`", r.condition, _code(r.requires),
                 r.message_zh, r.message_en, r.fix_zh, r.fix_en)
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
        *_layouts_section(),
    ]
    for contract in CONTRACTS.values():
        lines += contract_section(contract)
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
