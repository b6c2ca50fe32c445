"""The clerk report: JSON, HTML, XLSX and console table; grouped issues with how to fix them,
how the file was read, the preview; formula escaping; no personal data."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from rich.console import Console

from countyflow.ingest.model import (
    ISSUE_SCHEMA,
    SHEET_ROW_STRIDE,
    ReadLayout,
    RowCounts,
    SkippedPart,
    SubmissionStatus,
    ValidationResult,
    common_issue,
)
from countyflow.ingest.report import (
    escape_cell,
    render_read_table,
    render_report_table,
    report_groups,
    report_html,
    report_json,
    report_xlsx,
    write_report,
)
from schemas import CONTRACTS
from schemas.contract import COMMON_RULES

SITES = CONTRACTS["childcare_sites"]
HEADER = {"file_name": "昭阳区暑期托管点.xlsx", "county_code": "530602", "dataset": "childcare_sites",
          "period": "2025-summer", "submission_id": "ab" * 32}
PHONE = "13800138000"
DANGEROUS = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+2", "-5", "@SUM(A1)", "\t=1", "\r=1"]
REQUIRED = COMMON_RULES["value_required"]
APPROXIMATE = COMMON_RULES["count_approximate"]

LAYOUT = ReadLayout(
    sheets=("托管点汇总",),
    header_rows=(4, 5),
    skipped=(
        SkippedPart("sheet", "填表说明", "填表说明页", "instruction sheet"),
        SkippedPart("hidden_rows", "12–14", "隐藏行", "hidden rows"),
        SkippedPart("subtotal_rows", "20", "龙头山镇小计", "subtotal of 龙头山镇"),
        SkippedPart("notes_rows", "40–41", "表下注释", "notes under the table"),
        SkippedPart("hidden_columns", "K", "隐藏列", "hidden column"),
    ),
    preview_header=("托管点编码", "托管点名称", "托管儿童数", "联系电话"),
    preview_rows=(
        ("6", "ZY-0001", "城南小学托管点", "120", PHONE),
        ("7", "=HYPERLINK(1)", "<b>北门</b>", "约100", PHONE),
    ),
)


def issue(row: int | None, column: str | None, value: str | None, rule: str,
          severity: str = "error", zh: str = "说明", en: str = "message") -> dict[str, object]:
    return {"source_row": row, "column": column, "value": value, "rule": rule,
            "severity": severity, "message_zh": zh, "message_en": en}


def required(row: int, column: str = "site_name") -> dict[str, object]:
    return issue(row, column, None, "value_required", zh=REQUIRED.message_zh,
                 en=REQUIRED.message_en)


def result_with(issues: list[dict[str, object]], layout: ReadLayout | None = None,
                ) -> ValidationResult:
    frame = pl.DataFrame(issues, schema=ISSUE_SCHEMA)
    counts = RowCounts.from_issues(frame, rows_in=6, rows_loaded=0, rows_rejected=6)
    return ValidationResult(status=SubmissionStatus.REJECTED, valid=pl.DataFrame(), issues=frame,
                            counts=counts, layout=layout)


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
    return result_with(issues, LAYOUT)


@pytest.fixture
def grouped() -> ValidationResult:
    """A sheet with a wrong column over rows 5–64, gaps elsewhere, and file-level warnings."""
    issues = [
        common_issue("hidden_rows_skipped", detail="12–14"),
        *(issue(row, "children_enrolled", f"约{row}", "count_approximate",
                zh=APPROXIMATE.message_zh, en=APPROXIMATE.message_en) for row in range(5, 65)),
        *(required(row) for row in (9, 3, 4, 5, 70, 12, 13)),
        common_issue("unknown_column", column="负责人", value="负责人"),
    ]
    return result_with(issues, LAYOUT)


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
                              "errors": result.counts.errors, "warnings": result.counts.warnings}
    rows = [entry["source_row"] for entry in data["issues"]]
    assert rows == sorted(rows, key=lambda row: -1 if row is None else row)
    first = data["issues"][1]
    assert first["column"] == "hours_per_day" and first["column_zh"] == "每日托管时长"
    assert "约100" in report_json(result, HEADER)  # UTF-8, not \\u escapes
    values = [entry["value"] for entry in data["issues"] if entry["rule"] == "site_code_format"]
    assert values[:-1] == ["'" + value for value in DANGEROUS]
    assert data["issues"][-1]["message_zh"] == "'=1+1"
    assert data["issues"][-1]["message_en"] == "'@evil"


def test_sixty_identical_issues_are_one_group(grouped: ValidationResult) -> None:
    groups = report_groups(grouped, SITES).filter(pl.col("rule") == "count_approximate")
    assert groups.height == 1
    group = groups.row(0, named=True)
    assert group["rows"] == "5–64" and group["rows_zh"] == "第 5–64 行"
    assert group["rows_en"] == "rows 5–64" and group["row_ranges"] == [[5, 64]]
    assert group["count"] == 60 and group["distinct_values"] == 60
    assert group["values"] == ["约5", "约6", "约7"]  # at most 3, in row order
    assert group["column_zh"] == "托管儿童数"
    assert (group["fix_zh"], group["fix_en"]) == (APPROXIMATE.fix_zh, APPROXIMATE.fix_en)


def test_ranges_with_gaps_and_group_order(grouped: ValidationResult) -> None:
    groups = report_groups(grouped, SITES)
    # File-level issues first, one line each, in their order; then by first row.
    assert groups["rule"].to_list() == ["hidden_rows_skipped", "unknown_column",
                                        "value_required", "count_approximate"]
    assert groups["rows"].to_list()[:2] == ["", ""]
    assert groups["row_ranges"].to_list()[:2] == [[], []]
    required_group = groups.row(2, named=True)
    assert required_group["rows"] == "3–5, 9, 12–13, 70"
    assert required_group["rows_zh"] == "第 3–5、9、12–13、70 行"
    assert required_group["rows_en"] == "rows 3–5, 9, 12–13, 70"
    assert required_group["row_ranges"] == [[3, 5], [9, 9], [12, 13], [70, 70]]
    assert required_group["count"] == 7 and required_group["values"] == []
    assert required_group["fix_zh"] == REQUIRED.fix_zh


def test_groups_split_on_column_severity_and_message() -> None:
    result = result_with([
        required(2), required(3), required(4, "township"),
        issue(5, "site_name", None, "value_required", "warning", REQUIRED.message_zh,
              REQUIRED.message_en),
        issue(6, "site_name", None, "value_required", zh="另一条说明", en="another message"),
        common_issue("unknown_column", column="甲", value="甲"),
        common_issue("unknown_column", column="甲", value="甲"),
        issue(8, "site_code", "=1", "site_code_format"),
    ])
    groups = report_groups(result, SITES)
    assert groups.select("column", "rows", "count").rows() == [
        ("甲", "", 1), ("甲", "", 1), ("site_name", "2–3", 2), ("township", "4", 1),
        ("site_name", "5", 1), ("site_name", "6", 1), ("site_code", "8", 1),
    ]
    assert groups["rows_en"].to_list()[3] == "row 4"
    assert groups["values"].to_list()[-1] == ["'=1"]  # escaped as in `issues`


def test_rows_of_several_sheets_are_named_by_sheet() -> None:
    """Month sheets read together: each sheet's own row numbers, under its name."""
    second = SHEET_ROW_STRIDE
    rows = [5, 6, 7, second + 3, second + 4, second + 9]
    layout = ReadLayout(sheets=("6月", "7月"), header_rows=(2,))
    result = result_with([required(row) for row in rows], layout)
    group = report_groups(result, SITES).row(0, named=True)
    assert group["rows"] == "6月 5–7; 7月 3–4, 9"
    assert group["rows_zh"] == "6月 第 5–7 行；7月 第 3–4、9 行"
    assert group["rows_en"] == "6月 rows 5–7; 7月 rows 3–4, 9"
    assert group["row_ranges"] == [[5, 7], [second + 3, second + 4], [second + 9, second + 9]]
    assert group["count"] == 6
    page = report_html(result, HEADER)
    assert "6月 第 5–7 行；7月 第 3–4、9 行" in page and str(second) not in page
    # Only the second sheet has issues, and its name looks like a formula.
    result = result_with([required(second + 8)], ReadLayout(sheets=("6月", "=7月")))
    assert report_groups(result, SITES)["rows_zh"].to_list() == ["'=7月 第 8 行"]


def test_every_rule_has_a_fix_in_the_groups() -> None:
    """Every rule a report can name, common or contract, comes with its 怎么改 line."""
    rules = [*COMMON_RULES, *{rule.id for c in CONTRACTS.values() for rule in c.rules}]
    result = result_with([issue(row, None, None, rule) for row, rule in enumerate(rules, 2)])
    groups = report_groups(result)
    assert groups.height == len(rules)
    blank = groups.filter((pl.col("fix_zh") == "") | (pl.col("fix_en") == ""))["rule"].to_list()
    assert blank == []


def test_json_groups_and_read(grouped: ValidationResult) -> None:
    data = json.loads(report_json(grouped, HEADER))
    assert {"issues", "counts", "status", "status_zh", "groups", "read"} <= set(data)
    assert len(data["issues"]) == 69 and len(data["groups"]) == 4
    group = data["groups"][-1]
    assert group == {
        "rule": "count_approximate", "column": "children_enrolled", "column_zh": "托管儿童数",
        "column_en": "children enrolled at the site", "severity": "error",
        "message_zh": APPROXIMATE.message_zh, "message_en": APPROXIMATE.message_en,
        "fix_zh": APPROXIMATE.fix_zh, "fix_en": APPROXIMATE.fix_en, "rows": "5–64",
        "rows_zh": "第 5–64 行", "rows_en": "rows 5–64", "row_ranges": [[5, 64]],
        "row_ranges_total": 1, "count": 60, "values": ["约5", "约6", "约7"], "distinct_values": 60,
    }
    read = data["read"]
    assert read["sheets"] == ["托管点汇总"] and read["header_rows"] == [4, 5]
    assert read["skipped"][0] == {"kind": "sheet", "where": "填表说明", "reason_zh": "填表说明页",
                                  "reason_en": "instruction sheet"}
    assert [part["kind"] for part in read["skipped"]] == [
        "sheet", "hidden_rows", "subtotal_rows", "notes_rows", "hidden_columns"]
    # The phone column never leaves the reader's preview; formula-like cells are escaped.
    assert read["preview_header"] == ["托管点编码", "托管点名称", "托管儿童数"]
    assert read["preview_rows"] == [["6", "ZY-0001", "城南小学托管点", "120"],
                                    ["7", "'=HYPERLINK(1)", "<b>北门</b>", "约100"]]


def test_json_read_is_null_without_a_layout() -> None:
    data = json.loads(report_json(result_with([required(2)]), HEADER))
    assert data["read"] is None and data["groups"][0]["rows"] == "2"


def _visible_text(page: str) -> str:
    """What a clerk sees: the body without tags (attribute values included, to be strict)."""
    body = page[page.index("<body>"):]
    return html.unescape(re.sub(r"<[^>]*>", " ", body)) + " ".join(re.findall(r'"([^"]*)"', body))


def test_html_report(result: ValidationResult) -> None:
    text = report_html(result, HEADER)
    assert text.startswith("<!DOCTYPE html>")
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "问题清单" in text and "Issues" in text
    assert "数量须为确数" in text and "counts must be exact" in text
    assert "每日托管时长" in text  # Chinese column label from the contract
    assert html.escape("'=HYPERLINK(") in text
    assert text.index("第 3 行") < text.index("第 4 行") < text.index("第 5 行")


def test_html_report_reads_like_a_clerk_form(grouped: ValidationResult) -> None:
    text = report_html(grouped, HEADER)
    visible = _visible_text(text)
    # How the file was read: sheet, header rows, everything skipped with where and why.
    assert "读取情况" in text and "How the file was read" in text
    assert "托管点汇总" in visible and "第 4–5 行" in visible and "rows 4–5" in visible
    for where, why in (("填表说明", "instruction sheet"), ("12–14", "隐藏行"),
                       ("20", "龙头山镇小计"), ("40–41", "notes under the table"), ("K", "隐藏列")):
        assert f"<td>{where}</td>" in text and why in visible
    assert "未读取的工作表" in visible and "小计行" in visible and "hidden columns" in visible
    # Grouped issues with the fix, Chinese labels, ranges and counts.
    assert "第 5–64 行" in visible and "rows 5–64" in visible and "共 60 处" in visible
    assert "第 3–5、9、12–13、70 行" in visible
    assert APPROXIMATE.fix_zh in visible and html.escape(APPROXIMATE.fix_en) in text
    assert REQUIRED.fix_zh in visible and "怎么改" in visible
    assert "托管儿童数" in visible and "托管点名称" in visible and "整个文件" in visible
    # Preview: the header highlighted, the first rows, escaped.
    assert "表格预览" in text and 'class="header"' in text
    assert "<th>托管点编码</th>" in text and "<td>城南小学托管点</td>" in text
    assert "<td>&#x27;=HYPERLINK(1)</td>" in text and "&lt;b&gt;北门&lt;/b&gt;" in text
    assert PHONE not in text and "联系电话" not in text
    # Sections in the order a clerk reads them.
    assert (text.index("读取情况") < text.index("问题清单") < text.index("表格预览"))
    # Ids are for machines: no rule or column id anywhere in the clerk's page.
    for machine_id in ("value_required", "count_approximate", "hidden_rows_skipped",
                       "unknown_column", "children_enrolled", "site_name"):
        assert machine_id not in visible


def test_html_report_escapes_formula_values_in_groups() -> None:
    page = report_html(result_with([issue(2, "site_code", value, "site_code_format")
                                    for value in DANGEROUS[:3]]), HEADER)
    for value in DANGEROUS[:3]:
        escaped = html.escape("'" + value)
        assert f'<span class="value">{escaped}</span>' in page
    assert "第 2 行" in page and "共 3 处" in page


def test_html_report_without_issues() -> None:
    text = report_html(result_with([]), HEADER)
    assert "No issues found" in text
    assert "How the file was read" in text and "表格预览" not in text


def test_xlsx_report_escapes_formulas(result: ValidationResult, tmp_path: Path) -> None:
    path = report_xlsx(result, HEADER, tmp_path / "report.xlsx")
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["概况 Summary", "问题汇总 Grouped issues", "读取情况 How read",
                                   "问题清单 Issues"]
    cells = [cell for sheet in workbook for row in sheet.iter_rows() for cell in row]
    assert all(cell.data_type != "f" for cell in cells)
    texts = [cell.value for cell in cells if isinstance(cell.value, str)]
    assert not any(text.startswith(("=", "+", "-", "@")) for text in texts)
    sheet = workbook["问题清单 Issues"]
    issue_texts = {cell.value for row in sheet.iter_rows() for cell in row}
    assert "'=HYPERLINK(\"http://evil\",\"x\")" in issue_texts
    assert {"'+1+2", "'-5", "'@SUM(A1)", "'\t=1", "'=1+1", "'@evil"} <= issue_texts
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
    read = [value for row in workbook["读取情况 How read"].iter_rows(values_only=True)
            for value in row if value is not None]
    assert "托管点汇总" in read and "4–5" in read and "'=HYPERLINK(1)" in read


def test_xlsx_grouped_sheet(grouped: ValidationResult, tmp_path: Path) -> None:
    path = report_xlsx(grouped, HEADER, tmp_path / "report.xlsx")
    sheet = openpyxl.load_workbook(path)["问题汇总 Grouped issues"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 4
    last = rows[-1]
    assert last[0] == "第 5–64 行\nrows 5–64" and last[1] == 60
    assert last[2] == "托管儿童数\nchildren enrolled at the site"
    assert last[3].startswith("约5\n约6\n约7\n")
    assert last[5] == f"{APPROXIMATE.fix_zh}\n{APPROXIMATE.fix_en}"
    assert sheet.cell(row=5, column=1).fill.fgColor.rgb == "FFFDE2E2"
    assert rows[0][0] == "整个文件\nwhole file"


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
    assert "showing 2 of" in " ".join(console.export_text().split())


def test_console_table_shows_groups(grouped: ValidationResult) -> None:
    console = Console(record=True, width=220)
    console.print(render_report_table(grouped, SITES))
    text = console.export_text()
    assert "5–64" in text and "(60)" in text and "3–5, 9, 12–13, 70" in text
    assert APPROXIMATE.fix_zh in text
    assert text.count("count_approximate") == 1
    console = Console(record=True, width=220)
    console.print(render_report_table(grouped, SITES, max_rows=1))
    caption = " ".join(console.export_text().split())
    assert "showing 1 of 4 groups (69 issues)" in caption


def test_console_read_table() -> None:
    assert render_read_table(None) is None
    console = Console(record=True, width=200)
    console.print(render_read_table(LAYOUT))
    text = console.export_text()
    assert "托管点汇总" in text and "4–5" in text and "龙头山镇小计" in text
    assert PHONE not in text


def test_console_table_prints_markup_literally() -> None:
    console = Console(record=True, width=200)
    console.print(render_report_table(result_with([issue(2, "site_name", "[red]x[/red]", "r")])))
    assert "[red]x[/red]" in console.export_text()


# --- limits: amplification caps -------------------------------------------------------------


def _flood() -> ValidationResult:
    """400 000 issues: 300 000 cells of three columns (column a on every other row, so its
    rows are 150 000 separate ranges; every value distinct and 1 000 characters) and
    100 000 duplicate-key issues in pairs (50 000 groups, each its own message)."""
    rows_a = list(range(2, 300_002, 2))
    rows_bc = list(range(2, 75_002))
    pairs = list(range(2, 100_002))
    long = "约" + "9" * 999
    frames = [
        pl.DataFrame({"source_row": rows_a, "column": "children_enrolled",
                      "value": [f"{row}{long}" for row in rows_a]}),
        *(pl.DataFrame({"source_row": rows_bc, "column": column,
                        "value": [f"约{row}" for row in rows_bc]})
          for column in ("left_behind_children", "relocated_children")),
    ]
    counts = pl.concat(frames).with_columns(
        pl.lit("count_approximate").alias("rule"), pl.lit("error").alias("severity"),
        pl.lit(APPROXIMATE.message_zh).alias("message_zh"),
        pl.lit(APPROXIMATE.message_en).alias("message_en"))
    duplicates = pl.DataFrame({"source_row": pairs}).with_columns(
        pl.lit("site_code").alias("column"), pl.lit("ZY-0001").alias("value"),
        pl.lit("duplicate_key").alias("rule"), pl.lit("error").alias("severity"),
        pl.concat_str(pl.lit("重复 "), (pl.col("source_row") // 2).cast(pl.Utf8)).alias("message_zh"),
        pl.concat_str(pl.lit("repeated "), (pl.col("source_row") // 2).cast(pl.Utf8))
        .alias("message_en"))
    issues = pl.concat([counts.select(list(ISSUE_SCHEMA)), duplicates.select(list(ISSUE_SCHEMA))])
    issues = issues.cast(ISSUE_SCHEMA).sort("source_row", maintain_order=True)  # type: ignore[arg-type]
    assert issues.height == 400_000
    counts = RowCounts.from_issues(issues, rows_in=300_001, rows_loaded=0, rows_rejected=300_001)
    return ValidationResult(status=SubmissionStatus.REJECTED, valid=pl.DataFrame(), issues=issues,
                            counts=counts)


@pytest.fixture(scope="module")
def flood() -> ValidationResult:
    return _flood()


def test_a_flood_of_issues_gives_a_bounded_json_report_with_exact_counts(
        flood: ValidationResult) -> None:
    text = report_json(flood, HEADER, SITES, max_issue_rows=1000)
    assert len(text.encode()) < 4_000_000
    data = json.loads(text)
    assert data["counts"]["errors"] == 400_000 and data["counts"]["rows_rejected"] == 300_001
    # issues: the first 1 000 of each rule × column, and one summary each saying how many more
    issues = pl.DataFrame(data["issues"])
    assert issues.height == 4 * 1001
    summaries = issues.filter(pl.col("source_row").is_null())
    assert summaries.select("column", "value").sort("column").rows() == [
        ("children_enrolled", "149000"), ("left_behind_children", "74000"),
        ("relocated_children", "74000"), ("site_code", "99000")]
    assert issues["value"].str.len_chars().max() < 300  # type: ignore[operator]
    # groups: exact counts; at most 1 000 groups per rule × column, the rest in one
    groups = data["groups"]
    assert sum(group["count"] for group in groups) == 400_000
    assert len(groups) == 3 + 1001
    rest = groups[-1]
    assert rest["rule"] == "duplicate_key" and rest["count"] == 100_000 - 2 * 1000
    assert rest["message_en"] == "and 49000 more groups of this kind not listed"
    assert rest["row_ranges"] == [[2002, 100_001]]
    every_other = next(group for group in groups if group["column"] == "children_enrolled")
    assert every_other["count"] == 150_000 and every_other["row_ranges_total"] == 150_000
    assert len(every_other["row_ranges"]) == 500
    assert len(every_other["rows_zh"]) <= 2_000 and every_other["rows_zh"].endswith("…")
    assert every_other["distinct_values"] == 150_000
    assert all(len(value) < 300 for value in every_other["values"])


def test_a_flood_of_issues_gives_bounded_html_and_xlsx_reports(
        flood: ValidationResult, tmp_path: Path) -> None:
    page = report_html(flood, HEADER, SITES, max_issue_rows=1000)
    assert len(page.encode()) < 3_000_000
    assert "共 150000 处" in page and "and 49000 more groups of this kind not listed" in page
    path = report_xlsx(flood, HEADER, tmp_path / "flood.xlsx", SITES, max_issue_rows=1000)
    assert path.stat().st_size < 2_000_000
    book = openpyxl.load_workbook(path, read_only=True)
    assert book["问题清单 Issues"].max_row == 1 + 4 * 1001


def test_uncapped_reports_list_every_issue() -> None:
    issues = [issue(row, "site_name", f"v{row}", "r") for row in range(2, 52)]
    data = json.loads(report_json(result_with(issues), HEADER, max_issue_rows=None))
    assert len(data["issues"]) == 50
    data = json.loads(report_json(result_with(issues), HEADER, max_issue_rows=10))
    assert len(data["issues"]) == 11 and data["issues"][-1]["message_en"] == (
        "and 40 more rows not listed (rows 12–51)")
    assert data["groups"][0]["count"] == 50


def test_console_cells_are_clipped_so_a_huge_cell_cannot_hang_the_table() -> None:
    huge = "长" * 20_000_000
    result = result_with([issue(2, "site_name", huge, "r", zh=huge, en="m"),
                          issue(None, huge, None, "unknown_column", "warning")])
    console = Console(record=True, width=200)
    console.print(render_report_table(result, SITES))
    text = console.export_text()
    assert len(text) < 20_000 and "…" in text
    layout = ReadLayout(sheets=(huge,), skipped=(SkippedPart("hidden_rows", huge, "隐藏行", "x"),))
    console = Console(record=True, width=200)
    console.print(render_read_table(layout))
    assert len(console.export_text()) < 20_000
