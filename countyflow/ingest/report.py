"""The clerk's feedback report for one submission (SPEC §3.1, §5): JSON, HTML, XLSX and console.

Every report gives the status and the counts, says how a spreadsheet was read (sheets,
header rows, everything skipped, the first rows as read) and lists the issues grouped:
identical issues (same rule, column, severity and message) are one line with their source
rows as ranges (`第 5–64、70 行` / `rows 5–64, 70`), a count, a few sample values and the
rule's 怎么改 (how to fix). The JSON report also keeps every single issue (`issues`), for
tools. Reports are built from the issues and the read layout only, never from the
submission's data; issues on personal-data columns are left out and preview columns named
like a personal-data column are dropped, so no personal data can reach a report.

Rule ids and column ids are for machines: they stay in the JSON, the per-issue XLSX sheet
and the console, while the HTML a clerk reads names columns by their Chinese label.

A text that a spreadsheet would read as a formula (starting with `= + - @`, tab or CR) is
prefixed with `'` wherever a report may be opened in or pasted into a spreadsheet: every
XLSX cell, and the text of the HTML and JSON reports.
"""

from __future__ import annotations

import html
import json
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter
from rich.table import Table
from rich.text import Text

from countyflow.ingest.limits import (
    TEXT_ECHO_CHARS,
    VALUE_ECHO_CHARS,
    cap_issues,
    clip_text,
)
from countyflow.ingest.model import (
    ISSUE_SCHEMA,
    SHEET_ROW_STRIDE,
    SOURCE_ROW,
    ReadLayout,
    SubmissionStatus,
    ValidationResult,
)
from countyflow.settings import MAX_ISSUE_ROWS_PER_RULE
from schemas import CONTRACTS
from schemas.contract import COMMON_RULES, PERSONAL_COLUMNS, Contract, Severity

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

STATUS_ZH: Mapping[str, str] = {
    SubmissionStatus.ACCEPTED: "已通过",
    SubmissionStatus.ACCEPTED_WITH_WARNINGS: "已通过（有警告）",
    SubmissionStatus.REJECTED: "未通过（退回）",
    SubmissionStatus.WAITING: "待处理（等待托管点名单）",
    SubmissionStatus.SUPERSEDED: "已被新报送替代",
}
SEVERITY_ZH: Mapping[str, str] = {Severity.ERROR: "错误", Severity.WARNING: "警告"}

HEADER_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("file_name", "文件名", "file"),
    ("county_code", "县（区）代码", "county code"),
    ("county_name", "县（区）", "county"),
    ("dataset", "数据集", "dataset"),
    ("period", "报送期", "period"),
    ("submission_id", "报送编号", "submission id"),
)
COUNT_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("rows_in", "读入行数", "rows in"),
    ("rows_loaded", "有效行数", "rows valid"),
    ("rows_rejected", "退回行数", "rows rejected"),
    ("rows_held", "暂缓行数", "rows held"),
    ("errors", "错误数", "errors"),
    ("warnings", "警告数", "warnings"),
)
TABLE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("source_row", "行号", "row"),
    ("column", "列", "column"),
    ("column_zh", "列名", "column label"),
    ("value", "原始值", "original value"),
    ("rule", "规则", "rule"),
    ("severity", "级别", "severity"),
    ("message_zh", "说明（中文）", "message (Chinese)"),
    ("message_en", "说明（英文）", "message (English)"),
)
# What makes two issues "the same" for the clerk: one line per distinct combination.
GROUP_KEY: tuple[str, ...] = ("rule", "column", "severity", "message_zh", "message_en")
GROUP_FIELDS: tuple[str, ...] = (
    "rule", "column", "column_zh", "column_en", "severity", "message_zh", "message_en",
    "fix_zh", "fix_en", "rows", "rows_zh", "rows_en", "row_ranges", "row_ranges_total",
    "count", "values", "distinct_values",
)
SAMPLE_VALUES = 3
XLSX_TEXT_LIMIT = 16_000  # zh and en share one cell of at most 32 767 characters
CONSOLE_ROWS_LIMIT = 120
CONSOLE_CELL_LIMIT = 200  # rich lays out every character of a cell: a 20 MB cell hangs it
ROWS_TEXT_LIMIT = 2_000  # a group's `rows` texts (every other row of a big file: 200 000 ranges)
ROW_RANGES_LISTED = 500  # a group's `row_ranges` pairs in the JSON; `row_ranges_total` counts all
SKIPPED_KINDS_ZH_EN: Mapping[str, tuple[str, str]] = {
    "sheet": ("未读取的工作表", "sheet not read"),
    "hidden_rows": ("隐藏行", "hidden rows"),
    "hidden_columns": ("隐藏列", "hidden columns"),
    "subtotal_rows": ("小计行", "subtotal rows"),
    "total_rows": ("合计行", "total rows"),
    "notes_rows": ("注释、说明行", "notes rows"),
}
_PERSONAL = frozenset(name for column in PERSONAL_COLUMNS for name in column.headers)
_RANGE_DASH = "–"


def escape_cell(value: object) -> object:
    """`'`-prefix a text a spreadsheet would take for a formula; other values unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _escape_expr(column: str) -> pl.Expr:
    text = pl.col(column)
    return (
        pl.when(text.str.contains(r"^[=+\-@\t\r]"))
        .then(pl.concat_str(pl.lit("'"), text))
        .otherwise(text)
        .alias(column)
    )


def _contract(header: Mapping[str, object], contract: Contract | None) -> Contract | None:
    if contract is not None:
        return contract
    return CONTRACTS.get(str(header.get("dataset", "")))


def _known_contracts(contract: Contract | None) -> tuple[Contract, ...]:
    # Without a contract (a caller that did not say which dataset) every contract's
    # labels and fixes are used: a column or rule id means the same in all of them.
    return (contract,) if contract is not None else tuple(CONTRACTS.values())


def _labels(contract: Contract | None) -> dict[str, str]:
    labels: dict[str, str] = {}
    for known in _known_contracts(contract):
        for column in known.columns:
            labels.setdefault(column.name, column.label_zh)
    return labels


def _descriptions(contract: Contract | None) -> dict[str, str]:
    descriptions: dict[str, str] = {}
    for known in _known_contracts(contract):
        for column in known.columns:
            descriptions.setdefault(column.name, column.description_en)
    return descriptions


def _fixes(contract: Contract | None) -> tuple[dict[str, str], dict[str, str]]:
    """怎么改 texts by rule id (Chinese, English): the common rules and the contract's."""
    fix_zh = {rule: text.fix_zh for rule, text in COMMON_RULES.items()}
    fix_en = {rule: text.fix_en for rule, text in COMMON_RULES.items()}
    for known in _known_contracts(contract):
        for rule in known.rules:
            fix_zh.setdefault(rule.id, rule.fix_zh)
            fix_en.setdefault(rule.id, rule.fix_en)
    return fix_zh, fix_en


def _mapped_columns(mapping: Mapping[str, str], separator: str) -> pl.Expr:
    """`column` (possibly `a, b` for a multi-column issue) with each name mapped; names the
    mapping does not know (an unknown header as the clerk wrote it) are kept."""
    return (
        pl.col("column").str.split(", ")
        .list.eval(pl.element().replace(dict(mapping)))
        .list.join(separator)
    )


def report_issues(result: ValidationResult, contract: Contract | None = None) -> pl.DataFrame:
    """The report's issue table: sorted by source row (file-level first), Chinese column
    labels added, personal-data columns left out, formula-like text escaped."""
    issues = result.issues.select(list(ISSUE_SCHEMA)).cast(ISSUE_SCHEMA)  # type: ignore[arg-type]
    issues = issues.filter(pl.col("column").is_null() | ~pl.col("column").is_in(list(_PERSONAL)))
    return (
        issues.with_columns(
            _mapped_columns(_labels(contract), "、").alias("column_zh"),
            # Validation already clips (`finalise_issues`); this holds for any result.
            clip_text(pl.col("value"), VALUE_ECHO_CHARS),
            *(clip_text(pl.col(name), TEXT_ECHO_CHARS)
              for name in ("column", "message_zh", "message_en")),
        )
        .sort(SOURCE_ROW, nulls_last=False, maintain_order=True)
        .select(
            SOURCE_ROW,
            *(_escape_expr(name) for name, _, _ in TABLE_COLUMNS if name != SOURCE_ROW),
        )
    )


def group_issues(issues: pl.DataFrame, contract: Contract | None = None,
                 sheets: Sequence[str] = (), *, max_groups: int | None = None) -> pl.DataFrame:
    """Identical issues of a `report_issues` table folded into one row each (`GROUP_FIELDS`).

    A group's source rows become ranges of consecutive rows (`5–64, 70` and the pairs
    `[[5, 64], [70, 70]]`, in `source_row` numbers like `issues`); `values` holds at most
    `SAMPLE_VALUES` distinct values in row order and `distinct_values` how many there are.
    File-level issues (no source row) stay one row each. Groups come file-level first, then
    by first source row. When several sheets were read together (`sheets`, in the order
    their rows are numbered, see `SHEET_ROW_STRIDE`), the texts name each sheet with its own
    row numbers: `6月 第 5–9 行；7月 第 3 行`. Everything runs as Polars expressions: a file
    with 100 000 failing cells is a handful of groups.

    Bounded whatever the file: at most `max_groups` groups per rule × column (then one
    group `另有 G 组… / and G more groups…` holding the rest, with their exact count and
    rows), `rows` texts of at most `ROWS_TEXT_LIMIT` characters,
    and at most `ROW_RANGES_LISTED` `row_ranges` pairs (`row_ranges_total` counts them all).
    """
    fix_zh, fix_en = _fixes(contract)
    indexed = issues.with_row_index("_order").with_columns(
        # A per-issue key for file-level issues keeps each of them on its own line.
        pl.when(pl.col(SOURCE_ROW).is_null()).then(pl.col("_order")).alias("_alone"),
    )
    values = pl.col("value").drop_nulls()
    groups = (
        indexed.group_by([*GROUP_KEY, "_alone"], maintain_order=True)
        .agg(
            pl.col("column_zh").first(),
            pl.col("_order").min(),
            pl.col(SOURCE_ROW).min().alias("_first"),
            pl.len().cast(pl.Int64).alias("count"),
            values.unique(maintain_order=True).head(SAMPLE_VALUES).alias("values"),
            values.n_unique().cast(pl.Int64).alias("distinct_values"),
            pl.col(SOURCE_ROW).drop_nulls().unique().sort().alias("_rows"),
        )
        .sort("_first", "_order", nulls_last=False)
    )
    groups = _cap_groups(groups, max_groups).with_row_index("_group")
    ranges = _row_ranges(groups, sheets)
    return (
        groups.join(ranges, on="_group", how="left", maintain_order="left")
        .with_columns(
            _mapped_columns(_descriptions(contract), " / ").alias("column_en"),
            pl.col("rule").replace_strict(fix_zh, default="").fill_null("").alias("fix_zh"),
            pl.col("rule").replace_strict(fix_en, default="").fill_null("").alias("fix_en"),
            pl.col("row_ranges").fill_null(pl.lit([], dtype=pl.List(pl.List(pl.Int64))))
            .list.head(ROW_RANGES_LISTED),
            pl.col("row_ranges").list.len().fill_null(0).cast(pl.Int64).alias("row_ranges_total"),
            *(_clip_expr(pl.col(name).fill_null(""), ROWS_TEXT_LIMIT).alias(name)
              for name in ("rows", "rows_zh", "rows_en")),
        )
        .with_columns(*(_escape_expr(name) for name in
                        ("column_en", "fix_zh", "fix_en", "rows", "rows_zh", "rows_en")))
        .select(GROUP_FIELDS)
    )


def _cap_groups(groups: pl.DataFrame, max_groups: int | None) -> pl.DataFrame:
    """The first `max_groups` groups of each rule × column, plus one group holding the
    rest of it (exact count and rows, no sample values); see `group_issues`."""
    if max_groups is None or groups.height <= max_groups:
        return groups
    ranked = groups.with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).over("rule", "column").alias("_nth"))
    if ranked["_nth"].max() < max_groups:  # type: ignore[operator]
        return groups
    rest = (
        ranked.filter(pl.col("_nth") >= max_groups)
        .group_by("rule", "column", "severity", maintain_order=True)
        .agg(
            pl.len().alias("_more"),
            pl.col("column_zh").first(),
            pl.col("_order").min(),
            pl.col("_first").min(),
            pl.col("count").sum(),
            pl.col("_rows").list.explode(keep_nulls=False, empty_as_null=False).unique().sort(),
            pl.col("_alone").first(),
        )
        .with_columns(
            pl.concat_str(pl.lit("另有 "), pl.col("_more").cast(pl.Utf8),
                          pl.lit(" 组同类问题未逐组列出")).alias("message_zh"),
            pl.concat_str(pl.lit("and "), pl.col("_more").cast(pl.Utf8),
                          pl.lit(" more groups of this kind not listed")).alias("message_en"),
            pl.lit([], dtype=pl.List(pl.Utf8)).alias("values"),
            pl.lit(0, dtype=pl.Int64).alias("distinct_values"),
        )
    )
    return (
        pl.concat([ranked.filter(pl.col("_nth") < max_groups).drop("_nth"),
                   rest.select(groups.columns).cast(groups.schema)])
        .sort("_first", "_order", nulls_last=False, maintain_order=True)
    )


def _clip_expr(text: pl.Expr, limit: int) -> pl.Expr:
    """`_clip` as an expression."""
    return pl.when(text.str.len_chars() > limit).then(
        pl.concat_str(text.str.slice(0, limit - 1), pl.lit("…"))).otherwise(text)


def _row_ranges(groups: pl.DataFrame, sheets: Sequence[str]) -> pl.DataFrame:
    """Per group (`_group`, sorted unique `_rows`): `row_ranges` pairs and the texts `rows`,
    `rows_zh`, `rows_en`; see `group_issues`."""
    # Rows → runs of consecutive numbers: a new run starts wherever a row is not the
    # previous row of its group + 1; a cumulative sum numbers the runs across all groups.
    # Rows of different sheets are SHEET_ROW_STRIDE apart, so a run never spans sheets.
    step = pl.col("row") - pl.col("row").shift(1).over("_group")
    runs = (
        groups.select("_group", pl.col("_rows").alias("row"))
        .explode("row")
        .drop_nulls("row")
        .with_columns((step != 1).fill_null(True).cum_sum().alias("_run"))
        .group_by("_group", "_run", maintain_order=True)
        .agg(pl.col("row").min().alias("first"), pl.col("row").max().alias("last"))
    )
    last_row = runs["last"].max()
    several = len(sheets) > 1 or (isinstance(last_row, int) and last_row >= SHEET_ROW_STRIDE)
    first, last = pl.col("first") % SHEET_ROW_STRIDE, pl.col("last") % SHEET_ROW_STRIDE
    names = {index: name for index, name in enumerate(sheets)}
    sheet_index = pl.col("first") // SHEET_ROW_STRIDE
    sheet_name = (
        sheet_index.replace_strict(names, default=None, return_dtype=pl.Utf8)
        .fill_null(pl.concat_str(pl.lit("工作表"), sheet_index + 1))
        if several else pl.lit("")
    )
    prefix = pl.when(pl.col("_sheet_name") == "").then(pl.lit("")).otherwise(
        pl.concat_str(pl.col("_sheet_name"), pl.lit(" ")))
    single = pl.col("_en").str.contains(r"^\d+$")
    per_sheet = (
        runs.with_columns(
            sheet_index.alias("_sheet"),
            sheet_name.alias("_sheet_name"),
            pl.when(first == last).then(first.cast(pl.Utf8))
            .otherwise(pl.concat_str(first, pl.lit(_RANGE_DASH), last)).alias("_text"),
        )
        .group_by("_group", "_sheet", "_sheet_name", maintain_order=True)
        .agg(pl.col("_text").str.join(", ").alias("_en"),
             pl.col("_text").str.join("、").alias("_zh"))
        .select(
            "_group",
            pl.concat_str(prefix, "_en").alias("rows"),
            pl.concat_str(prefix, pl.lit("第 "), "_zh", pl.lit(" 行")).alias("rows_zh"),
            pl.concat_str(prefix, pl.when(single).then(pl.lit("row ")).otherwise(pl.lit("rows ")),
                          "_en").alias("rows_en"),
        )
        .group_by("_group", maintain_order=True)
        .agg(pl.col("rows").str.join("; "), pl.col("rows_zh").str.join("；"),
             pl.col("rows_en").str.join("; "))
    )
    pairs = runs.group_by("_group", maintain_order=True).agg(
        pl.concat_list("first", "last").alias("row_ranges"))
    return per_sheet.join(pairs, on="_group", how="left", maintain_order="left")


def report_groups(result: ValidationResult, contract: Contract | None = None, *,
                  max_issue_rows: int | None = MAX_ISSUE_ROWS_PER_RULE) -> pl.DataFrame:
    """The report's grouped issues (see `group_issues`; `max_issue_rows` groups per rule ×
    column at most)."""
    return group_issues(report_issues(result, contract), contract, _sheets(result),
                        max_groups=max_issue_rows)


def _sheets(result: ValidationResult) -> tuple[str, ...]:
    """Names of the parts rows are numbered in (sheets, a wide form's columns)."""
    if result.layout is None:
        return ()
    return result.layout.row_parts or result.layout.sheets


def _text(value: object) -> str | None:
    # Clipped: sheet names, skipped-row lists and preview cells come from the file.
    return None if value is None else _clip(str(escape_cell(str(value))), TEXT_ECHO_CHARS)


def _cell(text: str) -> Text:
    """A console cell: text, not markup (a sheet named `[red]` prints as written), clipped."""
    return Text(_clip(text, CONSOLE_CELL_LIMIT))


def _is_personal_header(text: str | None) -> bool:
    if text is None:
        return False
    compact = "".join(text.split()).replace("(", "（").replace(")", "）")
    return compact in _PERSONAL or any(compact.startswith(name) for name in _PERSONAL
                                       if not name.isascii())


def layout_data(layout: ReadLayout | None) -> dict[str, Any] | None:
    """The read layout as plain data (lists, not tuples), every text escaped.

    The reader previews contract columns only; a preview column headed like a
    personal-data column (填报人, 联系电话, 备注 …) is dropped here all the same, so a reader
    bug cannot put a phone number in a report.
    """
    if layout is None:
        return None
    keep = [index for index, name in enumerate(layout.preview_header)
            if not _is_personal_header(name)]
    # Each preview row starts with its sheet row number, then one cell per header.
    rows = [[_text(row[0]) if row else None,
             *(_text(row[index + 1]) if index + 1 < len(row) else None for index in keep)]
            for row in layout.preview_rows]
    return {
        "sheets": [_text(sheet) for sheet in layout.sheets],
        "header_rows": list(layout.header_rows),
        "skipped": [
            {"kind": part.kind, "where": _text(part.where), "reason_zh": _text(part.reason_zh),
             "reason_en": _text(part.reason_en)}
            for part in layout.skipped
        ],
        "preview_header": [_text(layout.preview_header[index]) for index in keep],
        "preview_rows": rows,
    }


def report_data(result: ValidationResult, header: Mapping[str, object],
                contract: Contract | None = None, *,
                max_issue_rows: int | None = MAX_ISSUE_ROWS_PER_RULE) -> dict[str, Any]:
    """The report as plain data: header, status, counts, the issues, the grouped issues and
    how the file was read (`read`, null for files without a read layout); all escaped.

    `issues` lists at most `max_issue_rows` issues per rule × column, then one summary
    issue for the rest (`countyflow.ingest.limits.cap_issues`), and `groups` at most as many
    groups per rule × column; the counts and each group's count are exact. None: no cap."""
    return _report_data(result, header, contract, with_issues=True,
                        max_issue_rows=max_issue_rows)


def _report_data(result: ValidationResult, header: Mapping[str, object],
                 contract: Contract | None, *, with_issues: bool,
                 max_issue_rows: int | None) -> dict[str, Any]:
    # The HTML shows groups only: it skips turning 100 000 issues into dicts.
    contract = _contract(header, contract)
    status = str(result.status)
    issues = report_issues(result, contract)
    return {
        **{key: escape_cell(value) for key, value in header.items()
           if key not in ("status", "counts", "issues", "groups", "read")},
        "status": status,
        "status_zh": STATUS_ZH.get(status, status),
        "counts": asdict(result.counts),
        "issues": cap_issues(issues, max_issue_rows).to_dicts() if with_issues else [],
        "groups": group_issues(issues, contract, _sheets(result),
                               max_groups=max_issue_rows).to_dicts(),
        "read": layout_data(result.layout),
    }


def report_json(result: ValidationResult, header: Mapping[str, object],
                contract: Contract | None = None, *,
                max_issue_rows: int | None = MAX_ISSUE_ROWS_PER_RULE) -> str:
    """Machine-readable report (UTF-8 text, Chinese kept as is); see `report_data`."""
    data = report_data(result, header, contract, max_issue_rows=max_issue_rows)
    return json.dumps(data, ensure_ascii=False, indent=2,
                      default=str)


def _ranges_text(numbers: Iterable[int], separator: str) -> str:
    """`3, 4, 5, 9` → `3–5<sep>9` (a handful of header rows: plain Python is fine)."""
    runs: list[list[int]] = []
    for number in sorted(set(numbers)):
        if runs and number == runs[-1][1] + 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    return separator.join(str(a) if a == b else f"{a}{_RANGE_DASH}{b}" for a, b in runs)


def _skipped_kind(kind: str) -> tuple[str, str]:
    return SKIPPED_KINDS_ZH_EN.get(kind, (kind, kind))


def _clip(text: str, limit: int) -> str:
    """At most `limit` characters: a sheet cell holds 32 767, a console line far fewer, and
    a group over every third row of a big file spells out a very long list of ranges."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _severity_text(severity: str) -> str:
    return f"{SEVERITY_ZH.get(severity, severity)} {severity}"


def _values_text(group: Mapping[str, Any], separator: str) -> str:
    shown = [str(value) for value in group["values"]]
    more = group["distinct_values"] - len(shown)
    if more > 0:
        shown.append(f"…（另有 {more} 个不同值 / {more} more）")
    return separator.join(shown)


def _column_text(group: Mapping[str, Any]) -> tuple[str, str]:
    """The column as a clerk knows it: Chinese label, and the English description when
    the contract has one (an unknown header is shown once, as written)."""
    label = group["column_zh"] or ""
    english = group["column_en"] or ""
    return label, ("" if english == label else english)


_CSS = """
body { font-family: "Microsoft YaHei", "PingFang SC", sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-top: 1em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
tr.error td { background: #fde2e2; }
tr.warning td { background: #fff4cc; }
td.severity { white-space: nowrap; font-weight: bold; }
tr.error td.severity { color: #b00020; } tr.warning td.severity { color: #8a6d00; }
.en { color: #555; font-size: 90%; }
.value { font-family: monospace; background: #f6f6f6; padding: 0 3px; margin-right: 4px; }
table.preview tr.header th { background: #dbe9ff; }
table.preview td.row, table.preview th.row { color: #777; text-align: right; }
.status-rejected { color: #b00020; } .status-accepted { color: #1b5e20; }
"""


def _esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _bilingual(zh: object, en: object) -> str:
    zh_text, en_text = _esc(zh), _esc(en)
    if not (zh_text or en_text):
        return ""
    if zh_text and en_text:
        return f'{zh_text}<br><span class="en">{en_text}</span>'
    return zh_text or f'<span class="en">{en_text}</span>'


def _html_read(read: Mapping[str, Any] | None) -> list[str]:
    lines = ["<h2>读取情况 How the file was read</h2>"]
    if read is None:
        return [*lines, "<p>本文件没有工作表读取详情（如 CSV、JSON 文件按首行表头读取）。"
                        '<br><span class="en">No sheet details for this file (CSV and JSON '
                        "files are read from their first row).</span></p>"]
    sheets = "、".join(_esc(sheet) for sheet in read["sheets"]) or "—"
    header_rows = read["header_rows"]
    header_zh = f"第 {_ranges_text(header_rows, '、')} 行" if header_rows else "—"
    header_en = (f"row{'s' if len(header_rows) > 1 else ''} {_ranges_text(header_rows, ', ')}"
                 if header_rows else "")
    lines += [
        "<table><tbody>",
        f"<tr><th>读取的工作表<br>sheet(s) read</th><td>{sheets}</td></tr>",
        f"<tr><th>表头行<br>header row(s)</th><td>{_bilingual(header_zh, header_en)}</td></tr>",
        "</tbody></table>",
    ]
    if read["skipped"]:
        lines += [
            "<h3>未作为数据读取的内容 Not read as data</h3>",
            "<table><thead><tr><th>内容<br>what</th><th>位置<br>where</th>"
            "<th>原因<br>why</th></tr></thead><tbody>",
            *(f"<tr><td>{_bilingual(*_skipped_kind(part['kind']))}</td>"
              f"<td>{_esc(part['where'])}</td>"
              f"<td>{_bilingual(part['reason_zh'], part['reason_en'])}</td></tr>"
              for part in read["skipped"]),
            "</tbody></table>",
        ]
    else:
        lines.append("<p>没有跳过任何内容。<span class=\"en\">Nothing was skipped.</span></p>")
    return lines


def _html_groups(groups: Sequence[Mapping[str, Any]]) -> list[str]:
    if not groups:
        return ["<h2>问题清单 Issues</h2>", "<p>未发现问题。No issues found.</p>"]
    lines = [
        "<h2>问题清单 Issues</h2>",
        "<table><thead><tr><th>行号<br>rows</th><th>列<br>column</th>"
        "<th>原始值<br>sample values</th><th>说明<br>message</th><th>怎么改<br>how to fix</th>"
        "<th>级别<br>severity</th></tr></thead><tbody>",
    ]
    for group in groups:
        if group["rows"]:
            rows = _bilingual(group["rows_zh"], group["rows_en"])
            if group["count"] > 1:
                rows += f'<br>共 {group["count"]} 处 <span class="en">{group["count"]} issues</span>'
        else:
            rows = _bilingual("整个文件", "whole file")
        values = " ".join(f'<span class="value">{_esc(value)}</span>' for value in group["values"])
        more = group["distinct_values"] - len(group["values"])
        if more > 0:
            values += f' …另有 {more} 个不同值 <span class="en">{more} more</span>'
        severity = str(group["severity"])
        lines.append(
            f'<tr class="{_esc(severity)}"><td>{rows}</td>'
            f"<td>{_bilingual(*_column_text(group))}</td><td>{values}</td>"
            f"<td>{_bilingual(group['message_zh'], group['message_en'])}</td>"
            f"<td>{_bilingual(group['fix_zh'], group['fix_en'])}</td>"
            f'<td class="severity">{_bilingual(SEVERITY_ZH.get(severity, severity), severity)}'
            "</td></tr>"
        )
    return [*lines, "</tbody></table>"]


def _html_preview(read: Mapping[str, Any] | None) -> list[str]:
    if read is None or not (read["preview_header"] or read["preview_rows"]):
        return []
    width = len(read["preview_header"])
    lines = [
        "<h2>表格预览 The table as read</h2>",
        '<p>表头（蓝色）及前几行数据，按读取结果显示。<span class="en">The header (blue) and '
        "the first rows, as they were read.</span></p>",
        '<table class="preview"><thead><tr class="header"><th class="row">行号<br>row</th>',
        *(f"<th>{_esc(name)}</th>" for name in read["preview_header"]),
        "</tr></thead><tbody>",
    ]
    for row in read["preview_rows"]:
        cells = [*row[1:], *([None] * (width - len(row) + 1))][:width]
        lines.append(f'<tr><td class="row">{_esc(row[0] if row else None)}</td>'
                     + "".join(f"<td>{_esc(cell)}</td>" for cell in cells) + "</tr>")
    return [*lines, "</tbody></table>"]


def report_html(result: ValidationResult, header: Mapping[str, object],
                contract: Contract | None = None, *,
                max_issue_rows: int | None = MAX_ISSUE_ROWS_PER_RULE) -> str:
    """Human-readable bilingual report: summary, how the file was read, the grouped issues
    with how to fix them, and a preview of the table as read (all HTML-escaped)."""
    data = _report_data(result, header, contract, with_issues=False,
                        max_issue_rows=max_issue_rows)
    title = f"数据报送检查结果 Submission check report — {data.get('file_name') or ''}"
    summary = [
        (zh, en, data.get(key)) for key, zh, en in HEADER_FIELDS if data.get(key) is not None
    ]
    summary.append(("状态", "status", f"{data['status_zh']} ({data['status']})"))
    summary += [(zh, en, data["counts"][key]) for key, zh, en in COUNT_FIELDS]
    lines = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_esc(title)}</h1>",
        f'<p class="status-{_esc(data["status"].split("_")[0])}"><strong>'
        f'{_esc(data["status_zh"])} / {_esc(data["status"])}</strong></p>',
        "<table><tbody>",
        *(f"<tr><th>{_esc(zh)} {_esc(en)}</th><td>{_esc(value)}</td></tr>"
          for zh, en, value in summary),
        "</tbody></table>",
        *_html_read(data["read"]),
        *_html_groups(data["groups"]),
        *_html_preview(data["read"]),
        "</body></html>",
    ]
    return "\n".join(lines) + "\n"


GROUP_SHEET_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("行号", "rows", 22), ("处数", "count", 8), ("列", "column", 22),
    ("原始值", "sample values", 24), ("说明", "message", 44), ("怎么改", "how to fix", 44),
    ("级别", "severity", 10),
)


def report_xlsx(result: ValidationResult, header: Mapping[str, object], path: Path,
                contract: Contract | None = None, *,
                max_issue_rows: int | None = MAX_ISSUE_ROWS_PER_RULE) -> Path:
    """Annotated workbook: summary, grouped issues with how to fix them, how the file was
    read (with the preview), and every single issue; errors red, warnings yellow.

    Every cell is written as a string or number, never as a formula, and formula-like
    text is escaped.
    """
    data = report_data(result, header, contract, max_issue_rows=max_issue_rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                               "strings_to_urls": False})
    try:
        bold = workbook.add_format({"bold": True, "bg_color": "#F0F0F0", "border": 1,
                                    "text_wrap": True, "valign": "top"})
        preview_header = workbook.add_format({"bold": True, "bg_color": "#DBE9FF", "border": 1,
                                              "text_wrap": True, "valign": "top"})
        wrap = workbook.add_format({"text_wrap": True, "valign": "top", "border": 1})
        fills = {
            Severity.ERROR.value: workbook.add_format(
                {"bg_color": "#FDE2E2", "text_wrap": True, "valign": "top", "border": 1}),
            Severity.WARNING.value: workbook.add_format(
                {"bg_color": "#FFF4CC", "text_wrap": True, "valign": "top", "border": 1}),
        }

        summary = workbook.add_worksheet("概况 Summary")
        summary.set_column(0, 0, 28)
        summary.set_column(1, 1, 48)
        rows: list[tuple[str, object]] = [
            (f"{zh} {en}", data.get(key)) for key, zh, en in HEADER_FIELDS
            if data.get(key) is not None
        ]
        rows.append(("状态 status", f"{data['status_zh']} ({data['status']})"))
        rows += [(f"{zh} {en}", data["counts"][key]) for key, zh, en in COUNT_FIELDS]
        for index, (label, value) in enumerate(rows):
            summary.write_string(index, 0, str(escape_cell(label)), bold)
            _write(summary, index, 1, value, wrap)

        groups = workbook.add_worksheet("问题汇总 Grouped issues")
        for col, (zh, en, width) in enumerate(GROUP_SHEET_COLUMNS):
            groups.write_string(0, col, f"{zh} {en}", bold)
            groups.set_column(col, col, width)
        groups.freeze_panes(1, 0)
        for row, group in enumerate(data["groups"], start=1):
            cell_format = fills.get(str(group["severity"]), wrap)
            label, english = _column_text(group)
            cells: tuple[object, ...] = (
                f"{_clip(group['rows_zh'], XLSX_TEXT_LIMIT)}\n"
                f"{_clip(group['rows_en'], XLSX_TEXT_LIMIT)}" if group["rows"]
                else "整个文件\nwhole file",
                group["count"],
                f"{label}\n{english}" if english else label,
                _values_text(group, "\n"),
                f"{group['message_zh']}\n{group['message_en']}",
                f"{group['fix_zh']}\n{group['fix_en']}".strip(),
                _severity_text(str(group["severity"])),
            )
            for col, value in enumerate(cells):
                _write(groups, row, col, value, cell_format)

        _xlsx_read(workbook.add_worksheet("读取情况 How read"), data["read"], bold,
                   preview_header, wrap)

        sheet = workbook.add_worksheet("问题清单 Issues")
        for col, (_, zh, en) in enumerate(TABLE_COLUMNS):
            sheet.write_string(0, col, f"{zh} {en}", bold)
        for col, width in enumerate((8, 20, 16, 20, 26, 10, 40, 50)):
            sheet.set_column(col, col, width)
        sheet.freeze_panes(1, 0)
        for row, issue in enumerate(data["issues"], start=1):
            cell_format = fills.get(str(issue["severity"]), wrap)
            for col, (key, _, _) in enumerate(TABLE_COLUMNS):
                _write(sheet, row, col, issue[key], cell_format)
        if data["issues"]:
            sheet.autofilter(0, 0, len(data["issues"]), len(TABLE_COLUMNS) - 1)
    finally:
        workbook.close()
    return path


def _xlsx_read(sheet: Any, read: Mapping[str, Any] | None, bold: Any, highlight: Any,
               wrap: Any) -> None:
    """The read layout on one sheet: sheets and header rows, what was skipped, the preview."""
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, 40, 18)
    if read is None:
        sheet.write_string(0, 0, "本文件没有工作表读取详情 No sheet details for this file", wrap)
        return
    header_rows = read["header_rows"]
    lines: list[tuple[str, object]] = [
        ("读取的工作表 sheet(s) read", "、".join(str(name) for name in read["sheets"])),
        ("表头行 header row(s)", _ranges_text(header_rows, ", ") if header_rows else ""),
    ]
    row = 0
    for label, value in lines:
        sheet.write_string(row, 0, label, bold)
        _write(sheet, row, 1, value, wrap)
        row += 1
    row += 1
    sheet.write_string(row, 0, "未作为数据读取 not read as data", bold)
    for col, title in enumerate(("位置 where", "原因 why"), start=1):
        sheet.write_string(row, col, title, bold)
    for part in read["skipped"]:
        row += 1
        zh, en = _skipped_kind(part["kind"])
        _write(sheet, row, 0, f"{zh} {en}", wrap)
        _write(sheet, row, 1, part["where"], wrap)
        _write(sheet, row, 2, f"{part['reason_zh']}\n{part['reason_en']}", wrap)
    if not read["preview_header"]:
        return
    row += 2
    sheet.write_string(row, 0, "表格预览 the table as read", bold)
    row += 1
    sheet.write_string(row, 0, "行号 row", highlight)
    for col, name in enumerate(read["preview_header"], start=1):
        _write(sheet, row, col, name, highlight)
    for preview in read["preview_rows"]:
        row += 1
        for col, value in enumerate(preview[: len(read["preview_header"]) + 1]):
            _write(sheet, row, col, value, wrap)


def _write(sheet: Any, row: int, col: int, value: object, cell_format: Any) -> None:
    if value is None:
        sheet.write_blank(row, col, None, cell_format)
    elif isinstance(value, bool):
        sheet.write_string(row, col, str(value), cell_format)
    elif isinstance(value, int | float):
        sheet.write_number(row, col, value, cell_format)
    else:
        sheet.write_string(row, col, str(escape_cell(str(value))), cell_format)


def write_report(result: ValidationResult, header: Mapping[str, object], path: Path,
                 contract: Contract | None = None, *,
                 max_issue_rows: int | None = MAX_ISSUE_ROWS_PER_RULE) -> Path:
    """Write the report in the format named by the path's suffix (.json, .html/.htm, .xlsx);
    `max_issue_rows` (COUNTYFLOW_MAX_ISSUE_ROWS_PER_RULE) as in `report_data`."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return report_xlsx(result, header, path, contract, max_issue_rows=max_issue_rows)
    if suffix == ".json":
        text = report_json(result, header, contract, max_issue_rows=max_issue_rows)
    elif suffix in (".html", ".htm"):
        text = report_html(result, header, contract, max_issue_rows=max_issue_rows)
    else:
        raise ValueError(f"unsupported report format {suffix!r}: use .json, .html or .xlsx")
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written aside and renamed into place: two runs reporting the same submission at
    # once (or a clerk opening it meanwhile) never see a half-written file.
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
    return path


def render_read_table(layout: ReadLayout | None) -> Table | None:
    """How a spreadsheet was read, for the console; None for files without a layout."""
    read = layout_data(layout)
    if read is None:
        return None
    table = Table(title="读取情况 How the file was read", show_header=False, expand=False)
    table.add_column(overflow="fold")
    table.add_column(overflow="fold")
    header_rows = read["header_rows"]
    # Text, not markup: a sheet named `[red]` must print as written.
    table.add_row(Text("工作表 sheet(s)"), _cell("、".join(str(name) for name in read["sheets"])))
    table.add_row(Text("表头行 header row(s)"),
                  _cell(_ranges_text(header_rows, ", ") if header_rows else ""))
    for part in read["skipped"]:
        zh, en = _skipped_kind(part["kind"])
        table.add_row(Text(f"{zh} {en}"),
                      _cell(f"{part['where']} — {part['reason_zh']} / {part['reason_en']}"))
    return table


def render_report_table(result: ValidationResult, contract: Contract | None = None, *,
                        max_rows: int | None = 200,
                        max_issue_rows: int | None = MAX_ISSUE_ROWS_PER_RULE) -> Table:
    """The grouped issues for the console (at most `max_rows` groups; the caption says how
    many there are); every cell at most `CONSOLE_CELL_LIMIT` characters."""
    issues = report_issues(result, contract)
    groups = group_issues(issues, contract, _sheets(result), max_groups=max_issue_rows)
    table = Table(title="问题清单 Issues", show_lines=True, expand=False)
    table.add_column("行号\nrows", overflow="fold", justify="right", max_width=24)
    table.add_column("列\ncolumn", overflow="fold", max_width=24)
    table.add_column("原始值\nvalues", overflow="fold", max_width=24)
    # Rule ids are what an operator greps for: never folded mid-word.
    table.add_column("规则 · 级别\nrule · severity", no_wrap=True)
    table.add_column("说明 · 怎么改\nmessage · how to fix", overflow="fold")
    shown = groups if max_rows is None else groups.head(max_rows)
    for group in shown.iter_rows(named=True):
        style = "red" if group["severity"] == Severity.ERROR.value else "yellow"
        column = group["column"] or ""
        if group["column_zh"] and group["column_zh"] != column:
            column = f"{column}\n{group['column_zh']}"
        rows = _clip(group["rows"], CONSOLE_ROWS_LIMIT) or "文件 file"
        if group["count"] > 1:
            rows += f"\n({group['count']})"
        explanation = f"{group['message_zh'] or ''}\n{group['message_en'] or ''}"
        if group["fix_zh"] or group["fix_en"]:
            explanation += f"\n怎么改：{group['fix_zh']}\nhow to fix: {group['fix_en']}"
        cells = (
            rows, column, _values_text(group, "\n"),
            f"{group['rule'] or ''}\n{_severity_text(str(group['severity']))}", explanation,
        )
        # Text, not markup: a clerk's value such as `[red]` must print as written.
        table.add_row(*(Text(_clip(cell, CONSOLE_CELL_LIMIT)) for cell in cells), style=style)
    if groups.height > shown.height:
        table.caption = (f"仅显示前 {shown.height} 组，共 {groups.height} 组（{issues.height} 条）/ "
                         f"showing {shown.height} of {groups.height} groups "
                         f"({issues.height} issues)")
    return table
