"""The validation engine: policies, holding, duplicates, totals, conservation, issue content."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

import polars as pl
import pytest

from countyflow.ingest.model import (
    ISSUE_SCHEMA,
    ParsedSubmission,
    ReadLayout,
    RowCounts,
    SubmissionRejected,
    SubmissionStatus,
    ValidationResult,
    common_issue,
    issues_frame,
)
from countyflow.ingest.normalise import normalise_frame
from countyflow.ingest.validate import (
    add_context,
    duplicate_key_issues,
    reject_submission,
    rule_issues,
    validate_submission,
)
from countyflow.periods import parse_period
from schemas import CONTRACTS
from schemas.contract import COMMON_RULES

SITES = CONTRACTS["childcare_sites"]
DAILY = CONTRACTS["childcare_daily"]
VOCATIONAL = CONTRACTS["vocational_enrollment"]
SUMMER = parse_period("2025-summer")
COUNTY = "530602"


def site(code: str, **override: str) -> dict[str, str]:
    return {
        "county_code": "昭阳区", "site_code": code, "site_name": f"托管点{code}",
        "host_type": "学校", "start_date": "2025-07-07", "end_date": "2025-08-15",
        "hours_per_day": "6", "meal_subsidy_yuan": "8", "children_enrolled": "100",
        "left_behind_children": "60", **override,
    }


def daily(code: str, day: str, **override: str) -> dict[str, str]:
    return {"site_code": code, "date": day, "children_present": "50", "volunteers_on_duty": "3",
            "meals_served": "53", **override}


def parsed(rows: list[Mapping[str, str]], *, first_row: int = 2,
           total: Mapping[str, str] | None = None,
           issues: pl.DataFrame | None = None) -> ParsedSubmission:
    columns = list(dict.fromkeys(name for row in rows for name in row))
    frame = pl.DataFrame([{name: row.get(name) for name in columns} for row in rows],
                         schema={name: pl.Utf8 for name in columns})
    frame = frame.with_columns(
        pl.int_range(first_row, first_row + len(rows), dtype=pl.Int64).alias("source_row"))
    total_row = None
    if total is not None:
        total_row = pl.DataFrame([dict(total)], schema={name: pl.Utf8 for name in total}).with_columns(
            pl.lit(first_row + len(rows), dtype=pl.Int64).alias("source_row"))
    return ParsedSubmission(frame, issues if issues is not None else issues_frame(), total_row)


def sites(rows: list[Mapping[str, str]], **kwargs: object) -> ValidationResult:
    return validate_submission(parsed(rows, **kwargs), SITES, county_code=COUNTY,  # type: ignore[arg-type]
                               period=SUMMER)


def conserved(result: ValidationResult) -> bool:
    return result.counts.rows_in == result.counts.rows_loaded + result.counts.rows_rejected + result.counts.rows_held


REGISTRY = pl.DataFrame({
    "site_code": ["ZY-0001", "ZY-0002"], "ctx_site_known": [True, True],
    "ctx_site_start": [date(2025, 7, 7)] * 2, "ctx_site_end": [date(2025, 8, 15)] * 2,
    "ctx_site_children_enrolled": [100, 80],
})


# --- policy -------------------------------------------------------------------------------


def test_clean_submission_is_accepted_with_typed_rows() -> None:
    result = sites([site("ZY-0001"), site("ZY-0002")])
    assert result.status is SubmissionStatus.ACCEPTED
    assert (result.counts.rows_in, result.counts.rows_loaded, result.counts.rows_rejected) == (2, 2, 0)
    assert result.valid.columns == [*SITES.column_names, "source_row"]
    assert not any(name.startswith("ctx_") for name in result.valid.columns)
    assert result.valid.schema["start_date"] == pl.Date
    assert result.valid["county_code"].to_list() == ["530602", "530602"]
    assert result.valid["source_row"].to_list() == [2, 3]
    assert result.issues.schema == pl.Schema(ISSUE_SCHEMA)


def test_strict_rejects_the_whole_submission_on_one_bad_row() -> None:
    rows = [site("ZY-0001"), site("ZY-0002", children_enrolled="约100"), site("ZY-0003")]
    result = validate_submission(parsed(rows), SITES, county_code=COUNTY, period=SUMMER)
    assert result.status is SubmissionStatus.REJECTED
    assert (result.counts.rows_loaded, result.counts.rows_rejected) == (0, 3)
    assert result.valid.height == 0
    assert result.counts.errors == 1


def test_partial_loads_the_valid_rows_and_rejects_the_rest() -> None:
    rows = [site("ZY-0001"), site("ZY-0002", children_enrolled="约100",
                                  left_behind_children="abc"), site("ZY-0003", hours_per_day="4")]
    result = validate_submission(parsed(rows), SITES, county_code=COUNTY, period=SUMMER,
                                 policy="partial")
    assert result.status is SubmissionStatus.ACCEPTED_WITH_WARNINGS
    assert (result.counts.rows_in, result.counts.rows_loaded, result.counts.rows_rejected) == (3, 2, 1)
    assert result.valid["source_row"].to_list() == [2, 4]
    assert (result.counts.errors, result.counts.warnings) == (2, 1)


def test_partial_with_every_row_bad_is_rejected() -> None:
    rows = [site("ZY-0001", host_type="夜校"), site("ZY-0002", hours_per_day="0")]
    result = validate_submission(parsed(rows), SITES, county_code=COUNTY, period=SUMMER,
                                 policy="partial")
    assert result.status is SubmissionStatus.REJECTED
    assert (result.counts.rows_loaded, result.counts.rows_rejected) == (0, 2)


def test_warnings_never_block() -> None:
    rows = [site("ZY-0001", hours_per_day="4.5"), site("ZY-0002", end_date="2025-07-20")]
    result = sites(rows)
    assert result.status is SubmissionStatus.ACCEPTED_WITH_WARNINGS
    assert result.counts.rows_loaded == 2 and result.counts.errors == 0
    assert sorted(result.issues["rule"].to_list()) == ["hours_below_policy",
                                                       "service_days_below_policy"]


def test_file_level_warnings_from_the_reader_are_kept_and_do_not_block() -> None:
    warning = issues_frame([common_issue("unknown_column", column="负责人", value="负责人")])
    result = sites([site("ZY-0001")], issues=warning)
    assert result.status is SubmissionStatus.ACCEPTED_WITH_WARNINGS
    assert result.issues["rule"].to_list() == ["unknown_column"]


def test_file_level_errors_reject_even_under_partial() -> None:
    error = issues_frame([common_issue("duplicate_column", column="site_code")])
    result = validate_submission(parsed([site("ZY-0001")], issues=error), SITES,
                                 county_code=COUNTY, period=SUMMER, policy="partial")
    assert result.status is SubmissionStatus.REJECTED and result.counts.rows_rejected == 1


def test_missing_required_column_is_a_submission_level_error() -> None:
    row = site("ZY-0001")
    del row["host_type"]
    result = validate_submission(parsed([row]), SITES, county_code=COUNTY, period=SUMMER,
                                 policy="partial")
    assert result.status is SubmissionStatus.REJECTED
    assert result.issues["rule"].to_list() == ["required_column_missing"]
    assert result.issues["source_row"].to_list() == [None]


# --- duplicates ---------------------------------------------------------------------------


def test_duplicate_keys_reject_the_submission_and_list_every_row() -> None:
    row = {"county_code": "530602", "school_code": "5306020001", "school_name": "职教中心",
           "program": "护理", "track": "中职", "grade": "1", "enrolled": "100",
           "new_intake": "100", "dropouts": "0"}
    rows = [row, {**row, "program": "机电"}, {**row, "grade": "高一", "track": "中职班"},
            {**row, "program": " 护理 ", "grade": "一年级"}]
    result = validate_submission(parsed(rows), VOCATIONAL, county_code=COUNTY,
                                 period=parse_period("2025"), policy="partial")
    assert result.status is SubmissionStatus.REJECTED
    assert (result.counts.rows_loaded, result.counts.rows_rejected) == (0, 4)
    duplicates = result.issues.filter(pl.col("rule") == "duplicate_key")
    assert duplicates["source_row"].to_list() == [2, 4, 5]
    assert duplicates["value"].to_list() == [
        "5306020001 / 护理 / 中职 / 1", "5306020001 / 护理 / 中职班 / 高一",
        "5306020001 /  护理  / 中职 / 一年级",
    ]
    assert all("2, 4, 5" in message for message in duplicates["message_zh"].to_list())
    assert all("2, 4, 5" in message for message in duplicates["message_en"].to_list())
    assert duplicates["column"].unique().to_list() == ["school_code, program, track, grade"]


def test_rows_with_an_unreadable_key_are_not_called_duplicates() -> None:
    rows = [site("ZY-0001"), site("—"), site("/")]
    result = sites(rows)
    assert "duplicate_key" not in result.issues["rule"].to_list()
    assert result.issues["rule"].to_list() == ["value_required", "value_required"]


def test_optional_key_column_nulls_are_part_of_the_key() -> None:
    row = {"site_code": "ZY-0001", "source": "教师", "volunteers": "3"}
    result = validate_submission(
        parsed([row, {**row, "source": "教职工"}]), CONTRACTS["childcare_volunteers"],
        county_code=COUNTY, period=SUMMER, lookups={"site_registry": REGISTRY},
    )
    assert result.issues.filter(pl.col("rule") == "duplicate_key").height == 2


def test_cohort_grades_are_part_of_the_normalised_key() -> None:
    row = {"county_code": "530602", "school_code": "5306020001", "school_name": "职教中心",
           "program": "护理", "track": "中职", "grade": "2025级", "enrolled": "100",
           "new_intake": "100", "dropouts": "0"}
    rows = [row, {**row, "grade": "一年级"}, {**row, "grade": "２０２４ 级", "new_intake": "—"}]
    result = validate_submission(parsed(rows), VOCATIONAL, county_code=COUNTY,
                                 period=parse_period("2025"), policy="partial")
    assert result.status is SubmissionStatus.REJECTED
    duplicates = result.issues.filter(pl.col("rule") == "duplicate_key")
    assert duplicates.select("source_row", "value").rows() == [
        (2, "5306020001 / 护理 / 中职 / 2025级"), (3, "5306020001 / 护理 / 中职 / 一年级")]


# --- holding and lookups ------------------------------------------------------------------


@pytest.mark.parametrize("lookups", [None, {}, {"site_registry": None}])
def test_no_registry_yet_holds_the_submission(lookups: Mapping[str, pl.DataFrame | None] | None) -> None:
    rows = [daily("ZY-0001", "2025-07-10"), daily("ZY-0001", "2025-07-11")]
    result = validate_submission(parsed(rows), DAILY, county_code=COUNTY, period=SUMMER,
                                 lookups=lookups, policy="partial")
    assert result.status is SubmissionStatus.WAITING
    assert (result.counts.rows_in, result.counts.rows_held, result.counts.rows_loaded, result.counts.rows_rejected) == (2, 2, 0, 0)
    assert result.valid.height == 0


def test_check_mode_does_not_hold_and_skips_registry_rules() -> None:
    rows = [daily("XX-9999", "2025-07-10", children_present="5000", meals_served="5003")]
    result = validate_submission(parsed(rows), DAILY, county_code=COUNTY, period=SUMMER,
                                 hold_missing=False)
    assert result.status is SubmissionStatus.ACCEPTED
    assert result.issues.height == 0


def test_empty_registry_means_no_site_is_registered() -> None:
    rows = [daily("ZY-0001", "2025-07-10"), daily("ZY-0002", "2025-07-10")]
    empty = REGISTRY.clear()
    result = validate_submission(parsed(rows), DAILY, county_code=COUNTY, period=SUMMER,
                                 lookups={"site_registry": empty}, policy="partial")
    assert result.status is SubmissionStatus.REJECTED
    assert result.issues["rule"].to_list() == ["site_not_registered"] * 2
    assert result.issues["value"].to_list() == ["ZY-0001", "ZY-0002"]


def test_registry_rules_use_the_joined_site() -> None:
    rows = [daily("ZY-0001", "2025-07-10", children_present="101", meals_served="104"),
            daily("ZY-0002", "2025-08-20"), daily("ZY-0003", "2025-07-10")]
    result = validate_submission(parsed(rows), DAILY, county_code=COUNTY, period=SUMMER,
                                 lookups={"site_registry": REGISTRY}, policy="partial")
    found = {(row["source_row"], row["rule"]) for row in result.issues.iter_rows(named=True)}
    assert found == {(2, "present_exceed_enrolled"), (3, "date_outside_site_service"),
                     (4, "site_not_registered")}
    assert (result.counts.rows_loaded, result.counts.rows_rejected) == (2, 1)
    assert result.valid["source_row"].to_list() == [2, 3]


# --- one issue per problem ----------------------------------------------------------------


def test_rules_are_not_reported_on_unreadable_values() -> None:
    rows = [site("ZY-0001", left_behind_children="很多"),
            site("ZY-0002", children_enrolled="约100", left_behind_children="200"),
            site("ZY-0003", start_date="2025-02-30", end_date="2025-06-01"),
            site("ZY-0004", hours_per_day="—")]
    result = sites(rows)
    found = sorted((row["source_row"], row["column"], row["rule"])
                   for row in result.issues.iter_rows(named=True))
    assert found == [
        (2, "left_behind_children", "count_format"),
        (3, "children_enrolled", "count_approximate"),
        (4, "end_date", "end_outside_season"),
        (4, "start_date", "date_format"),
        (5, "hours_per_day", "value_required"),
    ]


def test_a_missing_required_value_is_reported_once() -> None:
    result = sites([site("ZY-0001", site_name="  ", children_enrolled="")])
    assert sorted(result.issues["column"].to_list()) == ["children_enrolled", "site_name"]
    assert result.issues["rule"].unique().to_list() == ["value_required"]


def test_issues_carry_the_original_text() -> None:
    rows = [site("ZY-0001", children_enrolled="2000多", hours_per_day="13小时",
                 county_code="鲁甸县", host_type="农家乐")]
    result = sites(rows)
    values = {row["column"]: row["value"] for row in result.issues.iter_rows(named=True)}
    assert values == {"children_enrolled": "2000多", "hours_per_day": "13小时",
                      "county_code": "鲁甸县", "host_type": "农家乐"}


def test_county_mismatch_with_the_path() -> None:
    rows = [site("ZY-0001", county_code="zhaoyang"), site("ZY-0002", county_code="鲁甸"),
            site("ZY-0003", county_code="昆明")]
    result = sites(rows)
    found = [(row["source_row"], row["rule"], row["value"]) for row in result.issues.iter_rows(named=True)]
    assert found == [(3, "county_mismatch", "鲁甸"), (4, "county_unknown", "昆明")]


def test_messages_are_bilingual() -> None:
    rows = [site("ZY-0001", children_enrolled="约100", hours_per_day="3", county_code="鲁甸"),
            site("ZY-0001")]
    result = sites(rows)
    assert result.issues.height >= 4
    for row in result.issues.iter_rows(named=True):
        assert re.search(r"[\u4e00-\u9fff]", row["message_zh"]), row
        assert re.match(r"[a-z]+ [a-z]+", row["message_en"]), row


def test_issues_are_sorted_by_source_row_file_level_first() -> None:
    warning = issues_frame([common_issue("unknown_column", column="x", value="x")])
    rows = [site("ZY-0001"), site("ZY-0002", hours_per_day="3"), site("ZY-0003", hours_per_day="4")]
    result = sites(rows, issues=warning)
    assert result.issues["source_row"].to_list() == [None, 3, 4]


# --- "no number" dashes in required counts ------------------------------------------------

DASH = COMMON_RULES["count_dash_zero"]


@pytest.mark.parametrize("policy", ["strict", "partial"])
def test_dash_in_a_required_count_loads_as_zero_with_one_grouped_warning(policy: str) -> None:
    marked = {3, 4, 5, 8}
    rows = [site(f"ZY-{row:04d}", **({"left_behind_children": "—"} if row in marked else {}))
            for row in range(2, 10)]
    result = validate_submission(parsed(rows), SITES, county_code=COUNTY, period=SUMMER,
                                 policy=policy)  # type: ignore[arg-type]
    assert result.status is SubmissionStatus.ACCEPTED_WITH_WARNINGS
    assert (result.counts.rows_in, result.counts.rows_loaded, result.counts.rows_rejected, result.counts.rows_held) == (8, 8, 0, 0)
    assert (result.counts.errors, result.counts.warnings) == (0, 1)
    assert result.valid["left_behind_children"].to_list() == [60, 0, 0, 0, 60, 60, 0, 60]
    assert result.valid["source_row"].to_list() == list(range(2, 10))
    assert result.issues.rows() == [
        (3, "left_behind_children", "—", "count_dash_zero", "warning",
         f"{DASH.message_zh}：第 3–5、8 行", f"{DASH.message_en}: rows 3–5, 8"),
    ]


def test_rules_still_judge_a_count_read_as_zero() -> None:
    """A dash is a real 0: a rule comparing two columns runs on those rows (the first of
    them carrying the grouped warning included) and its errors reject them under partial."""
    rows = [site("ZY-0001"), site("ZY-0002", children_enrolled="—"),
            site("ZY-0003", children_enrolled="/"), site("ZY-0004"),
            site("ZY-0005", children_enrolled="无", left_behind_children="－")]
    result = validate_submission(parsed(rows), SITES, county_code=COUNTY, period=SUMMER,
                                 policy="partial")
    found = [(row["source_row"], row["column"], row["rule"], row["severity"])
             for row in result.issues.iter_rows(named=True)]
    assert found == [
        (3, "children_enrolled", "count_dash_zero", "warning"),
        (3, "left_behind_children", "left_behind_exceed_enrolled", "error"),
        (4, "left_behind_children", "left_behind_exceed_enrolled", "error"),
        (6, "left_behind_children", "count_dash_zero", "warning"),
    ]
    messages = result.issues.filter(pl.col("rule") == "count_dash_zero")["message_en"].to_list()
    assert messages == [f"{DASH.message_en}: rows 3–4, 6", f"{DASH.message_en}: row 6"]
    assert result.status is SubmissionStatus.ACCEPTED_WITH_WARNINGS
    assert (result.counts.rows_in, result.counts.rows_loaded, result.counts.rows_rejected) == (5, 3, 2)
    assert result.valid["source_row"].to_list() == [2, 5, 6]
    assert result.valid["children_enrolled"].to_list() == [100, 100, 0]
    assert result.valid["left_behind_children"].to_list() == [60, 60, 0]
    strict = sites(rows)
    assert strict.status is SubmissionStatus.REJECTED and strict.counts.rows_rejected == 5


def test_blank_in_a_required_count_stays_an_error_and_optional_dashes_stay_null() -> None:
    rows = [site("ZY-0001", children_enrolled="…", relocated_children="—"),
            site("ZY-0002", children_enrolled="N/A", relocated_children="/"),
            site("ZY-0003", children_enrolled="", relocated_children="无")]
    result = validate_submission(parsed(rows), SITES, county_code=COUNTY, period=SUMMER,
                                 policy="partial")
    assert result.status is SubmissionStatus.REJECTED
    assert result.issues.select("source_row", "value", "rule").rows() == [
        (2, "…", "value_required"), (3, "N/A", "value_required"), (4, "", "value_required")]
    ok = sites([site("ZY-0001", relocated_children="—"), site("ZY-0002", relocated_children="/")])
    assert ok.status is SubmissionStatus.ACCEPTED and ok.issues.height == 0
    assert ok.valid["relocated_children"].to_list() == [None, None]


def test_a_warning_value_issue_suppresses_no_rule_and_no_duplicate() -> None:
    """The engine's functions on their own: only error value issues stand for an unreadable
    value; a warning names a value that was read."""
    rows = [site("ZY-0001", children_enrolled="50"), site("ZY-0001", left_behind_children="170")]
    raw = parsed(rows).frame
    typed, _ = normalise_frame(raw, SITES, period=SUMMER)
    context, available = add_context(typed, SITES, county_code=COUNTY, period=SUMMER, lookups={})

    def value_issue(row: int, column: str, rule: str) -> dict[str, object]:
        return common_issue(rule, column=column, value="—", source_row=row)

    warnings = issues_frame([value_issue(2, "children_enrolled", "count_dash_zero"),
                             value_issue(3, "site_code", "count_dash_zero")])
    failures = rule_issues(context, raw, SITES, available, warnings)
    assert failures.select("source_row", "rule").rows() == [
        (2, "left_behind_exceed_enrolled"), (3, "left_behind_exceed_enrolled")]
    assert duplicate_key_issues(typed, raw, SITES, warnings)["source_row"].to_list() == [2, 3]
    errors = issues_frame([value_issue(2, "children_enrolled", "count_format"),
                           value_issue(3, "site_code", "value_required")])
    assert rule_issues(context, raw, SITES, available, errors)["source_row"].to_list() == [3]
    assert duplicate_key_issues(typed, raw, SITES, errors).height == 0


def test_dates_without_a_year_take_the_period_year() -> None:
    rows = [site("ZY-0001", start_date="7.7", end_date="8/15"),
            site("ZY-0002", start_date="7/14", end_date="8.31"),
            site("ZY-0003", start_date="7.1", end_date="2.30"),
            site("ZY-0004", start_date="6.1", end_date="8.15")]
    result = validate_submission(parsed(rows), SITES, county_code=COUNTY, period=SUMMER,
                                 policy="partial")
    assert result.issues.select("source_row", "column", "value", "rule").rows() == [
        (4, "end_date", "2.30", "date_format"), (5, "start_date", "6.1", "start_outside_season")]
    assert result.valid.select("start_date", "end_date").rows() == [
        (date(2025, 7, 7), date(2025, 8, 15)), (date(2025, 7, 14), date(2025, 8, 31))]
    assert (result.counts.rows_loaded, result.counts.rows_rejected) == (2, 2)


def test_cohort_grades_in_a_school_year() -> None:
    base = {"county_code": "530602", "school_code": "5306020001", "school_name": "职教中心",
            "track": "中职", "enrolled": "100", "new_intake": "0", "dropouts": "0"}
    rows = [{**base, "program": "护理", "grade": "2025级", "new_intake": "100"},
            {**base, "program": "护理", "grade": "2024级", "new_intake": "—"},
            {**base, "program": "护理", "grade": "２０２３ 级", "new_intake": "30"},
            {**base, "program": "机电", "grade": "2022级"},
            {**base, "program": "机电", "grade": "2024级", "new_intake": "/"}]
    result = validate_submission(parsed(rows), VOCATIONAL, county_code=COUNTY,
                                 period=parse_period("2025"), policy="partial")
    assert result.issues.select("source_row", "column", "value", "rule", "severity").rows() == [
        (3, "new_intake", "—", "count_dash_zero", "warning"),
        (4, "new_intake", "30", "intake_in_upper_grade", "warning"),
        (5, "grade", "2022级", "grade_cohort", "error"),
    ]
    assert result.issues["message_en"][0] == f"{DASH.message_en}: rows 3, 6"
    assert result.valid.select("source_row", "grade", "new_intake").rows() == [
        (2, 1, 100), (3, 2, 0), (4, 3, 30), (6, 2, 0)]
    assert result.status is SubmissionStatus.ACCEPTED_WITH_WARNINGS
    assert (result.counts.rows_in, result.counts.rows_loaded, result.counts.rows_rejected) == (5, 4, 1)


# --- total row ----------------------------------------------------------------------------


def test_total_row_matching_the_sums_raises_nothing() -> None:
    rows = [site("ZY-0001"), site("ZY-0002", children_enrolled="1,200", hours_per_day="5.5")]
    total = {"county_code": "合计", "children_enrolled": "1300人", "left_behind_children": "120",
             "hours_per_day": "11.5", "meal_subsidy_yuan": ""}
    result = sites(rows, total=total)
    assert result.status is SubmissionStatus.ACCEPTED
    assert result.counts.rows_in == 2


def test_total_row_mismatch_is_a_warning_per_column() -> None:
    rows = [site("ZY-0001"), site("ZY-0002")]
    total = {"site_code": "合计", "children_enrolled": "210", "left_behind_children": "120",
             "hours_per_day": "12.5", "meal_subsidy_yuan": "16"}
    result = sites(rows, total=total)
    assert result.status is SubmissionStatus.ACCEPTED_WITH_WARNINGS
    assert result.counts.rows_loaded == 2
    mismatches = result.issues.filter(pl.col("rule") == "total_row_mismatch")
    assert mismatches.select("source_row", "column", "value", "severity").rows() == [
        (4, "hours_per_day", "12.5", "warning"), (4, "children_enrolled", "210", "warning"),
    ]
    messages = dict(zip(mismatches["column"], mismatches["message_en"], strict=True))
    assert messages["children_enrolled"].endswith("200")
    assert messages["hours_per_day"].endswith("12")
    assert "200" in mismatches["message_zh"][1]


def test_total_row_is_not_reconciled_on_a_column_with_unreadable_values() -> None:
    rows = [site("ZY-0001"), site("ZY-0002", children_enrolled="约100")]
    result = sites(rows, total={"site_code": "合计", "children_enrolled": "999"})
    assert "total_row_mismatch" not in result.issues["rule"].to_list()


# --- conservation and helpers -------------------------------------------------------------

SCENARIOS = {
    "clean": [site("A001"), site("A002")],
    "one bad": [site("A001"), site("A002", hours_per_day="x")],
    "warning": [site("A001", hours_per_day="4")],
    "duplicate": [site("A001"), site("A001")],
    "dash zero": [site("A001", left_behind_children="—"), site("A002", children_enrolled="/",
                                                             left_behind_children="—")],
    "all bad": [site("A001", host_type="?"), site("A002", county_code="?")],
}


@pytest.mark.parametrize("policy", ["strict", "partial"])
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_rows_are_conserved(scenario: str, policy: str) -> None:
    result = validate_submission(parsed(SCENARIOS[scenario]), SITES, county_code=COUNTY,
                                 period=SUMMER, policy=policy)  # type: ignore[arg-type]
    assert conserved(result)
    assert result.valid.height == result.counts.rows_loaded


def test_reject_submission_helper() -> None:
    result = reject_submission(SubmissionRejected("file_too_large", "60 MB > 50 MB"), rows_in=0)
    assert result.status is SubmissionStatus.REJECTED
    assert conserved(result) and result.counts.errors == 1
    issue = result.issues.row(0, named=True)
    assert issue["rule"] == "file_too_large" and issue["source_row"] is None
    assert "60 MB" in issue["message_zh"] and "60 MB" in issue["message_en"]
    with_rows = reject_submission(SubmissionRejected("header_not_found"), rows_in=5,
                                  contract=SITES)
    assert (with_rows.counts.rows_in, with_rows.counts.rows_rejected) == (5, 5)
    assert with_rows.valid.columns == [*SITES.column_names, "source_row"]


def test_counts_are_made_conserved_or_not_at_all() -> None:
    with pytest.raises(ValueError, match="conservation"):
        RowCounts(rows_in=5, rows_loaded=0, rows_rejected=3, rows_held=0, errors=0, warnings=0)
    with pytest.raises(ValueError, match="negative"):
        RowCounts(rows_in=0, rows_loaded=1, rows_rejected=-1, rows_held=0, errors=0, warnings=0)
    issues = issues_frame([common_issue("file_too_large"), common_issue("unknown_column"),
                           common_issue("unknown_column")])
    assert RowCounts.from_issues(issues, rows_in=4, rows_loaded=1, rows_rejected=2,
                                 rows_held=1) == RowCounts(4, 1, 2, 1, errors=1, warnings=2)
    assert RowCounts.from_issues(issues_frame(), rows_in=0, rows_loaded=0,
                                 rows_rejected=0) == RowCounts(0, 0, 0, 0, 0, 0)


def test_empty_submission_is_accepted_with_nothing_to_load() -> None:
    frame = pl.DataFrame(schema={name: pl.Utf8 for name in SITES.required_columns}
                         | {"source_row": pl.Int64})
    result = validate_submission(ParsedSubmission(frame, issues_frame()), SITES,
                                 county_code=COUNTY, period=SUMMER)
    assert result.status is SubmissionStatus.ACCEPTED
    assert conserved(result) and result.counts.rows_in == 0


# --- text length ----------------------------------------------------------------------------


def test_over_long_text_is_a_row_error_showing_its_start_and_length() -> None:
    name = "红路馨居小学" + "很" * 44_994  # 45,000 characters
    rows = [site("ZY-0001"), site("ZY-0002", site_name=name), site("ZY-0003", children_enrolled="9" * 2000)]
    result = validate_submission(parsed(rows), SITES, county_code=COUNTY, period=SUMMER,
                                 policy="partial", max_text_chars=1000)
    errors = result.issues.filter(pl.col("severity") == "error")
    assert errors.select("source_row", "column", "rule").rows() == [
        (3, "site_name", "text_too_long"), (4, "children_enrolled", "text_too_long")]
    shown = errors["value"][0]
    assert shown.startswith("红路馨居小学很") and "45000 characters" in shown and len(shown) < 100
    assert errors["value"][1].startswith("9" * 50) and "2000 字" in errors["value"][1]
    assert "上限 1000 字" in errors["message_zh"][0] and "limit 1000 characters" in errors["message_en"][0]
    assert (result.counts.rows_loaded, result.counts.rows_rejected) == (1, 2) and conserved(result)
    assert result.valid["site_code"].to_list() == ["ZY-0001"]
    # no other rule and no issue carries the whole text
    assert result.issues["value"].str.len_chars().max() < 100  # type: ignore[operator]


def test_text_at_the_limit_is_read() -> None:
    result = validate_submission(parsed([site("ZY-0001", site_name="名" * 20)]), SITES,
                                 county_code=COUNTY, period=SUMMER, max_text_chars=20)
    assert result.status is SubmissionStatus.ACCEPTED
    assert result.valid["site_name"].to_list() == ["名" * 20]
    strict = validate_submission(parsed([site("ZY-0001", site_name="名" * 21)]), SITES,
                                 county_code=COUNTY, period=SUMMER, max_text_chars=20)
    assert strict.status is SubmissionStatus.REJECTED
    assert strict.issues["rule"].to_list() == ["text_too_long"]


# --- limits: personal data and amplification ----------------------------------------------


def test_personal_data_typed_into_a_data_cell_is_masked_in_the_issues() -> None:
    rows = [site("ZY-0001"), site("填报人张三13812345678"),
            site("ZY-0003", children_enrolled="约 139 1234 5678"),
            site("ZY-0004", site_name="联系人李四 530602199001011234", children_enrolled="x")]
    result = sites(rows)
    values = result.issues["value"].drop_nulls().to_list()
    assert "填报人**138****5678" in values
    assert "约 139****5678" in values
    text = str(result.issues.rows())
    for secret in ("13812345678", "张三", "1391234", "19900101", "李四"):
        assert secret not in text


def test_personal_data_in_a_submission_level_rejection_is_masked() -> None:
    result = reject_submission(SubmissionRejected("file_unreadable", "张三 13812345678",
                                                  value="联系电话13812345678"), 3)
    assert result.issues["value"].to_list() == ["联系电话138****5678"]
    assert "13812345678" not in result.issues["message_zh"][0]
    assert "13812345678" not in result.issues["message_en"][0]


def test_the_preview_of_the_table_as_read_is_masked() -> None:
    layout = ReadLayout(sheets=("Sheet1",), header_rows=(1,),
                        preview_header=("托管点编码", "托管点名称"),
                        preview_rows=(("2", "填报人张三13812345678", "x" * 10_000),))
    submission = parsed([site("ZY-0001")])
    submission.layout = layout
    result = validate_submission(submission, SITES, county_code=COUNTY, period=SUMMER)
    assert result.layout is not None
    row = result.layout.preview_rows[0]
    assert row[1] == "填报人**138****5678"
    assert len(row[2] or "") < 300


def test_a_huge_value_is_clipped_in_the_issues() -> None:
    """Under the text limit a long value is clipped where it is echoed; past it the
    `text_too_long` issue shows only its start: either way the echo stays short."""
    result = sites([site("ZY-0001", children_enrolled="9" * 899 + "多")])
    value = result.issues.filter(pl.col("column") == "children_enrolled")["value"].item()
    assert len(value) < 300 and value.endswith("…（共 900 字符 / 900 chars）")
    result = sites([site("ZY-0001", children_enrolled="9" * 2_000_000 + "多")])
    value = result.issues.filter(pl.col("column") == "children_enrolled")["value"].item()
    assert len(value) < 300 and "2000001" in value


def test_a_key_repeated_on_many_rows_names_only_its_first_rows() -> None:
    result = sites([site("ZY-0001") for _ in range(500)])
    duplicates = result.issues.filter(pl.col("rule") == "duplicate_key")
    assert duplicates.height == 500
    message = duplicates["message_en"][0]
    assert message.endswith("rows " + ", ".join(str(row) for row in range(2, 22)) + " … (500)")


def test_partial_policy_rejects_exactly_the_error_rows_of_a_big_file() -> None:
    # 3 000 bad rows × 2 bad cells: far more issues than any cap; the result keeps all of
    # them, so the verdict, the counts and the rows loaded are exact.
    rows = [site(f"ZY-{n:05d}", **({"children_enrolled": "约100", "hours_per_day": "abc"}
                                   if n % 2 else {}))
            for n in range(6_000)]
    result = validate_submission(parsed(rows), SITES, county_code=COUNTY, period=SUMMER,
                                 policy="partial")
    assert (result.counts.rows_in, result.counts.rows_loaded, result.counts.rows_rejected) == (6_000, 3_000, 3_000)
    assert result.counts.errors == 6_000 and result.issues.height == 6_000
    assert result.valid["site_code"].to_list() == [f"ZY-{n:05d}" for n in range(0, 6_000, 2)]
    assert conserved(result)
