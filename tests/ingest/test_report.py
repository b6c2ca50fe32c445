"""The clerk report: JSON, HTML, XLSX and console table; formula escaping; no personal data."""

from __future__ import annotations

import html
import json
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from rich.console import Console

from countyflow.ingest.model import ISSUE_SCHEMA, SubmissionStatus, ValidationResult, common_issue
from countyflow.ingest.report import (
    escape_cell,
    render_report_table,
    report_html,
    report_json,
    report_xlsx,
    write_report,
)
from schemas import CONTRACTS

SITES = CONTRACTS["childcare_sites"]
HEADER = {"file_name": "昭阳区暑期托管点.xlsx", "county_code": "530602", "dataset": "childcare_sites",
          "period": "2025-summer", "submission_id": "ab" * 32}
PHONE = "13800138000"
DANGEROUS = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+2", "-5", "@SUM(A1)", "\t=1", "\r=1"]


def issue(row: int | None, column: str | None, value: str | None, rule: str,
          severity: str = "error", zh: str = "说明", en: str = "message") -> dict[str, object]:
    return {"source_row": row, "column": column, "value": value, "rule": rule,
            "severity": severity, "message_zh": zh, "message_en": en}


def result_with(issues: list[dict[str, object]]) -> ValidationResult:
    frame = pl.DataFrame(issues, schema=ISSUE_SCHEMA)
    return ValidationResult(status=SubmissionStatus.REJECTED, valid=pl.DataFrame(), issues=frame,
                            rows_in=6, rows_loaded=0, rows_rejected=6)


@pytest.fixture
def result() -> ValidationResult:
    issues = [
        issue(5, "children_enrolled", "约100", "count_approximate", zh="数量须为确数",
              en="counts must be exact"),
        issue(3, "hours_per_day", "4", "hours_below_policy", "warning", "少于 5 小时", "fewer than 5 h"),
        common_issue("unknown_column", column="负责人", value="负责人"),
        issue(4, "site_name", "<script>alert(1)</script>", "value_required"),
        issue(6, "reporter_phone", PHONE, "value_required"),
        *(issue(7 + n, "site_code", value, "site_code_format") for n, value in enumerate(DANGEROUS)),
        issue(20, "site_code", "A1", "site_code_format", zh="=1+1", en="@evil"),
    ]
    return result_with(issues)


def test_escape_cell() -> None:
    assert [escape_cell(value) for value in DANGEROUS] == ["'" + value for value in DANGEROUS]
    assert escape_cell("约100") == "约100"
    assert escape_cell(5) == 5
    assert escape_cell(None) is None


def test_json_report(result: ValidationResult) -> None:
    data = json.loads(report_json(result, HEADER))
    assert data["status"] == "rejected" and data["status_zh"]
    assert data["file_name"] == HEADER["file_name"]
    assert data["counts"] == {"rows_in": 6, "rows_loaded": 0, "rows_rejected": 6, "rows_held": 0,
                              "errors": result.errors, "warnings": result.warnings}
    rows = [entry["source_row"] for entry in data["issues"]]
    assert rows == sorted(rows, key=lambda row: -1 if row is None else row)
    first = data["issues"][1]
    assert first["column"] == "hours_per_day" and first["column_zh"] == "每日托管时长"
    assert "约100" in report_json(result, HEADER)  # UTF-8, not \\u escapes
    values = [entry["value"] for entry in data["issues"] if entry["rule"] == "site_code_format"]
    assert values[:-1] == ["'" + value for value in DANGEROUS]
    assert data["issues"][-1]["message_zh"] == "'=1+1"
    assert data["issues"][-1]["message_en"] == "'@evil"


def test_html_report(result: ValidationResult) -> None:
    text = report_html(result, HEADER)
    assert text.startswith("<!DOCTYPE html>")
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "问题清单" in text and "Issues" in text
    assert "数量须为确数" in text and "counts must be exact" in text
    assert "每日托管时长" in text  # Chinese column label from the contract
    assert html.escape("'=HYPERLINK(") in text
    assert text.index(">3<") < text.index(">4<") < text.index(">5<")


def test_html_report_without_issues() -> None:
    text = report_html(result_with([]), HEADER)
    assert "No issues found" in text


def test_xlsx_report_escapes_formulas(result: ValidationResult, tmp_path: Path) -> None:
    path = report_xlsx(result, HEADER, tmp_path / "report.xlsx")
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["概况 Summary", "问题清单 Issues"]
    sheet = workbook["问题清单 Issues"]
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert all(cell.data_type != "f" for cell in cells)
    texts = [cell.value for cell in cells if isinstance(cell.value, str)]
    assert "'=HYPERLINK(\"http://evil\",\"x\")" in texts
    assert {"'+1+2", "'-5", "'@SUM(A1)", "'\t=1", "'=1+1", "'@evil"} <= set(texts)
    assert not any(text.startswith(("=", "+", "-", "@")) for text in texts)
    header = [cell.value for cell in sheet[1]]
    assert header[0].startswith("行号") and "English" in header[-1]
    rows = [row for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert rows[1][:2] == (3, "hours_per_day")
    warning_fill = sheet.cell(row=3, column=1).fill.fgColor.rgb  # row 3 of the file: a warning
    error_fill = sheet.cell(row=4, column=1).fill.fgColor.rgb  # row 4 of the file: an error
    assert {warning_fill, error_fill} == {"FFFFF4CC", "FFFDE2E2"}
    summary = {row[0]: row[1] for row in workbook["概况 Summary"].iter_rows(values_only=True)}
    assert summary["读入行数 rows in"] == 6
    assert summary["文件名 file"] == HEADER["file_name"]


def test_reports_never_contain_personal_data(result: ValidationResult, tmp_path: Path) -> None:
    assert PHONE not in report_json(result, HEADER)
    assert PHONE not in report_html(result, HEADER)
    path = report_xlsx(result, HEADER, tmp_path / "r.xlsx")
    workbook = openpyxl.load_workbook(path)
    values = [str(cell.value) for sheet in workbook for row in sheet.iter_rows() for cell in row]
    assert not any(PHONE in value or "reporter_phone" in value for value in values)


@pytest.mark.parametrize("suffix", [".json", ".html", ".xlsx"])
def test_write_report_by_suffix(result: ValidationResult, tmp_path: Path, suffix: str) -> None:
    path = write_report(result, HEADER, tmp_path / "out" / f"report{suffix}")
    assert path.exists() and path.stat().st_size > 0


def test_write_report_rejects_unknown_suffix(result: ValidationResult, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unsupported report format"):
        write_report(result, HEADER, tmp_path / "report.pdf")


def test_console_table(result: ValidationResult) -> None:
    console = Console(record=True, width=200)
    console.print(render_report_table(result, SITES))
    text = console.export_text()
    assert "count_approximate" in text and "约100" in text and "每日托管时长" in text
    assert PHONE not in text
    console = Console(record=True, width=200)
    console.print(render_report_table(result, SITES, max_rows=2))
    assert "showing 2 of" in console.export_text()


def test_console_table_prints_markup_literally() -> None:
    console = Console(record=True, width=200)
    console.print(render_report_table(result_with([issue(2, "site_name", "[red]x[/red]", "r")])))
    assert "[red]x[/red]" in console.export_text()
