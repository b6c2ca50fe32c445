"""Value normalisers (SPEC §3): every accepted form, the problem codes, and properties."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from countyflow.ingest.model import ISSUE_SCHEMA, issues_frame
from countyflow.ingest.normalise import (
    EXCEL_EPOCH,
    ReadingCache,
    group_rows,
    is_dash_zero,
    is_missing,
    normalise_column,
    normalise_count,
    normalise_county,
    normalise_date,
    normalise_decimal,
    normalise_enum,
    normalise_frame,
    normalise_grade,
    normalise_text,
    normalise_values,
    split,
)
from countyflow.periods import YEARS, Period, parse_period
from schemas import CONTRACTS
from schemas.contract import COMMON_RULES, Column, ColumnType, Contract

SUMMER = parse_period("2025-summer")
SCHOOL_YEAR = parse_period("2025")
TRACK = CONTRACTS["vocational_enrollment"].column("track")
DEPARTMENT = CONTRACTS["health_monthly"].column("department")
HOST_TYPE = CONTRACTS["childcare_sites"].column("host_type")


def run(normaliser: pl.Expr, values: list[str | None]) -> list[tuple[object, str | None]]:
    value, problem = split(normaliser)
    frame = pl.DataFrame({"x": values}, schema={"x": pl.Utf8}).select(
        value.alias("value"), problem.alias("problem")
    )
    return list(frame.iter_rows())


def one(normaliser: pl.Expr, value: str | None) -> tuple[object, str | None]:
    return run(normaliser, [value])[0]


X = pl.col("x")

# --- counts -----------------------------------------------------------------------------

COUNTS_OK = [
    ("123", 123), ("0", 0), ("１２３", 123), ("１，２３４", 1234), ("1,234", 1234),
    ("1，234", 1234), ("1,234,567", 1234567), (" 42 ", 42), ("42\u3000", 42), ("1 234", 1234),
    ("12人", 12), ("12 人", 12), ("3个", 3), ("5名", 5), ("8元", 8), ("30天", 30),
    ("6小时", 6), ("2台", 2), ("4张", 4), ("120人次", 120), ("7次", 7),
    ("1.6万", 16000), ("1.6万人", 16000), ("2万", 20000), ("1.2345万", 12345),
    ("0.5万人次", 5000), ("12.0", 12), ("12.00人", 12), ("１.６万", 16000),
]
COUNTS_BAD = [
    ("2000多", "count_approximate"), ("2000余", "count_approximate"),
    ("约2000", "count_approximate"), ("2000+", "count_approximate"),
    ("近2000", "count_approximate"), ("2000左右", "count_approximate"),
    ("2000多人", "count_approximate"), ("约2000人", "count_approximate"),
    ("2000人左右", "count_approximate"), ("1.6万多", "count_approximate"),
    ("大约300", "count_approximate"), ("300以上", "count_approximate"),
    ("-5", "count_format"), ("－5", "count_format"), ("abc", "count_format"),
    ("12.5", "count_format"), ("1.23456万", "count_format"), ("1,23", "count_format"),
    ("12,3456", "count_format"), ("5 kg", "count_format"), ("万", "count_format"),
    ("1e3", "count_format"), ("99999999999999999999", "count_format"), ("٣", "count_format"),
]


@pytest.mark.parametrize(("text", "expected"), COUNTS_OK)
def test_count_accepted_forms(text: str, expected: int) -> None:
    assert one(normalise_count(X), text) == (expected, None)


@pytest.mark.parametrize(("text", "problem"), COUNTS_BAD)
def test_count_problems(text: str, problem: str) -> None:
    assert one(normalise_count(X), text) == (None, problem)


# --- decimals ---------------------------------------------------------------------------

DECIMALS_OK = [
    ("5", 5.0), ("5.5", 5.5), ("５.５", 5.5), ("5.5小时", 5.5), ("6h", 6.0), ("8元", 8.0),
    ("8元/人·天", 8.0), ("8 元/天", 8.0), (".5", 0.5), ("1,234.5", 1234.5), ("1.5万", 15000.0),
    ("-3", -3.0), ("12.0", 12.0),
]
DECIMALS_BAD = ["abc", "5.5.5", "约5", "五", "1e3", "nan", "inf", "-", "1,23"]


@pytest.mark.parametrize(("text", "expected"), DECIMALS_OK)
def test_decimal_accepted_forms(text: str, expected: float) -> None:
    assert one(normalise_decimal(X), text) == (pytest.approx(expected), None)


@pytest.mark.parametrize("text", DECIMALS_BAD)
def test_decimal_problems(text: str) -> None:
    assert one(normalise_decimal(X), text) == (None, "decimal_format")


# --- missing markers --------------------------------------------------------------------

# "No number" dashes: 0 in a required count (SPEC §3), missing anywhere else.
DASHES = ["—", "——", "–", "-", "--", "－", "－－", "/", "／", "无", " — ", "— —"]
# Say nothing about the number: missing everywhere, a required count included.
BLANKS = ["", " ", "\u3000", "…", "……", "N/A", "n/a", "NA", "null", "NULL", None]
MISSING = DASHES + BLANKS
REQUIRED_COUNT = Column("c", ColumnType.COUNT, "列", "a count")
OPTIONAL_COUNT = Column("c", ColumnType.COUNT, "列", "a count", required=False)


@pytest.mark.parametrize("text", MISSING)
def test_missing_markers(text: str | None) -> None:
    frame = pl.DataFrame({"x": [text]}, schema={"x": pl.Utf8})
    assert frame.select(is_missing(X)).item() is True
    assert frame.select(is_dash_zero(X)).item() is (text in DASHES)


@pytest.mark.parametrize("text", MISSING)
@pytest.mark.parametrize("column_type", list(ColumnType))
def test_missing_required_is_value_required_only(text: str | None, column_type: ColumnType) -> None:
    vocabulary = {"a": ("甲",)} if column_type is ColumnType.ENUM else None
    required = Column("c", column_type, "列", "a column", vocabulary=vocabulary)
    optional = Column("c", column_type, "列", "a column", required=False, vocabulary=vocabulary)
    expected = (0, "count_dash_zero") if column_type is ColumnType.COUNT and text in DASHES else (
        None, "value_required")
    assert one(normalise_column(X, required, period=SUMMER), text) == expected
    assert one(normalise_column(X, optional, period=SUMMER), text) == (None, None)


def test_dash_in_a_required_count_is_zero_with_a_warning() -> None:
    texts = ["—", "/", "无", "－", "…", "", None, "N/A", "12", "0"]
    assert run(normalise_column(X, REQUIRED_COUNT, period=None), texts) == [
        *[(0, "count_dash_zero")] * 4, *[(None, "value_required")] * 4, (12, None), (0, None),
    ]
    assert run(normalise_column(X, OPTIONAL_COUNT, period=None), texts) == [
        *[(None, None)] * 8, (12, None), (0, None),
    ]
    assert COMMON_RULES["count_dash_zero"].severity.value == "warning"


@pytest.mark.parametrize("text", ["0", "无锡路小学", "NAN", "-1"])
def test_not_missing(text: str) -> None:
    frame = pl.DataFrame({"x": [text]})
    assert frame.select(is_missing(X)).item() is False


# --- dates ------------------------------------------------------------------------------

DATES_OK = [
    ("2025-07-06", date(2025, 7, 6)), ("2025-7-6", date(2025, 7, 6)),
    ("2025-07-06 00:00:00", date(2025, 7, 6)), ("2025-07-06T08:30", date(2025, 7, 6)),
    ("2025/7/6", date(2025, 7, 6)), ("2025/07/06 0:00", date(2025, 7, 6)),
    ("2025.7.6", date(2025, 7, 6)), ("2025年7月6日", date(2025, 7, 6)),
    ("2025年07月06日", date(2025, 7, 6)), ("2025 年 7 月 6 日", date(2025, 7, 6)),
    ("7月6日", date(2025, 7, 6)), ("7月6号", date(2025, 7, 6)),
    ("45844", date(2025, 7, 6)), ("45844.0", date(2025, 7, 6)),
    ("２０２５－０７－０６", date(2025, 7, 6)), (" 2025-07-06 ", date(2025, 7, 6)),
    # month and day only, the year from the period (an Excel number cell arrives as `7.14`)
    ("7.14", date(2025, 7, 14)), ("7/6", date(2025, 7, 6)), ("7.6", date(2025, 7, 6)),
    ("7.1", date(2025, 7, 1)), ("07.06", date(2025, 7, 6)), (" 7 / 6 ", date(2025, 7, 6)),
    ("７．６", date(2025, 7, 6)), ("７／６", date(2025, 7, 6)), ("8/15", date(2025, 8, 15)),
]
DATES_BAD = ["2025-02-30", "2025-13-01", "6-7", "2025", "1月32日", "yesterday", "20250706",
             "2025-07", "123", "2.30", "13.1", "0.5", "7.0", "7.", ".6", "7.6.5", "7/6/", "7..6",
             "123.4", "7.123", "4584"]


@pytest.mark.parametrize(("text", "expected"), DATES_OK)
def test_date_accepted_forms(text: str, expected: date) -> None:
    assert one(normalise_date(X, period=SUMMER), text) == (expected, None)


@pytest.mark.parametrize("text", DATES_BAD)
def test_date_problems(text: str) -> None:
    assert one(normalise_date(X, period=SUMMER), text) == (None, "date_format")


@pytest.mark.parametrize("text", ["7月6日", "7.6", "7/6"])
def test_date_without_year_needs_a_period(text: str) -> None:
    assert one(normalise_date(X), text) == (None, "date_format")


def test_date_without_year_in_a_school_year_takes_the_right_calendar_year() -> None:
    assert run(normalise_date(X, period=SCHOOL_YEAR),
               ["10月8日", "3月1日", "10.8", "3.1", "10/8", "3/1", "9.1", "8.31"]) == [
        (date(2025, 10, 8), None), (date(2026, 3, 1), None),
        (date(2025, 10, 8), None), (date(2026, 3, 1), None),
        (date(2025, 10, 8), None), (date(2026, 3, 1), None),
        (date(2025, 9, 1), None), (date(2026, 8, 31), None),
    ]


def test_month_day_is_a_date_only_in_a_date_column() -> None:
    """`7.6` is July 6th in a date column and stays the number 7.6 everywhere else."""
    assert one(normalise_decimal(X), "7.6") == (pytest.approx(7.6), None)
    assert one(normalise_count(X), "7.6") == (None, "count_format")
    assert one(normalise_grade(X, period=SCHOOL_YEAR), "7.6") == (None, "grade_format")
    assert one(normalise_date(X, period=parse_period("2025-winter")), "2.28") == (
        date(2025, 2, 28), None)
    assert one(normalise_date(X, period=parse_period("2024-winter")), "2.29") == (
        date(2024, 2, 29), None)
    assert one(normalise_date(X, period=parse_period("2025-winter")), "2.29") == (
        None, "date_format")


# --- grade ------------------------------------------------------------------------------

GRADES_OK = [
    ("1", 1), ("2", 2), ("3", 3), ("一年级", 1), ("二年级", 2), ("三年级", 3), ("高一", 1),
    ("高二", 2), ("高三", 3), ("1年级", 1), ("职一", 1), ("职三", 3), ("１", 1), ("1.0", 1),
    ("4", 4),  # readable; out of range is the contract's grade_range rule
]


@pytest.mark.parametrize(("text", "expected"), GRADES_OK)
def test_grade_accepted_forms(text: str, expected: int) -> None:
    assert one(normalise_grade(X), text) == (expected, None)


@pytest.mark.parametrize("text", ["x", "first", "1.5", "高", "年级", "十", "一二"])
def test_grade_problems(text: str) -> None:
    assert one(normalise_grade(X), text) == (None, "grade_format")


@pytest.mark.parametrize(("text", "expected"), GRADES_OK)
def test_grade_forms_do_not_depend_on_the_period(text: str, expected: int) -> None:
    assert one(normalise_grade(X, period=SCHOOL_YEAR), text) == (expected, None)


COHORTS = [("2025级", 1), ("2024级", 2), ("2023级", 3), ("2025 级", 1), ("２０２５级", 1),
           ("２０２４ 级", 2), (" 2023级 ", 3), ("2023\u3000级", 3)]


@pytest.mark.parametrize(("text", "expected"), COHORTS)
def test_cohort_is_its_grade_in_the_school_year(text: str, expected: int) -> None:
    assert one(normalise_grade(X, period=SCHOOL_YEAR), text) == (expected, None)


def test_cohort_grade_follows_the_school_year() -> None:
    texts = ["2026级", "2025级", "2024级", "2023级", "2027级"]
    assert run(normalise_grade(X, period=parse_period("2026")), texts) == [
        (1, None), (2, None), (3, None), (None, "grade_cohort"), (None, "grade_cohort"),
    ]


@pytest.mark.parametrize("text", ["2026级", "2022级", "2020级", "1999级", "0000级"])
def test_cohort_outside_the_three_grades_is_grade_cohort(text: str) -> None:
    assert one(normalise_grade(X, period=SCHOOL_YEAR), text) == (None, "grade_cohort")


@pytest.mark.parametrize("text", ["2025级", "2024 级"])
def test_cohort_without_a_period_is_grade_format(text: str) -> None:
    assert one(normalise_grade(X), text) == (None, "grade_format")


@pytest.mark.parametrize("text", ["2025", "202级", "20250级", "2025届", "级", "2025级1班"])
def test_not_a_cohort(text: str) -> None:
    assert one(normalise_grade(X, period=SCHOOL_YEAR), text) == (None, "grade_format")


def test_grade_column_reads_cohorts_with_the_period() -> None:
    grade = CONTRACTS["vocational_enrollment"].column("grade")
    assert run(normalise_column(X, grade, period=SCHOOL_YEAR), ["2024级", "2021级", "—", "高三"]) == [
        (2, None), (None, "grade_cohort"), (None, "value_required"), (3, None),
    ]


# --- enumerations, county, text -------------------------------------------------------

ENUMS_OK = [
    ("中职", "secondary_vocational"), (" 中 职 ", "secondary_vocational"),
    ("中\u3000职", "secondary_vocational"), ("中职班", "secondary_vocational"),
    ("secondary_vocational", "secondary_vocational"), ("SECONDARY_VOCATIONAL", "secondary_vocational"),
    ("“3+2”高本贯通", "vocational_college_3_2"), ('"3+2"高本贯通', "vocational_college_3_2"),
    ("‘3+2’高本贯通", "vocational_college_3_2"), ("３＋２", "vocational_college_3_2"),
    ("3+4", "undergraduate_3_4"), ("普高班", "general_high_school_class"),
]


@pytest.mark.parametrize(("text", "expected"), ENUMS_OK)
def test_enum_aliases(text: str, expected: str) -> None:
    assert one(normalise_enum(X, TRACK.vocabulary or {}), text) == (expected, None)


def test_enum_full_width_brackets() -> None:
    sources = CONTRACTS["childcare_volunteers"].column("source").vocabulary or {}
    assert one(normalise_enum(X, sources), "村（社区）干部") == ("community_worker", None)
    assert one(normalise_enum(X, sources), "村 (社区) 干部") == ("community_worker", None)
    assert one(normalise_enum(X, HOST_TYPE.vocabulary or {}), "“一老一小”关爱服务中心") == (
        "community_center", None)


def test_enum_unknown() -> None:
    assert one(normalise_enum(X, TRACK.vocabulary or {}), "夜校") == (None, "enum_unknown")


def test_open_vocabulary_maps_aliases_and_keeps_unknown_values() -> None:
    result = run(normalise_column(X, DEPARTMENT, period=None), ["心衰组", " 冠心病 ", "神经  内科 "])
    assert result == [("心力衰竭", None), ("冠心病", None), ("神经 内科", None)]


COUNTIES = [("530602", "530602"), ("昭阳区", "530602"), ("昭阳", "530602"), ("Zhaoyang", "530602"),
            ("ZHAOYANG", "530602"), (" zhaoyang ", "530602"), ("５３０６２６", "530626"),
            ("绥江县", "530626"), ("水富市", "530681"), ("shuifu", "530681"), ("530602.0", "530602")]


@pytest.mark.parametrize(("text", "expected"), COUNTIES)
def test_county_forms(text: str, expected: str) -> None:
    assert one(normalise_county(X), text) == (expected, None)


@pytest.mark.parametrize("text", ["昆明市", "530600", "zhao yang x"])
def test_county_unknown(text: str) -> None:
    assert one(normalise_county(X), text) == (None, "county_unknown")


@pytest.mark.parametrize(("text", "expected"), [
    ("  昭通学院 ", "昭通学院"), ("昭通\u3000学院", "昭通学院"), ("\u3000昭通学院\u3000", "昭通学院"),
    ("Red  Road\t School", "Red Road School"), ("a\nb", "a b"),
])
def test_text(text: str, expected: str) -> None:
    assert one(normalise_text(X), text) == (expected, None)


# --- frames -----------------------------------------------------------------------------


def test_normalise_frame_types_columns_and_lists_issues() -> None:
    contract = CONTRACTS["childcare_sites"]
    frame = pl.DataFrame({
        "county_code": ["昭阳区", "xx"],
        "site_code": ["ZY-0001", "ZY-0002"],
        "site_name": [" 红路馨居小学 ", "—"],
        "host_type": ["学校", "学校"],
        "start_date": ["2025-07-07", "7月7日"],
        "end_date": ["2025年8月15日", "2025-02-30"],
        "hours_per_day": ["6", "六"],
        "children_enrolled": ["940", "约900"],
        "left_behind_children": ["600", "600"],
        "source_row": [3, 4],
    })
    typed, issues = normalise_frame(frame, contract, period=SUMMER)
    assert typed.columns == [*contract.column_names, "source_row"]
    assert typed.schema["start_date"] == pl.Date
    assert typed.schema["children_enrolled"] == pl.Int64
    assert typed.schema["meal_subsidy_yuan"] == pl.Float64  # absent optional column: typed nulls
    assert typed["meal_subsidy_yuan"].null_count() == 2
    assert typed.row(0, named=True)["site_name"] == "红路馨居小学"
    assert typed.row(1, named=True)["start_date"] == date(2025, 7, 7)
    assert issues.schema == pl.Schema(ISSUE_SCHEMA)
    found = {(row["source_row"], row["column"], row["value"], row["rule"])
             for row in issues.iter_rows(named=True)}
    assert found == {
        (4, "county_code", "xx", "county_unknown"),
        (4, "site_name", "—", "value_required"),
        (4, "end_date", "2025-02-30", "date_format"),
        (4, "hours_per_day", "六", "decimal_format"),
        (4, "children_enrolled", "约900", "count_approximate"),
    }
    assert issues["severity"].unique().to_list() == ["error"]
    assert issues["message_zh"].null_count() == 0 and issues["message_en"].null_count() == 0


def test_normalise_frame_groups_dash_zero_counts_per_column() -> None:
    """`—` in a required count is 0, reported once per column with its rows as ranges; the
    same marker in an optional count is null with no issue; a blank stays an error per cell."""
    contract = CONTRACTS["childcare_sites"]
    left_behind = ["60", "—", "—", "—", "60", "60", "/", "60", "－", "—", "—", "60"]
    enrolled = ["100", "100", "100", "无", "100", "", "100", "100", "100", "100", "100", "…"]
    frame = pl.DataFrame({
        "left_behind_children": left_behind,
        "children_enrolled": enrolled,
        "relocated_children": left_behind,  # optional: a dash is simply no value
        "source_row": list(range(2, 14)),  # rows 3–5, 8, 10–12 hold a dash
    }, schema_overrides={"source_row": pl.Int64})
    typed, issues = normalise_frame(frame, contract, period=SUMMER)
    assert typed["left_behind_children"].to_list() == [60, 0, 0, 0, 60, 60, 0, 60, 0, 0, 0, 60]
    assert typed["children_enrolled"].to_list() == [100, 100, 100, 0, 100, None, 100, 100, 100,
                                                    100, 100, None]
    assert typed["relocated_children"].to_list() == [60, None, None, None, 60, 60, None, 60, None,
                                                     None, None, 60]
    text = COMMON_RULES["count_dash_zero"]
    assert issues.rows() == [
        (3, "left_behind_children", "—", "count_dash_zero", "warning",
         f"{text.message_zh}：第 3–5、8、10–12 行", f"{text.message_en}: rows 3–5, 8, 10–12"),
        (5, "children_enrolled", "无", "count_dash_zero", "warning",
         f"{text.message_zh}：第 5 行", f"{text.message_en}: row 5"),
        (7, "children_enrolled", "", "value_required", "error",
         COMMON_RULES["value_required"].message_zh, COMMON_RULES["value_required"].message_en),
        (13, "children_enrolled", "…", "value_required", "error",
         COMMON_RULES["value_required"].message_zh, COMMON_RULES["value_required"].message_en),
    ]


def test_group_rows_joins_runs_of_rows_into_ranges() -> None:
    def issue(row: int, column: str, value: str) -> dict[str, object]:
        return {"source_row": row, "column": column, "value": value, "rule": "count_dash_zero",
                "severity": "warning", "message_zh": "符号按 0 计", "message_en": "read as 0"}

    rows = [12, 5, 6, 7, 8, 9, 3, 14, 15, 9]  # unsorted, row 9 twice (two sheets read together)
    cells = issues_frame([issue(row, "a", f"—{row}") for row in rows]
                         + [issue(2, "b", "/"), issue(4, "b", "无")])
    grouped = group_rows(cells.lazy()).collect()
    assert grouped.schema == pl.Schema(ISSUE_SCHEMA)
    assert grouped.rows() == [
        (3, "a", "—3", "count_dash_zero", "warning", "符号按 0 计：第 3、5–9、12、14–15 行",
         "read as 0: rows 3, 5–9, 12, 14–15"),
        (2, "b", "/", "count_dash_zero", "warning", "符号按 0 计：第 2、4 行", "read as 0: rows 2, 4"),
    ]
    assert group_rows(issues_frame().lazy()).collect().height == 0


def test_normalise_frame_without_rows() -> None:
    contract = CONTRACTS["childcare_volunteers"]
    frame = pl.DataFrame(schema={name: pl.Utf8 for name in contract.column_names} | {"source_row": pl.Int64})
    typed, issues = normalise_frame(frame, contract, period=SUMMER)
    assert typed.height == 0 and issues.height == 0
    assert typed.schema["volunteers"] == pl.Int64


# --- properties -------------------------------------------------------------------------

FULL_WIDTH_DIGITS = str.maketrans("0123456789,", "０１２３４５６７８９，")
UNITS = ["人", "个", "名", "元", "天", "小时", "台", "张", "人次", "次"]


def count_forms(n: int) -> list[str]:
    wan = format((Decimal(n) / 10000).normalize(), "f")
    return [
        str(n), f"{n:,}", f"{n:,}".replace(",", "，"), str(n).translate(FULL_WIDTH_DIGITS),
        f"{n:,}".translate(FULL_WIDTH_DIGITS), f"{n}.0", f" {n} ", f"{wan}万",
        *(f"{n}{unit}" for unit in UNITS), f"{n:,} 人",
    ]


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=10**13))
def test_count_round_trips(n: int) -> None:
    forms = count_forms(n)
    assert run(normalise_count(X), forms) == [(n, None)] * len(forms)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(), min_size=1, max_size=20))
def test_count_never_raises(texts: list[str]) -> None:
    for value, problem in run(normalise_count(X), texts):
        assert (value is None) != (problem is None)
        assert value is None or value >= 0
        assert problem in (None, "count_format", "count_approximate")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(), min_size=1, max_size=20))
def test_decimal_and_grade_never_raise(texts: list[str]) -> None:
    for _, problem in run(normalise_decimal(X), texts):
        assert problem in (None, "decimal_format")
    for _, problem in run(normalise_grade(X), texts):
        assert problem in (None, "grade_format")


def date_forms(day: date) -> tuple[list[str], Period]:
    y, m, d = day.year, day.month, day.day
    serial = (day - EXCEL_EPOCH).days
    forms = [
        day.isoformat(), f"{day.isoformat()} 00:00:00", f"{y}/{m}/{d}", f"{y}/{m:02d}/{d:02d}",
        f"{y}.{m}.{d}", f"{y}年{m}月{d}日", f"{y}-{m}-{d}", f"{m}月{d}日", str(serial),
        day.isoformat().translate(str.maketrans("0123456789-", "０１２３４５６７８９－")),
        f"{m}.{d}", f"{m}/{d}", f"{m:02d}.{d:02d}",
    ]
    return forms, parse_period(f"{y}-{m:02d}")


@settings(max_examples=60, deadline=None)
@given(st.dates(min_value=date(YEARS.start, 1, 1), max_value=date(YEARS.stop - 1, 12, 31)))
def test_date_round_trips(day: date) -> None:
    forms, period = date_forms(day)
    assert run(normalise_date(X, period=period), forms) == [(day, None)] * len(forms)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(), min_size=1, max_size=20))
def test_date_never_raises(texts: list[str]) -> None:
    for value, problem in run(normalise_date(X, period=SUMMER), texts):
        assert (value is None) != (problem is None)
        assert problem in (None, "date_format")


@settings(max_examples=30, deadline=None)
@given(st.lists(st.one_of(st.text(), st.none()), min_size=1, max_size=20))
def test_every_column_type_never_raises(texts: list[str | None]) -> None:
    for column_type in ColumnType:
        vocabulary = {"a": ("甲",)} if column_type in (ColumnType.ENUM, ColumnType.TEXT) else None
        column = Column("c", column_type, "列", "a column", vocabulary=vocabulary)
        rows = run(normalise_column(X, column, period=SUMMER), texts)
        assert len(rows) == len(texts)


def test_excel_serial_is_1900_date_system() -> None:
    assert EXCEL_EPOCH + timedelta(days=45844) == date(2025, 7, 6)


def test_normalise_values_reads_repeated_texts_like_cell_by_cell() -> None:
    """Distinct texts are normalised once and joined back; the result must not differ from
    each column's normaliser applied to every cell (repeats, nulls, markers, shared texts
    between columns of the same type with different requiredness)."""
    contract = CONTRACTS["childcare_sites"]
    texts = ["940", "940", None, "—", "约900", "１２", "940", None, "12人", "abc",
             "/", "…", "无", "N/A", "－", "—"]
    frame = pl.DataFrame({
        "county_code": ["鲁甸县", "530621", None, "鲁甸", "xx", "鲁甸县", "530621", "—", "ludian",
                        "鲁甸县", *["530621"] * 6],
        "site_code": ["ZY-001"] * 5 + [None, "ZY-002", "ZY-002", " ZY-003 ", "—"] + ["ZY-004"] * 6,
        "start_date": ["2025-07-07", "7月7日", "2025-07-07", None, "45845", "2025-02-30",
                       "2025/7/7", "2025-07-07", "—", "7月7日", "7.7", "7/7", "2.30", "7.7", "45845.0",
                       "７．７"],
        "children_enrolled": texts,
        "left_behind_children": list(reversed(texts)),
        # optional columns sharing the readings of required ones: a marker is no problem here
        "relocated_children": texts,
        "meal_subsidy_yuan": texts,
        "source_row": list(range(3, 19)),
    }, schema_overrides={"source_row": pl.Int64})
    cache = ReadingCache()
    normalised = normalise_values(frame, contract, period=SUMMER, cache=cache)
    # read again with every text known (nothing normalised) and with half of them known
    assert normalise_values(frame, contract, period=SUMMER, cache=cache).equals(normalised)
    half = ReadingCache()
    normalise_values(frame.head(5), contract, period=SUMMER, cache=half)
    assert normalise_values(frame, contract, period=SUMMER, cache=half).equals(normalised)
    assert_cell_by_cell(normalised, frame, contract, SUMMER)
    assert normalised["source_row"].to_list() == list(range(3, 19))
    # the dash in a required count is 0, the same text in an optional one null
    assert normalised["children_enrolled"].to_list()[10:] == [0, None, 0, None, 0, 0]
    assert normalised["relocated_children"].to_list()[10:] == [None] * 6
    assert normalised["start_date"].to_list()[10:] == [
        date(2025, 7, 7), date(2025, 7, 7), None, date(2025, 7, 7), date(2025, 7, 7),
        date(2025, 7, 7)]


def assert_cell_by_cell(normalised: pl.DataFrame, frame: pl.DataFrame, contract: Contract,
                        period: Period) -> None:
    for name in frame.columns:
        if name == "source_row":
            continue
        column = contract.column(name)
        cell_by_cell = frame.select(
            normalise_column(pl.col(name), column, period=period).alias("n")
        ).unnest("n")
        assert normalised[name].to_list() == cell_by_cell["value"].to_list(), name
        assert normalised[f"__problem__{name}"].to_list() == cell_by_cell["problem"].to_list(), name


def test_normalise_values_reads_cohorts_like_cell_by_cell_per_school_year() -> None:
    """A cohort's grade depends on the period, so a cached reading of one school year must
    never be reused in another."""
    contract = CONTRACTS["vocational_enrollment"]
    frame = pl.DataFrame({
        "grade": ["2025级", "2024 级", "２０２３级", "2022级", "一年级", "2025级", "—", "高三", None],
        "enrolled": ["120", "—", "/", "无", "…", "", "１２０人", "N/A", "120"],
        "source_row": list(range(2, 11)),
    }, schema_overrides={"source_row": pl.Int64})
    cache = ReadingCache()
    this_year = normalise_values(frame, contract, period=SCHOOL_YEAR, cache=cache)
    next_year = normalise_values(frame, contract, period=parse_period("2026"), cache=cache)
    assert this_year["grade"].to_list() == [1, 2, 3, None, 1, 1, None, 3, None]
    assert this_year["__problem__grade"].to_list() == [
        None, None, None, "grade_cohort", None, None, "value_required", None, "value_required"]
    assert next_year["grade"].to_list() == [2, 3, None, None, 1, 2, None, 3, None]
    assert this_year["enrolled"].to_list() == [120, 0, 0, 0, None, None, 120, None, 120]
    assert this_year["__problem__enrolled"].to_list() == [
        None, "count_dash_zero", "count_dash_zero", "count_dash_zero", "value_required",
        "value_required", None, "value_required", None]
    # one set of readings per school year
    assert cache.known((ColumnType.GRADE, SCHOOL_YEAR)) is not None
    assert cache.known((ColumnType.GRADE, parse_period("2026"))) is not None
    for period, normalised in ((SCHOOL_YEAR, this_year), (parse_period("2026"), next_year)):
        assert_cell_by_cell(normalised, frame, contract, period)
        assert normalise_values(frame, contract, period=period, cache=cache).equals(normalised)
        assert normalise_values(frame, contract, period=period, cache=ReadingCache()).equals(
            normalised)


def test_reading_cache_is_bounded_and_keyed_by_period() -> None:
    contract = CONTRACTS["childcare_volunteers"]
    cache = ReadingCache(max_rows=3)
    frame = pl.DataFrame({"volunteers": ["1", "2", "3", "4"]})
    typed = normalise_values(frame, contract, period=SUMMER, cache=cache)
    assert typed["volunteers"].to_list() == [1, 2, 3, 4]
    assert cache.known((ColumnType.COUNT,)) is None  # 4 readings > 3: not kept
    sites = CONTRACTS["childcare_sites"]
    dates = pl.DataFrame({"start_date": ["7月7日"]})
    summer = normalise_values(dates, sites, period=SUMMER, cache=cache)["start_date"].item()
    winter = parse_period("2024-winter")
    other = normalise_values(dates, sites, period=winter, cache=cache)["start_date"].item()
    assert (summer == date(2025, 7, 7) and other.year != summer.year) or other != summer
