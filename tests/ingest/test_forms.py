"""Workbooks laid out the way county offices fill them in (SPEC §3.1), read for their numbers.

Each workbook is built as a clerk makes it in Excel or WPS — merged cells holding their
value in the top-left cell only, hidden rows, two-row headers, a sheet per month, a 卫统
form block — and each test asserts the values read and loaded, not only the verdict.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date

import polars as pl
import pytest

from countyflow.ingest.model import (
    SHEET_ROW_STRIDE,
    SOURCE_ROW,
    ParsedSubmission,
    SubmissionRejected,
    ValidationResult,
)
from countyflow.ingest.read import read_submission
from countyflow.ingest.validate import validate_submission
from countyflow.periods import parse_period
from schemas import CONTRACTS
from tests.ingest.files import SITES_HEADER, Sheet, replace_member, site_row, workbook_bytes

LIMITS = {"max_cells": 1_000_000, "max_columns": 500}
SITES = CONTRACTS["childcare_sites"]


def read(data: bytes, dataset: str, period: str, county: str = "530602") -> ParsedSubmission:
    return read_submission(data, extension="xlsx", contract=CONTRACTS[dataset],
                           expected={"county_code": county, "dataset": dataset, "period": period},
                           **LIMITS)


def check(data: bytes, dataset: str, period: str, county: str = "530602") -> ValidationResult:
    """Read and validate as `countyflow check` does (no warehouse lookups)."""
    parsed = read(data, dataset, period, county)
    return validate_submission(parsed, CONTRACTS[dataset], county_code=county,
                               period=parse_period(period), hold_missing=False)


def rejection(data: bytes, dataset: str, period: str) -> SubmissionRejected:
    with pytest.raises(SubmissionRejected) as caught:
        read(data, dataset, period)
    return caught.value


def rules(result: ValidationResult) -> list[str]:
    return result.issues["rule"].to_list()


def column(result: ValidationResult, name: str) -> list[object]:
    return result.valid[name].to_list()


# --- health: a yearly workbook, one sheet per month, under a 卫统 form block ---------------

HEALTH_HEADER = ["县（区）", "机构代码", "机构名称", "科室", "开放床位数", "手术台次"]
WEITONG_BLOCK: list[list[object]] = [
    ["医疗机构专科服务月报表"],
    [None, None, None, None, "表    号：", "卫统1-1表"],
    [None, None, None, None, "制表机关：", "国家卫生健康委员会"],
    [None, None, None, None, "批准机关：", "国家统计局"],
    [None, None, None, None, "批准文号：", "国统制〔2024〕18号"],
    [None, None, None, None, "有效期至：", "2027年12月"],
    ["组织机构代码：", "□□□□□□□□-□", None, "机构名称", "昭通市第一人民医院"],
    [None, None, None, "2025年 6月"],
    [],
]


def health_month(month: int, *, block: bool = False) -> list[list[object]]:
    """A month's table: two departments of one facility, surgeries 100 × month + 1 / 2."""
    rows: list[list[object]] = [*(WEITONG_BLOCK if block else []), HEALTH_HEADER]
    rows += [["昭阳区", "HOSP001", "昭通市第一人民医院", "冠心病", 40, 100 * month + 1],
             ["昭阳区", "HOSP001", "昭通市第一人民医院", "心律失常", 30, 100 * month + 2]]
    return rows


def yearly_workbook(months: range, *, block: bool = False, names: str = "{}月") -> bytes:
    return workbook_bytes(*(Sheet(names.format(m), health_month(m, block=block)) for m in months))


def test_monthly_dataset_reads_the_sheet_of_its_month() -> None:
    result = check(yearly_workbook(range(1, 7)), "health_monthly", "2025-06")
    assert result.status == "accepted_with_warnings"
    assert column(result, "surgeries") == [601, 602]
    skipped = result.issues.filter(pl.col("rule") == "sheet_skipped")["value"].to_list()
    assert skipped == ["1月", "2月", "3月", "4月", "5月"]
    assert result.layout is not None and result.layout.sheets == ("6月",)


@pytest.mark.parametrize("names", ["{}月", "2025年{}月", "2025-{:02d}", "{}月份"])
def test_month_sheet_names(names: str) -> None:
    result = check(yearly_workbook(range(4, 8), names=names), "health_monthly", "2025-05")
    assert column(result, "surgeries") == [501, 502]


def test_chinese_and_english_month_names() -> None:
    data = workbook_bytes(Sheet("五月", health_month(5)), Sheet("六月", health_month(6)))
    assert column(check(data, "health_monthly", "2025-06"), "surgeries") == [601, 602]
    data = workbook_bytes(Sheet("May", health_month(5)), Sheet("Jun", health_month(6)))
    assert column(check(data, "health_monthly", "2025-05"), "surgeries") == [501, 502]


def test_month_missing_from_a_monthly_workbook_is_an_error_naming_the_sheets() -> None:
    error = rejection(yearly_workbook(range(1, 7)), "health_monthly", "2025-07")
    assert error.rule == "sheet_for_period_missing"
    assert "1月" in error.detail and "6月" in error.detail


def test_sheet_of_another_year_is_not_this_period() -> None:
    data = workbook_bytes(Sheet("2024年6月", health_month(6)), Sheet("2024年7月", health_month(7)))
    assert rejection(data, "health_monthly", "2025-06").rule == "sheet_for_period_missing"


def test_two_matching_sheets_the_period_cannot_decide_is_an_error() -> None:
    data = workbook_bytes(Sheet("Sheet1", health_month(6)), Sheet("Sheet1 (2)", health_month(6)))
    error = rejection(data, "health_monthly", "2025-06")
    assert error.rule == "sheet_ambiguous"
    assert "Sheet1" in error.detail and "Sheet1 (2)" in error.detail


def test_weitong_form_block_pushes_the_header_to_row_ten() -> None:
    result = check(yearly_workbook(range(6, 7), block=True), "health_monthly", "2025-06")
    assert result.status == "accepted"
    assert column(result, "surgeries") == [601, 602]
    assert column(result, "facility_code") == ["HOSP001", "HOSP001"]
    assert column(result, SOURCE_ROW) == [11, 12]
    assert result.layout is not None and result.layout.header_rows == (10,)


def test_department_subtotal_is_not_a_department_and_is_reconciled() -> None:
    rows = [HEALTH_HEADER,
            ["昭阳区", "HOSP001", "昭通市第一人民医院", "冠心病", 40, 120],
            ["昭阳区", "HOSP001", "昭通市第一人民医院", "心律失常", 30, 80],
            ["昭阳区", "HOSP001", "昭通市第一人民医院", "小计", 70, 210]]
    result = check(workbook_bytes(Sheet("Sheet1", rows)), "health_monthly", "2025-06")
    assert column(result, "department") == ["冠心病", "心律失常"]
    assert column(result, "surgeries") == [120, 80]
    mismatch = result.issues.filter(pl.col("rule") == "subtotal_mismatch")
    assert mismatch["column"].to_list() == ["surgeries"]
    assert mismatch[SOURCE_ROW].to_list() == [4]
    assert "210" in mismatch["message_zh"][0] and "200" in mismatch["message_zh"][0]


def test_a_subtotal_over_one_row_names_that_row_not_a_range() -> None:
    rows = [HEALTH_HEADER,
            ["昭阳区", "HOSP001", "昭通市第一人民医院", "冠心病", 40, 120],
            ["昭阳区", "HOSP001", "昭通市第一人民医院", "小计", 40, 121]]
    result = check(workbook_bytes(Sheet("Sheet1", rows)), "health_monthly", "2025-06")
    [message_zh] = result.issues.filter(pl.col("rule") == "subtotal_mismatch")["message_zh"].to_list()
    assert "填写为 121，第 2 行为 120" in message_zh
    [message_en] = result.issues.filter(pl.col("rule") == "subtotal_mismatch")["message_en"].to_list()
    assert "written 121, row 2 has 120" in message_en


# --- childcare sites: merged townships, 小计 per township, a 总合计 under the header ----------

SITES_WITH_TOWNSHIP = ["县（区）", "乡镇（街道）", "托管点编码", "托管点名称", "托管点类型", "开始日期",
                       "结束日期", "每日托管时长", "托管儿童数", "其中留守儿童数"]


def site(code: str, children: int, left_behind: int) -> list[object]:
    return [code, f"{code}点", "学校", date(2025, 7, 6), date(2025, 8, 10), 5.5, children, left_behind]


def test_merged_county_and_township_fill_every_row_they_span() -> None:
    rows = [SITES_WITH_TOWNSHIP,
            ["昭阳区", "龙泉街道", *site("ZY-0001", 100, 40)],
            [None, None, *site("ZY-0002", 120, 50)],
            [None, "北闸镇", *site("ZY-0003", 90, 30)],
            [None, None, *site("ZY-0004", 80, 20)],
            [None, None, *site("ZY-0005", 70, 10)]]
    data = workbook_bytes(Sheet("Sheet1", rows, merge=[(1, 0, 5, 0), (1, 1, 2, 1), (3, 1, 5, 1)]))
    result = check(data, "childcare_sites", "2025-summer")
    assert result.status == "accepted", result.issues
    assert column(result, "county_code") == ["530602"] * 5
    assert column(result, "township") == ["龙泉街道", "龙泉街道", "北闸镇", "北闸镇", "北闸镇"]
    assert column(result, "children_enrolled") == [100, 120, 90, 80, 70]


def test_township_subtotals_and_a_grand_total_right_under_the_header() -> None:
    rows = [SITES_WITH_TOWNSHIP,
            ["总合计", None, None, None, None, None, None, None, 460, 150],
            ["昭阳区", "龙泉街道", *site("ZY-0001", 100, 40)],
            [None, None, *site("ZY-0002", 120, 50)],
            [None, "龙泉街道小计", None, None, None, None, None, None, 220, 90],
            [None, "北闸镇", *site("ZY-0003", 90, 30)],
            [None, None, *site("ZY-0004", 80, 20)],
            [None, None, *site("ZY-0005", 70, 10)],
            [None, "小计", None, None, None, None, None, None, 240, 61]]
    data = workbook_bytes(Sheet("Sheet1", rows, merge=[(2, 0, 8, 0), (2, 1, 3, 1), (5, 1, 7, 1)]))
    result = check(data, "childcare_sites", "2025-summer")
    assert column(result, "site_code") == ["ZY-0001", "ZY-0002", "ZY-0003", "ZY-0004", "ZY-0005"]
    assert column(result, "township") == ["龙泉街道", "龙泉街道", "北闸镇", "北闸镇", "北闸镇"]
    assert result.counts.rows_in == 5 and result.counts.rows_loaded == 5
    mismatches = result.issues.filter(pl.col("rule").str.ends_with("mismatch"))
    # 北闸镇's 61 left-behind children disagree with its rows (60); everything else adds up.
    assert mismatches.select("rule", "column", SOURCE_ROW).rows() == [
        ("subtotal_mismatch", "left_behind_children", 9)]
    assert "61" in mismatches["message_zh"][0] and "60" in mismatches["message_zh"][0]
    assert result.layout is not None
    kinds = {part.kind: part.where for part in result.layout.skipped}
    assert kinds["subtotal_rows"].endswith("5, 9") and kinds["total_rows"].endswith("2")


def test_grand_total_that_does_not_add_up_shows_both_numbers() -> None:
    rows = [SITES_HEADER, site_row(1), site_row(2),
            ["全县合计", None, None, None, None, None, None, 1900, 603]]
    result = check(workbook_bytes(Sheet("Sheet1", rows)), "childcare_sites", "2025-summer")
    mismatch = result.issues.filter(pl.col("rule") == "total_row_mismatch")
    assert mismatch["column"].to_list() == ["children_enrolled"]
    assert "1900" in mismatch["message_en"][0] and "1803" in mismatch["message_en"][0]


def test_hidden_cancelled_site_is_not_loaded() -> None:
    rows = [SITES_HEADER, site_row(1), site_row(2), site_row(3), site_row(4)]
    result = check(workbook_bytes(Sheet("Sheet1", rows, hidden_rows=[2])), "childcare_sites",
                   "2025-summer")
    assert column(result, "site_code") == ["ZY-0001", "ZY-0003", "ZY-0004"]
    assert result.counts.rows_in == 3
    hidden = result.issues.filter(pl.col("rule") == "hidden_rows_skipped")
    assert hidden.height == 1 and "3" in hidden["message_zh"][0]


def test_hidden_column_is_ignored_with_a_warning() -> None:
    header = [*SITES_HEADER, "其中搬迁群众子女数"]
    rows = [header, [*site_row(1), 5], [*site_row(2), 6]]
    result = check(workbook_bytes(Sheet("Sheet1", rows, hidden_columns=[9])), "childcare_sites",
                   "2025-summer")
    assert column(result, "relocated_children") == [None, None]
    assert "hidden_columns_ignored" in rules(result)


def test_two_row_header_with_which_of_parent() -> None:
    top = ["县（区）", "托管点编码", "托管点名称", "托管点类型", "开始日期", "结束日期", "每日托管时长",
           "托管儿童数", "其中", None]
    leaves = [None] * 8 + ["留守儿童数", "搬迁群众子女数"]
    rows = [["昭阳区2025年暑期托管点统计表"], top, leaves,
            [*site_row(1), 12], [*site_row(2), 0]]
    merges = [(0, 0, 0, 9), *((1, c, 2, c) for c in range(8)), (1, 8, 1, 9)]
    result = check(workbook_bytes(Sheet("Sheet1", rows, merge=merges)), "childcare_sites", "2025-summer")
    assert result.status == "accepted", result.issues
    assert column(result, "left_behind_children") == [301, 302]
    assert column(result, "relocated_children") == [12, 0]
    assert result.layout is not None and result.layout.header_rows == (2, 3)


def test_two_row_header_without_merges_down() -> None:
    """Some clerks do not merge the single headers down: the empty cell below is fine."""
    top = [*SITES_HEADER[:8], "其中", None]
    leaves = [None] * 8 + ["留守儿童数", "搬迁群众子女数"]
    rows = [top, leaves, [*site_row(1)[:8], 301, 3]]
    result = check(workbook_bytes(Sheet("Sheet1", rows, merge=[(0, 8, 0, 9)])), "childcare_sites",
                   "2025-summer")
    assert (column(result, "left_behind_children"), column(result, "relocated_children")) == ([301], [3])


def test_column_number_row_under_the_header_is_not_data() -> None:
    rows = [SITES_HEADER, ["甲", "乙", "丙", "丁", "1", "2", "3", "4", "5"], site_row(1)]
    result = check(workbook_bytes(Sheet("Sheet1", rows)), "childcare_sites", "2025-summer")
    assert result.status == "accepted" and column(result, SOURCE_ROW) == [3]


def test_dash_for_none_in_a_required_count_is_zero() -> None:
    rows = [SITES_HEADER, site_row(1), [*site_row(2)[:8], "—"], [*site_row(3)[:8], "－"]]
    result = check(workbook_bytes(Sheet("Sheet1", rows)), "childcare_sites", "2025-summer")
    assert column(result, "left_behind_children") == [301, 0, 0]
    assert rules(result) == ["count_dash_zero"]


def test_instructions_sheet_before_the_data() -> None:
    data = workbook_bytes(Sheet("填表说明", [["1. 本表由各县填报"], ["2. 数量填确数"]]),
                          Sheet("托管点", [SITES_HEADER, site_row(1)]))
    result = check(data, "childcare_sites", "2025-summer")
    assert column(result, "site_code") == ["ZY-0001"]
    assert result.issues.filter(pl.col("rule") == "sheet_skipped")["value"].to_list() == ["填表说明"]


def test_empty_default_sheets_are_not_warned_about() -> None:
    data = workbook_bytes(Sheet("Sheet1", [SITES_HEADER, site_row(1)]), Sheet("Sheet2", []),
                          Sheet("Sheet3", []))
    assert check(data, "childcare_sites", "2025-summer").status == "accepted"


def test_sheet_without_a_county_column_takes_the_path_county() -> None:
    rows = [SITES_HEADER[1:], site_row(1)[1:], site_row(2)[1:]]
    result = check(workbook_bytes(Sheet("Sheet1", rows)), "childcare_sites", "2025-summer", county="530626")
    assert column(result, "county_code") == ["530626", "530626"]
    assert rules(result) == ["county_from_path"]


def test_merge_running_into_a_blank_row_adds_no_row() -> None:
    rows = [SITES_WITH_TOWNSHIP, ["昭阳区", "龙泉街道", *site("ZY-0001", 100, 40)],
            [None, None, *site("ZY-0002", 120, 50)], []]
    data = workbook_bytes(Sheet("Sheet1", rows, merge=[(1, 0, 3, 0), (1, 1, 3, 1)]))
    result = check(data, "childcare_sites", "2025-summer")
    assert result.counts.rows_in == 2 and result.status == "accepted"


# --- daily attendance split by month ------------------------------------------------------

DAILY_HEADER = ["托管点编码", "日期", "到托人数"]


def test_daily_attendance_reads_every_month_sheet_of_the_season() -> None:
    july = [DAILY_HEADER, ["ZY-0001", date(2025, 7, 30), 40], ["ZY-0001", "7.31", 41]]
    august = [DAILY_HEADER, ["ZY-0001", date(2025, 8, 1), 42], ["ZY-0001", "8月2日", 43]]
    data = workbook_bytes(Sheet("7月", july), Sheet("8月", august))
    result = check(data, "childcare_daily", "2025-summer")
    assert result.status == "accepted", result.issues
    assert column(result, "date") == [date(2025, 7, 30), date(2025, 7, 31), date(2025, 8, 1),
                                      date(2025, 8, 2)]
    assert column(result, "children_present") == [40, 41, 42, 43]
    assert column(result, SOURCE_ROW) == [2, 3, SHEET_ROW_STRIDE + 2, SHEET_ROW_STRIDE + 3]
    assert result.layout is not None and result.layout.sheets == ("7月", "8月")


def test_daily_month_sheet_outside_the_season_is_skipped_with_a_warning() -> None:
    data = workbook_bytes(Sheet("7月", [DAILY_HEADER, ["ZY-0001", "7.30", 40]]),
                          Sheet("10月", [DAILY_HEADER, ["ZY-0001", "10.1", 9]]))
    result = check(data, "childcare_daily", "2025-summer")
    assert column(result, "children_present") == [40]
    assert result.issues.filter(pl.col("rule") == "sheet_skipped")["value"].to_list() == ["10月"]


# --- vocational: school merged down, 在校生数 over 合计 | 其中：女, cohorts --------------------


def test_vocational_two_row_header_merged_school_and_cohorts() -> None:
    top = ["县（区）", "学校代码", "学校名称", "专业", "办学类型", "年级", "在校生数", None, "招生数", "流失学生数"]
    leaves = [None] * 6 + ["合计", "其中：女"] + [None, None]
    body = [
        ["昭阳区", "5306020001", "昭通市职业教育中心", "护理", "中职", "2025级", 120, 100, 120, 0],
        [None, None, None, "护理", "中职", "2024级", 110, 90, 0, 2],
        [None, None, None, "数控技术", "中职", "2023级", 60, 5, 0, 1],
    ]
    merges = [*((0, c, 1, c) for c in (0, 1, 2, 3, 4, 5, 8, 9)), (0, 6, 0, 7),
              (2, 0, 4, 0), (2, 1, 4, 1), (2, 2, 4, 2)]
    data = workbook_bytes(Sheet("Sheet1", [top, leaves, *body], merge=merges))
    result = check(data, "vocational_enrollment", "2025")
    assert result.status == "accepted_with_warnings"
    assert column(result, "school_code") == ["5306020001"] * 3
    assert column(result, "grade") == [1, 2, 3]
    assert column(result, "enrolled") == [120, 110, 60]
    assert column(result, "new_intake") == [120, 0, 0]
    unknown = result.issues.filter(pl.col("rule") == "unknown_column")["column"].to_list()
    assert unknown == ["在校生数（其中：女）"]


# --- wide volunteer sheets -----------------------------------------------------------------

WIDE_HEADER = ["托管点编码", "大学生志愿者", "返乡大学生", "教职工", "村（社区）干部", "社会爱心人士", "其他", "合计"]


def test_wide_volunteer_sheet_is_unpivoted() -> None:
    rows = [WIDE_HEADER, ["ZY-0001", 5, 2, "—", 0, None, 1, 8], ["ZY-0002", 3, None, 4, None, None, None, 8]]
    result = check(workbook_bytes(Sheet("Sheet1", rows)), "childcare_volunteers", "2025-summer")
    got = result.valid.select("site_code", "source", "volunteers",
                              pl.col(SOURCE_ROW) % SHEET_ROW_STRIDE).rows()
    assert got == [("ZY-0001", "university_student", 5, 2), ("ZY-0001", "returning_student", 2, 2),
                   ("ZY-0001", "other", 1, 2), ("ZY-0002", "university_student", 3, 3),
                   ("ZY-0002", "school_staff", 4, 3)]
    # Each long row keeps its sheet row, in the part of its column: keys stay unique.
    assert result.valid[SOURCE_ROW].n_unique() == 5
    assert result.layout is not None
    parts = result.layout.row_parts
    assert [parts[row // SHEET_ROW_STRIDE] for row in column(result, SOURCE_ROW)] == [  # type: ignore[operator]
        "Sheet1（大学生志愿者）", "Sheet1（返乡大学生）", "Sheet1（其他）", "Sheet1（大学生志愿者）",
        "Sheet1（教职工）"]
    assert column(result, "institution") == [None] * 5
    mismatch = result.issues.filter(pl.col("rule") == "row_total_mismatch")
    assert mismatch[SOURCE_ROW].to_list() == [3]  # the sheet row, in the sheet's own part
    assert "8" in mismatch["message_zh"][0] and "7" in mismatch["message_zh"][0]


def test_wide_volunteer_sheet_under_a_merged_parent_with_total_row() -> None:
    top = ["托管点编码", "志愿者人数", None, None, None]
    leaves = [None, "大学生志愿者", "教职工", "其他", "合计"]
    rows = [top, leaves, ["ZY-0001", 5, 1, 0, 6], ["ZY-0002", 2, 2, 1, 5], ["合计", 7, 3, 1, 11]]
    data = workbook_bytes(Sheet("Sheet1", rows, merge=[(0, 0, 1, 0), (0, 1, 0, 4)]))
    result = check(data, "childcare_volunteers", "2025-summer")
    assert result.status == "accepted", result.issues
    assert sum(column(result, "volunteers")) == 11  # type: ignore[arg-type]
    assert result.counts.rows_in == 5


def test_wide_sheet_issue_names_the_column_in_the_report() -> None:
    from countyflow.ingest.report import report_groups

    rows = [WIDE_HEADER, ["ZY-0001", 5, "约2", None, None, None, None, 7]]
    result = check(workbook_bytes(Sheet("Sheet1", rows)), "childcare_volunteers", "2025-summer")
    assert result.status == "rejected"
    group = report_groups(result, CONTRACTS["childcare_volunteers"]).row(0, named=True)
    assert group["rule"] == "count_approximate"
    assert group["rows_zh"] == "Sheet1（返乡大学生） 第 2 行"


# --- hostile layouts ------------------------------------------------------------------------


def _with_merges(count: int) -> bytes:
    data = workbook_bytes(Sheet("Sheet1", [SITES_HEADER, site_row(1)]))
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    merges = b"".join(b'<mergeCell ref="A%d:B%d"/>' % (row, row) for row in range(3, 3 + count))
    patched = sheet.replace(b"</sheetData>", b"</sheetData><mergeCells>" + merges + b"</mergeCells>")
    return replace_member(data, "xl/worksheets/sheet1.xml", patched)


def test_a_million_merged_ranges_is_rejected() -> None:
    assert rejection(_with_merges(1_000_000), "childcare_sites", "2025-summer").rule == "too_many_merged_ranges"


def test_merges_far_outside_the_data_change_nothing() -> None:
    data = workbook_bytes(Sheet("Sheet1", [SITES_HEADER, site_row(1), site_row(2)],
                                merge=[(500, 0, 100_000, 3)], hidden_rows=list(range(1000, 1010))))
    result = check(data, "childcare_sites", "2025-summer")
    assert column(result, "site_code") == ["ZY-0001", "ZY-0002"]


def test_hidden_sheet_is_not_read() -> None:
    # Excel cannot hide the active (first) sheet, so the hidden one comes second.
    data = workbook_bytes(Sheet("Sheet1", [SITES_HEADER, site_row(1)]),
                          Sheet("旧表", [SITES_HEADER, site_row(9)], hidden=True))
    result = check(data, "childcare_sites", "2025-summer")
    assert column(result, "site_code") == ["ZY-0001"]
    assert result.issues.filter(pl.col("rule") == "sheet_skipped")["value"].to_list() == ["旧表"]


def test_parent_over_total_and_which_of_leaves() -> None:
    """`托管儿童数` over `合计 | 其中：留守儿童 | 其中：搬迁群众子女`, without merges below it."""
    top = [*SITES_HEADER[:7], "托管儿童数", None, None]
    leaves = [None] * 7 + ["合计", "其中：留守儿童", "其中：搬迁群众子女"]
    rows = [top, leaves, [*site_row(1)[:7], 900, 300, 20]]
    result = check(workbook_bytes(Sheet("Sheet1", rows, merge=[(0, 7, 0, 9)])), "childcare_sites",
                   "2025-summer")
    assert result.status == "accepted", result.issues
    got = result.valid.select("children_enrolled", "left_behind_children", "relocated_children").row(0)
    assert got == (900, 300, 20)


def test_blank_month_template_sheet_is_skipped_when_others_have_rows() -> None:
    data = workbook_bytes(Sheet("7月", [DAILY_HEADER, ["ZY-0001", "7.30", 40]]),
                          Sheet("8月", [DAILY_HEADER, ["ZY-0001", "8.1", 41]]),
                          Sheet("9月", [DAILY_HEADER]))
    result = check(data, "childcare_daily", "2025-summer")
    assert column(result, "children_present") == [40, 41]
    assert result.issues.filter(pl.col("rule") == "sheet_skipped")["value"].to_list() == ["9月"]
