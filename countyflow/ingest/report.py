"""The clerk's feedback report for one submission (SPEC §5): JSON, HTML, XLSX and a console table.

Every report lists the status, the counts and every issue (source row, column with its
Chinese label, original value, rule, severity, message in Chinese and English), sorted by
source row. Reports are built from the issues only, never from the submission's data, and
issues on personal-data columns are left out, so no personal data can reach a report.

A text that a spreadsheet would read as a formula (starting with `= + - @`, tab or CR) is
prefixed with `'` wherever a report may be opened in or pasted into a spreadsheet: every
XLSX cell, and the text of the HTML and JSON reports.
"""

from __future__ import annotations

import html
import json
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter
from rich.table import Table
from rich.text import Text

from countyflow.ingest.model import ISSUE_SCHEMA, SOURCE_ROW, SubmissionStatus, ValidationResult
from schemas import CONTRACTS
from schemas.contract import PERSONAL_COLUMNS, Contract, Severity

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
_PERSONAL = frozenset(name for column in PERSONAL_COLUMNS for name in column.headers)


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


def _labels(contract: Contract | None) -> dict[str, str]:
    if contract is None:
        return {}
    return {column.name: column.label_zh for column in contract.columns}


def report_issues(result: ValidationResult, contract: Contract | None = None) -> pl.DataFrame:
    """The report's issue table: sorted by source row (file-level first), Chinese column
    labels added, personal-data columns left out, formula-like text escaped."""
    labels = _labels(contract)
    issues = result.issues.select(list(ISSUE_SCHEMA)).cast(ISSUE_SCHEMA)  # type: ignore[arg-type]
    issues = issues.filter(pl.col("column").is_null() | ~pl.col("column").is_in(list(_PERSONAL)))
    label = (
        pl.col("column").str.split(", ")
        .list.eval(pl.element().replace(labels))
        .list.join("、")
    )
    return (
        issues.with_columns(label.alias("column_zh"))
        .sort(SOURCE_ROW, nulls_last=False, maintain_order=True)
        .select(
            SOURCE_ROW,
            *(_escape_expr(name) for name, _, _ in TABLE_COLUMNS if name != SOURCE_ROW),
        )
    )


def _counts(result: ValidationResult) -> dict[str, int]:
    return {
        "rows_in": result.rows_in, "rows_loaded": result.rows_loaded,
        "rows_rejected": result.rows_rejected, "rows_held": result.rows_held,
        "errors": result.errors, "warnings": result.warnings,
    }


def report_data(result: ValidationResult, header: Mapping[str, object],
                contract: Contract | None = None) -> dict[str, Any]:
    """The report as plain data: header, status, counts and issues (escaped)."""
    contract = _contract(header, contract)
    status = str(result.status)
    return {
        **{key: escape_cell(value) for key, value in header.items()
           if key not in ("status", "counts", "issues")},
        "status": status,
        "status_zh": STATUS_ZH.get(status, status),
        "counts": _counts(result),
        "issues": report_issues(result, contract).to_dicts(),
    }


def report_json(result: ValidationResult, header: Mapping[str, object],
                contract: Contract | None = None) -> str:
    """Machine-readable report (UTF-8 text, Chinese kept as is)."""
    return json.dumps(report_data(result, header, contract), ensure_ascii=False, indent=2,
                      default=str)


_CSS = """
body { font-family: "Microsoft YaHei", "PingFang SC", sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-top: 1em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
tr.error td { background: #fde2e2; }
tr.warning td { background: #fff4cc; }
.status-rejected { color: #b00020; } .status-accepted { color: #1b5e20; }
"""


def report_html(result: ValidationResult, header: Mapping[str, object],
                contract: Contract | None = None) -> str:
    """Human-readable bilingual report: summary, then every issue (HTML-escaped)."""
    data = report_data(result, header, contract)
    esc = html.escape
    title = f"数据报送检查结果 Submission check report — {data.get('file_name') or ''}"
    summary = [
        (zh, en, data.get(key)) for key, zh, en in HEADER_FIELDS if data.get(key) is not None
    ]
    summary.append(("状态", "status", f"{data['status_zh']} ({data['status']})"))
    summary += [(zh, en, data["counts"][key]) for key, zh, en in COUNT_FIELDS]
    lines = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f'<p class="status-{esc(data["status"].split("_")[0])}"><strong>'
        f'{esc(data["status_zh"])} / {esc(data["status"])}</strong></p>',
        "<table><tbody>",
        *(f"<tr><th>{esc(zh)} {esc(en)}</th><td>{esc(str(value))}</td></tr>"
          for zh, en, value in summary),
        "</tbody></table>",
    ]
    if data["issues"]:
        lines += [
            "<h2>问题清单 Issues</h2>",
            "<table><thead><tr>",
            *(f"<th>{esc(zh)}<br>{esc(en)}</th>" for _, zh, en in TABLE_COLUMNS),
            "</tr></thead><tbody>",
        ]
        for issue in data["issues"]:
            cells = "".join(
                f"<td>{esc('' if issue[key] is None else str(issue[key]))}</td>"
                for key, _, _ in TABLE_COLUMNS
            )
            severity = esc(str(issue["severity"]))
            lines.append(f'<tr class="{severity}">{cells}</tr>')
        lines.append("</tbody></table>")
    else:
        lines.append("<p>未发现问题。No issues found.</p>")
    lines.append("</body></html>")
    return "\n".join(lines) + "\n"


def report_xlsx(result: ValidationResult, header: Mapping[str, object], path: Path,
                contract: Contract | None = None) -> Path:
    """Annotated workbook: a summary sheet and the issue table, errors red, warnings yellow.

    Every cell is written as a string or number, never as a formula, and formula-like
    text is escaped.
    """
    data = report_data(result, header, contract)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                               "strings_to_urls": False})
    try:
        bold = workbook.add_format({"bold": True, "bg_color": "#F0F0F0", "border": 1})
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
                 contract: Contract | None = None) -> Path:
    """Write the report in the format named by the path's suffix (.json, .html/.htm, .xlsx)."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return report_xlsx(result, header, path, contract)
    if suffix == ".json":
        text = report_json(result, header, contract)
    elif suffix in (".html", ".htm"):
        text = report_html(result, header, contract)
    else:
        raise ValueError(f"unsupported report format {suffix!r}: use .json, .html or .xlsx")
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written aside and renamed into place: two runs reporting the same submission at
    # once (or a clerk opening it meanwhile) never see a half-written file.
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
    return path


def render_report_table(result: ValidationResult, contract: Contract | None = None, *,
                        max_rows: int | None = 200) -> Table:
    """The issue table for the console (at most `max_rows` rows; the caption says how many)."""
    issues = report_issues(result, contract)
    table = Table(title="问题清单 Issues", show_lines=False, expand=False)
    for key, zh, en in TABLE_COLUMNS:
        if key == "column_zh":
            continue
        table.add_column(f"{zh}\n{en}", overflow="fold",
                         justify="right" if key == SOURCE_ROW else "left")
    shown = issues if max_rows is None else issues.head(max_rows)
    for issue in shown.iter_rows(named=True):
        style = "red" if issue["severity"] == Severity.ERROR.value else "yellow"
        column = issue["column"] or ""
        if issue["column_zh"] and issue["column_zh"] != column:
            column = f"{column}\n{issue['column_zh']}"
        cells = (
            "" if issue[SOURCE_ROW] is None else str(issue[SOURCE_ROW]), column,
            issue["value"] or "", issue["rule"] or "",
            SEVERITY_ZH.get(issue["severity"], issue["severity"]) + f" {issue['severity']}",
            issue["message_zh"] or "", issue["message_en"] or "",
        )
        # Text, not markup: a clerk's value such as `[red]` must print as written.
        table.add_row(*(Text(cell) for cell in cells), style=style)
    if issues.height > shown.height:
        table.caption = (f"仅显示前 {shown.height} 条，共 {issues.height} 条 / "
                         f"showing {shown.height} of {issues.height} issues")
    return table
