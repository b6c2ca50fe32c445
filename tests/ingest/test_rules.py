"""Every rule of every contract: one row that passes and one that fails, with the right
rule id, severity, column and source row. A contract rule without a case here fails
`test_every_rule_has_a_case`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import polars as pl
import pytest
from pandera.config import ValidationDepth, config_context

from countyflow.ingest.model import (
    ParsedSubmission,
    SubmissionStatus,
    ValidationResult,
    issues_frame,
)
from countyflow.ingest.validate import rule_issues, validate_submission
from countyflow.periods import parse_period
from schemas import CONTRACTS
from schemas.contract import COMMON_RULES, ColumnType, Contract, Severity
from schemas.pandera import build_schema

SOURCE_ROW = 7
COUNTY = "530602"

PERIODS = {
    "vocational_enrollment": "2025",
    "childcare_sites": "2025-summer",
    "childcare_daily": "2025-summer",
    "childcare_volunteers": "2025-summer",
    "health_monthly": "2025-07",
}

BASE_ROWS: dict[str, dict[str, str]] = {
    "vocational_enrollment": {
        "county_code": "530602", "school_code": "5306020001", "school_name": "昭通市职业教育中心",
        "program": "护理", "track": "中职", "grade": "1", "enrolled": "120", "new_intake": "120",
        "dropouts": "3",
    },
    "childcare_sites": {
        "county_code": "昭阳区", "site_code": "ZY-0001", "site_name": "红路馨居小学托管点",
        "township": "凤凰街道", "host_type": "学校", "start_date": "2025-07-07",
        "end_date": "2025-08-15", "hours_per_day": "6", "meal_subsidy_yuan": "8",
        "children_enrolled": "940", "left_behind_children": "600", "relocated_children": "300",
        "service_person_times": "",
    },
    "childcare_daily": {
        "county_code": "530602", "site_code": "ZY-0001", "date": "2025-07-10",
        "children_present": "900", "volunteers_on_duty": "10", "meals_served": "910",
    },
    "childcare_volunteers": {
        "site_code": "ZY-0001", "source": "大学生志愿者", "institution": "昭通学院",
        "volunteers": "12",
    },
    "health_monthly": {
        "county_code": "530602", "facility_code": "530602001", "facility_name": "滇东北中心医院",
        "department": "冠心病组", "beds_open": "60", "surgeries": "150",
        "interventional_procedures": "80", "outpatient_visits": "1200",
        "inpatient_admissions": "300", "resident_experts": "2", "experts_dispatched": "1",
        "visiting_experts": "3", "local_surgeons_independent": "10", "returned_patients": "40",
    },
}

SITE_REGISTRY = pl.DataFrame({
    "site_code": ["ZY-0001"], "ctx_site_known": [True], "ctx_site_start": [date(2025, 7, 7)],
    "ctx_site_end": [date(2025, 8, 15)], "ctx_site_children_enrolled": [940],
})
SURGERY_HISTORY = pl.DataFrame({
    "facility_code": ["530602001"], "department": ["冠心病"], "ctx_surgeries_median_12m": [100.0],
})
LOOKUPS: dict[str, dict[str, pl.DataFrame | None]] = {
    "childcare_daily": {"site_registry": SITE_REGISTRY},
    "childcare_volunteers": {"site_registry": SITE_REGISTRY},
    "health_monthly": {"surgery_history": SURGERY_HISTORY},
}

Override = Mapping[str, str]

# rule id → (an override of the base row that passes the rule, one that fails it)
CASES: dict[str, dict[str, tuple[Override, Override]]] = {
    "vocational_enrollment": {
        "school_code_format": ({"school_code": "5306029999"}, {"school_code": "530602001"}),
        "grade_range": ({"grade": "高三", "new_intake": "0"}, {"grade": "4", "new_intake": "0"}),
        "dropouts_exceed_enrolled": ({"dropouts": "120"}, {"dropouts": "121"}),
        "intake_in_upper_grade": ({"grade": "二年级", "new_intake": "0"},
                                  {"grade": "二年级", "new_intake": "5"}),
        "county_mismatch": ({"county_code": "Zhaoyang"}, {"county_code": "鲁甸县"}),
    },
    "childcare_sites": {
        "site_code_format": ({"site_code": "ab-12"}, {"site_code": "ZY_0001"}),
        "start_outside_season": ({"start_date": "2025-06-15"}, {"start_date": "2025-06-14"}),
        "end_outside_season": ({"end_date": "2025-09-15"}, {"end_date": "2025-09-16"}),
        "end_before_start": ({"start_date": "2025-07-01", "end_date": "2025-07-30"},
                             {"start_date": "2025-08-20", "end_date": "2025-08-10"}),
        "hours_out_of_range": ({"hours_per_day": "12"}, {"hours_per_day": "12.5"}),
        "hours_below_policy": ({"hours_per_day": "5"}, {"hours_per_day": "4.5小时"}),
        "meal_subsidy_out_of_range": ({"meal_subsidy_yuan": "50"}, {"meal_subsidy_yuan": "51"}),
        "left_behind_exceed_enrolled": ({"left_behind_children": "940"},
                                        {"left_behind_children": "941"}),
        "relocated_exceed_enrolled": ({"relocated_children": "940"},
                                      {"relocated_children": "941"}),
        "service_days_below_policy": ({"start_date": "2025-07-01", "end_date": "2025-07-30"},
                                      {"start_date": "2025-07-01", "end_date": "2025-07-29"}),
        "county_mismatch": ({"county_code": "530602"}, {"county_code": "530621"}),
    },
    "childcare_daily": {
        "site_code_format": ({"site_code": "ZY-0001"}, {"site_code": "Z1"}),
        "site_not_registered": ({"site_code": " ZY-0001 "}, {"site_code": "ZY-9999"}),
        "date_outside_season": ({"date": "7月10日"}, {"date": "2025-06-01"}),
        "date_outside_site_service": ({"date": "2025-08-15"}, {"date": "2025-08-20"}),
        "present_exceed_enrolled": ({"children_present": "940", "meals_served": "950"},
                                    {"children_present": "941"}),
        "meals_exceed_people": ({"meals_served": "910"}, {"meals_served": "911"}),
        "county_mismatch": ({"county_code": "昭阳"}, {"county_code": "盐津"}),
    },
    "childcare_volunteers": {
        "site_code_format": ({"site_code": "ZY-0001"}, {"site_code": "ZY 0001"}),
        "site_not_registered": ({"site_code": "ZY-0001"}, {"site_code": "ZY-0002"}),
        "volunteers_below_one": ({"volunteers": "1"}, {"volunteers": "0"}),
    },
    "health_monthly": {
        "facility_code_format": ({"facility_code": "ABC123"}, {"facility_code": "abc123"}),
        "department_new": ({"department": "心衰"}, {"department": "神经内科"}),
        "surgeries_spike": ({"surgeries": "300"}, {"surgeries": "301"}),
        "county_mismatch": ({"county_code": "昭阳区"}, {"county_code": "530681"}),
    },
}


def expected_rule_ids(contract: Contract) -> set[str]:
    ids = {rule.id for rule in contract.rules}
    if any(column.type is ColumnType.COUNTY for column in contract.columns):
        ids.add("county_mismatch")
    return ids


def parsed(rows: list[Mapping[str, str]], source_rows: list[int]) -> ParsedSubmission:
    frame = pl.DataFrame(list(rows), schema={name: pl.Utf8 for name in rows[0]})
    return ParsedSubmission(frame.with_columns(pl.Series("source_row", source_rows, dtype=pl.Int64)),
                            issues_frame())


def check(dataset: str, override: Override) -> ValidationResult:
    contract = CONTRACTS[dataset]
    row = {**BASE_ROWS[dataset], **override}
    return validate_submission(
        parsed([row], [SOURCE_ROW]), contract, county_code=COUNTY,
        period=parse_period(PERIODS[dataset]), lookups=LOOKUPS.get(dataset, {}),
    )


def rule_severity(contract: Contract, rule_id: str) -> Severity:
    if rule_id in COMMON_RULES:
        return COMMON_RULES[rule_id].severity
    return contract.rule(rule_id).severity


def rule_column(contract: Contract, rule_id: str) -> str:
    return "county_code" if rule_id == "county_mismatch" else contract.rule(rule_id).column


@pytest.mark.parametrize("dataset", sorted(CONTRACTS))
def test_every_rule_has_a_case(dataset: str) -> None:
    assert set(CASES.get(dataset, {})) == expected_rule_ids(CONTRACTS[dataset]), (
        "add a (passing, failing) case for each new rule to CASES"
    )


@pytest.mark.parametrize("dataset", sorted(CONTRACTS))
def test_base_row_is_clean(dataset: str) -> None:
    result = check(dataset, {})
    assert result.issues.height == 0, result.issues
    assert result.status is SubmissionStatus.ACCEPTED
    assert result.counts.rows_loaded == 1


CASE_IDS = [(dataset, rule_id) for dataset in sorted(CASES) for rule_id in sorted(CASES[dataset])]


@pytest.mark.parametrize(("dataset", "rule_id"), CASE_IDS)
def test_rule_passes(dataset: str, rule_id: str) -> None:
    passing, _ = CASES[dataset][rule_id]
    result = check(dataset, passing)
    assert result.issues.height == 0, result.issues
    assert result.counts.rows_loaded == 1


@pytest.mark.parametrize(("dataset", "rule_id"), CASE_IDS)
def test_rule_fails(dataset: str, rule_id: str) -> None:
    contract = CONTRACTS[dataset]
    _, failing = CASES[dataset][rule_id]
    result = check(dataset, failing)
    hits = result.issues.filter(pl.col("rule") == rule_id)
    assert hits.height == 1, result.issues
    hit = hits.row(0, named=True)
    column = rule_column(contract, rule_id)
    severity = rule_severity(contract, rule_id)
    assert hit["severity"] == severity.value
    assert hit["source_row"] == SOURCE_ROW
    assert hit["column"] == column
    assert hit["value"] == {**BASE_ROWS[dataset], **failing}[column]
    assert hit["message_zh"] and hit["message_en"]
    if severity is Severity.ERROR:
        assert result.status is SubmissionStatus.REJECTED
        assert result.counts.rows_rejected == 1
    else:
        assert result.status is SubmissionStatus.ACCEPTED_WITH_WARNINGS
        assert result.counts.rows_loaded == 1


LOOKUP_RULES = [
    ("childcare_daily", "site_not_registered"), ("childcare_daily", "date_outside_site_service"),
    ("childcare_daily", "present_exceed_enrolled"), ("childcare_volunteers", "site_not_registered"),
    ("health_monthly", "surgeries_spike"),
]


@pytest.mark.parametrize(("dataset", "rule_id"), LOOKUP_RULES)
def test_lookup_rules_are_skipped_without_their_lookup(dataset: str, rule_id: str) -> None:
    _, failing = CASES[dataset][rule_id]
    row = {**BASE_ROWS[dataset], **failing}
    result = validate_submission(
        parsed([row], [SOURCE_ROW]), CONTRACTS[dataset], county_code=COUNTY,
        period=parse_period(PERIODS[dataset]), lookups=None, hold_missing=False,
    )
    assert rule_id not in result.issues["rule"].to_list()


def test_department_known_list_is_reference_data_by_default() -> None:
    result = check("health_monthly", {"department": "神经内科"})
    assert result.issues["rule"].to_list() == ["department_new"]
    result = validate_submission(
        parsed([{**BASE_ROWS["health_monthly"], "department": "神经内科"}], [SOURCE_ROW]),
        CONTRACTS["health_monthly"], county_code=COUNTY, period=parse_period("2025-07"),
        lookups={"known_departments": pl.DataFrame({"department": ["神经内科"]})},
    )
    assert result.issues.height == 0


# --- the Pandera schema built from a contract -------------------------------------------


@pytest.mark.parametrize("dataset", sorted(CONTRACTS))
def test_schema_is_built_from_the_contract(dataset: str) -> None:
    contract = CONTRACTS[dataset]
    everything = {"ctx_path_county", "ctx_period_start", "ctx_period_end", "ctx_site_known",
                  "ctx_site_start", "ctx_site_end", "ctx_site_children_enrolled",
                  "ctx_surgeries_median_12m", "ctx_department_known"}
    schema = build_schema(contract, everything)
    assert list(schema.columns) == list(contract.column_names)
    for column in contract.columns:
        assert schema.columns[column.name].nullable is not column.required
    names = {check.name for check in schema.checks} | {
        check.name for column in schema.columns.values() for check in column.checks}
    assert names == expected_rule_ids(contract)
    without_context = build_schema(contract, set())
    kept = {check.name for check in without_context.checks} | {
        check.name for column in without_context.columns.values() for check in column.checks}
    assert kept == {rule.id for rule in contract.rules
                    if not rule.requires and "ctx_" not in str(rule.passes())}


def test_multi_column_rules_are_dataframe_checks() -> None:
    schema = build_schema(CONTRACTS["vocational_enrollment"], {"ctx_path_county"})
    assert {check.name for check in schema.checks} == {"dropouts_exceed_enrolled",
                                                       "intake_in_upper_grade"}
    assert [check.name for check in schema.columns["county_code"].checks] == ["county_mismatch"]


def test_pandera_switched_off_by_configuration_still_validates() -> None:
    with config_context(validation_enabled=False, validation_depth=ValidationDepth.SCHEMA_ONLY):
        result = check("vocational_enrollment", {"dropouts": "121"})
    assert result.issues["rule"].to_list() == ["dropouts_exceed_enrolled"]


def test_a_null_required_value_without_a_value_issue_is_value_required() -> None:
    contract = CONTRACTS["childcare_volunteers"]
    context = pl.DataFrame({
        "site_code": ["ZY-0001", None], "source": ["other", "other"], "institution": [None, None],
        "volunteers": [1, 2], "source_row": [2, 3],
    }, schema={"site_code": pl.Utf8, "source": pl.Utf8, "institution": pl.Utf8,
               "volunteers": pl.Int64, "source_row": pl.Int64})
    raw = context.select(pl.all().cast(pl.Utf8))
    issues = rule_issues(context, raw, contract, set(), issues_frame())
    assert issues.select("source_row", "column", "rule").rows() == [(3, "site_code", "value_required")]
