"""record_submission: ledger, issues, facts, supersession, waiting, SCD2, bulk path."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from countyflow.ingest.model import ISSUE_SCHEMA, RowCounts, SubmissionStatus, ValidationResult
from countyflow.transform import transform_submission
from tests.warehouse import builders as b
from tests.warehouse.backends import SqlNames
from warehouse.ledger import processed_statuses, submission_ref, waiting_submissions
from warehouse.load import record_submission
from warehouse.marts import read_mart


def _sql(engine: Engine, sql: str) -> sa.TextClause:
    """`sql` with its `{table}` placeholders named for the backend (tests/warehouse/backends)."""
    return sa.text(sql.format_map(SqlNames(engine)))


def scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(_sql(engine, sql), params).scalar()


def rows(engine: Engine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(_sql(engine, sql), params).all()]


def ledger(engine: Engine, submission_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(
            _sql(engine, "SELECT * FROM {audit_submission} WHERE submission_id = :id"),
            {"id": submission_id},
        ).mappings().one()
    return dict(row)


def fact_count(engine: Engine, table: str, submission_id: str | None = None) -> int:
    """Rows of fact `table` (of the submission `submission_id`: facts name it by its
    ledger key)."""
    if submission_id is None:
        return int(scalar(engine, f"SELECT COUNT(*) FROM {{{table}}}"))
    return int(scalar(engine, f"SELECT COUNT(*) FROM {{{table}}} f JOIN {{audit_submission}} s "
                      "ON s.submission_key = f.submission_key WHERE s.submission_id = :id",
                      id=submission_id))


SUMMER = "2025-summer"

DATASET_ROWS: dict[str, tuple[str, str, list[dict[str, Any]]]] = {
    "vocational_enrollment": ("2024", "fact_vocational_enrollment", [
        b.enrollment("5306020001", "护理", 1, enrolled=100, new_intake=100, dropouts=2),
        b.enrollment("5306020001", "护理", 2, enrolled=90, new_intake=0, dropouts=1),
        b.enrollment("5306020002", "汽修", 1, enrolled=50, new_intake=50,
                     track="comprehensive_high_school"),
    ]),
    "childcare_sites": (SUMMER, "fact_childcare_site_season", [
        b.site("ZY-001"), b.site("ZY-002", host_type="mobile", township=None, meal_subsidy=None),
    ]),
    "health_monthly": ("2025-07", "fact_health_monthly", [
        b.health("冠心病", surgeries=120, beds=40, experts_dispatched=2),
        b.health("心脏外科", surgeries=30, beds=20),
        b.health("新亚专业", surgeries=1, beds=2),
    ]),
}


@pytest.mark.parametrize("dataset", list(DATASET_ROWS))
def test_load_each_dataset(warehouse_engine: Engine, dataset: str) -> None:
    period, table, data = DATASET_ROWS[dataset]
    submission, status = b.load(warehouse_engine, dataset, period, data)
    assert status == "accepted"
    assert fact_count(warehouse_engine, table, submission.submission_id) == len(data)
    row = ledger(warehouse_engine, submission.submission_id)
    assert row["status"] == "accepted"
    # the facts carry the ledger's key of their submission, not its hash
    assert rows(warehouse_engine, f"SELECT DISTINCT submission_key FROM {{{table}}}") == [
        (row["submission_key"],)]
    with warehouse_engine.connect() as conn:
        columns = set(conn.execute(_sql(warehouse_engine, f"SELECT * FROM {{{table}}}")).keys())
    assert "submission_key" in columns and "submission_id" not in columns
    assert (row["rows_in"], row["rows_loaded"], row["rows_rejected"], row["rows_held"]) == (
        len(data), len(data), 0, 0)
    assert row["first_seen_at"] == row["processed_at"]
    assert row["modified_at"] == b.T0.replace(tzinfo=None)  # stored as naive UTC
    assert processed_statuses(warehouse_engine, [submission.submission_id]).get(submission.submission_id) == "accepted"


def test_load_site_dependent_datasets(warehouse_engine: Engine) -> None:
    b.load(warehouse_engine, "childcare_sites", SUMMER, [b.site("ZY-001"), b.site("ZY-002")])
    days = [b.attendance("ZY-001", dt.date(2025, 7, d), 30 + d) for d in range(6, 9)]
    _, status = b.load(warehouse_engine, "childcare_daily", SUMMER, days)
    assert status == "accepted"
    volunteers = [b.volunteer("ZY-001", "university_student", 5, "昭通学院"),
                  b.volunteer("ZY-002", "school_staff", 3)]
    vol, status = b.load(warehouse_engine, "childcare_volunteers", SUMMER, volunteers)
    assert status == "accepted"
    assert rows(warehouse_engine,
                "SELECT s.site_code, f.date_key, f.children_present FROM {fact_childcare_daily} f "
                "JOIN {dim_childcare_site} s ON s.site_key = f.site_key ORDER BY f.date_key") == [
        ("ZY-001", 20250706, 36), ("ZY-001", 20250707, 37), ("ZY-001", 20250708, 38)]
    assert fact_count(warehouse_engine, "fact_childcare_volunteers", vol.submission_id) == 2
    # no inferred members: every referenced site was registered
    assert scalar(warehouse_engine, "SELECT COUNT(*) FROM {dim_childcare_site}") == 2


def test_measures_and_derived_values_are_stored(warehouse_engine: Engine) -> None:
    b.load(warehouse_engine, "childcare_sites", SUMMER, [b.site("ZY-001", children=940)])
    assert rows(warehouse_engine,
                "SELECT service_days, start_date_key, end_date_key, meal_subsidy_yuan, "
                "children_enrolled, relocated_children FROM {fact_childcare_site_season}") == [
        (41, 20250706, 20250815, 8.0, 940, None)]


def test_unseen_department_is_added_with_unknown_group(warehouse_engine: Engine) -> None:
    b.load(warehouse_engine, "health_monthly", "2025-07", DATASET_ROWS["health_monthly"][2])
    assert rows(warehouse_engine,
                "SELECT department_group, is_reference FROM {dim_department} "
                "WHERE department = '新亚专业'") == [("unknown", False)]
    assert scalar(warehouse_engine, "SELECT COUNT(*) FROM {dim_department}") == 10


def test_issues_are_recorded_and_replaced(warehouse_engine: Engine) -> None:
    valid = b.valid_frame("childcare_sites", [b.site("ZY-001")])
    submission = b.ref("childcare_sites", SUMMER)
    facts = transform_submission("childcare_sites", valid, submission)
    status = record_submission(warehouse_engine, submission, b.accepted(valid, warnings=2), facts,
                               report_path="reports/x.json")
    assert status == "accepted_with_warnings"
    row = ledger(warehouse_engine, submission.submission_id)
    assert (row["warnings"], row["errors"], row["report_path"]) == (2, 0, "reports/x.json")
    assert rows(warehouse_engine,
                "SELECT issue_no, source_row, \"column\", severity FROM {audit_issue} "
                "WHERE submission_id = :id ORDER BY issue_no", id=submission.submission_id) == [
        (1, 2, "x", "warning"), (2, 2, "x", "warning")]


def test_a_phone_number_in_a_file_name_is_not_stored(warehouse_engine: Engine) -> None:
    valid = b.valid_frame("childcare_sites", [b.site("ZY-001")])
    submission = b.ref("childcare_sites", SUMMER, name="托管点_张三13812345678.csv")
    facts = transform_submission("childcare_sites", valid, submission)
    assert record_submission(warehouse_engine, submission, b.accepted(valid), facts) == "accepted"
    row = ledger(warehouse_engine, submission.submission_id)
    assert row["file_name"] == "托管点_张三138****5678.csv"
    assert row["relative_path"].endswith("/托管点_张三138****5678.csv")
    assert not any("13812345678" in str(value) for value in row.values())


def test_recording_twice_changes_nothing(warehouse_engine: Engine) -> None:
    data = [b.site("ZY-001"), b.site("ZY-002")]
    submission, _ = b.load(warehouse_engine, "childcare_sites", SUMMER, data)
    before = ledger(warehouse_engine, submission.submission_id)
    valid = b.valid_frame("childcare_sites", data)
    facts = transform_submission("childcare_sites", valid, submission)
    assert record_submission(warehouse_engine, submission, b.accepted(valid), facts) == "accepted"
    # even a different outcome for the same bytes is ignored: the hash was processed
    assert record_submission(warehouse_engine, submission, b.rejected(2), None) == "accepted"
    assert ledger(warehouse_engine, submission.submission_id) == before
    assert fact_count(warehouse_engine, "fact_childcare_site_season") == 2
    assert scalar(warehouse_engine, "SELECT COUNT(*) FROM {dim_childcare_site}") == 2
    assert scalar(warehouse_engine, "SELECT COUNT(*) FROM {audit_submission}") == 1


def test_newer_submission_supersedes_and_older_late_arrival_is_superseded(
    warehouse_engine: Engine,
) -> None:
    t1 = b.T0
    first, _ = b.load(warehouse_engine, "childcare_sites", SUMMER,
                      [b.site("ZY-001"), b.site("ZY-002")], modified=t1)
    second, status = b.load(warehouse_engine, "childcare_sites", SUMMER, [b.site("ZY-001")],
                            modified=t1 + dt.timedelta(days=1), name="更正.xlsx")
    assert status == "accepted"
    assert ledger(warehouse_engine, first.submission_id)["status"] == "superseded"
    assert ledger(warehouse_engine, first.submission_id)["superseded_by"] == second.submission_id
    assert fact_count(warehouse_engine, "fact_childcare_site_season", first.submission_id) == 0
    assert fact_count(warehouse_engine, "fact_childcare_site_season", second.submission_id) == 1

    # an older file arriving after the newer one was accepted: superseded on arrival
    late, status = b.load(warehouse_engine, "childcare_sites", SUMMER,
                          [b.site("ZY-001", children=999)], modified=t1 - dt.timedelta(days=3),
                          name="早期.csv")
    assert status == "superseded"
    row = ledger(warehouse_engine, late.submission_id)
    assert (row["superseded_by"], row["rows_loaded"]) == (second.submission_id, 1)
    assert fact_count(warehouse_engine, "fact_childcare_site_season") == 1
    assert scalar(warehouse_engine,
                  "SELECT children_enrolled FROM {fact_childcare_site_season}") == 40
    status_mart = read_mart(warehouse_engine, "mart_submission_status").filter(
        pl.col("dataset") == "childcare_sites", pl.col("period") == SUMMER,
        pl.col("county_code") == b.ZHAOYANG)
    assert status_mart.select("status", "current_submission_id", "submissions_received").row(0) \
        == ("accepted", second.submission_id, 3)


def test_same_mtime_ties_are_broken_by_file_name(warehouse_engine: Engine) -> None:
    later, _ = b.load(warehouse_engine, "childcare_sites", SUMMER, [b.site("ZY-002")],
                      name="b.csv")
    earlier, status = b.load(warehouse_engine, "childcare_sites", SUMMER, [b.site("ZY-001")],
                             name="a.csv")
    assert status == "superseded"
    assert ledger(warehouse_engine, earlier.submission_id)["superseded_by"] == later.submission_id


def test_rejected_resubmission_keeps_previous_facts(warehouse_engine: Engine) -> None:
    good, _ = b.load(warehouse_engine, "childcare_sites", SUMMER, [b.site("ZY-001")])
    bad = b.ref("childcare_sites", SUMMER, name="更正.csv", modified=b.T0 + dt.timedelta(days=2))
    assert record_submission(warehouse_engine, bad, b.rejected(3, errors=2), None) == "rejected"
    assert fact_count(warehouse_engine, "fact_childcare_site_season", good.submission_id) == 1
    assert ledger(warehouse_engine, good.submission_id)["status"] == "accepted"
    row = ledger(warehouse_engine, bad.submission_id)
    assert (row["rows_in"], row["rows_rejected"], row["errors"]) == (3, 3, 2)
    assert scalar(warehouse_engine, "SELECT COUNT(*) FROM {audit_issue} WHERE submission_id = :id",
                  id=bad.submission_id) == 2
    status_mart = read_mart(warehouse_engine, "mart_submission_status").filter(
        pl.col("dataset") == "childcare_sites", pl.col("period") == SUMMER,
        pl.col("county_code") == b.ZHAOYANG)
    assert status_mart.select(
        "status", "current_submission_id", "rows_rejected", "current_rows_loaded").row(0) == (
        "rejected", good.submission_id, 3, 1)


def test_issues_are_capped_per_rule_and_column_and_counts_stay_exact(
        warehouse_engine: Engine) -> None:
    # 400 000 issues: 100 000 bad rows × 4 columns; the audit keeps 1 000 per rule × column
    # and one summary row each with the count of the rest (readable as CAST(value AS BIGINT)).
    columns = ("children_enrolled", "left_behind_children", "hours_per_day", "meal_subsidy_yuan")
    issues = pl.DataFrame({"source_row": pl.int_range(2, 100_002, eager=True)}).join(
        pl.DataFrame({"column": columns}), how="cross").with_columns(
        pl.lit("约 5").alias("value"), pl.lit("count_approximate").alias("rule"),
        pl.lit("error").alias("severity"), pl.lit("数量须为确数").alias("message_zh"),
        pl.lit("counts must be exact").alias("message_en"))
    issues = issues.cast(ISSUE_SCHEMA)  # type: ignore[arg-type]
    counts = RowCounts.from_issues(issues, rows_in=100_000, rows_loaded=0, rows_rejected=100_000)
    result = ValidationResult(SubmissionStatus.REJECTED, pl.DataFrame(), issues, counts)
    assert result.counts.errors == 400_000
    submission = b.ref("childcare_sites", SUMMER, name="洪水.csv")
    assert record_submission(warehouse_engine, submission, result, None,
                             max_issue_rows=1000) == "rejected"
    row = ledger(warehouse_engine, submission.submission_id)
    assert (row["errors"], row["rows_rejected"]) == (400_000, 100_000)
    where = "WHERE submission_id = :id"
    assert scalar(warehouse_engine, f"SELECT COUNT(*) FROM {{audit_issue}} {where}",
                  id=submission.submission_id) == 4 * 1001
    assert rows(warehouse_engine,
                "SELECT \"column\", COUNT(*), "
                "SUM(CASE WHEN source_row IS NULL THEN CAST(value AS BIGINT) ELSE 1 END) "
                f"FROM {{audit_issue}} {where} GROUP BY \"column\" ORDER BY \"column\"",
                id=submission.submission_id) == sorted((name, 1001, 100_000) for name in columns)
    assert rows(warehouse_engine,
                f"SELECT DISTINCT message_en FROM {{audit_issue}} {where} AND source_row IS NULL",
                id=submission.submission_id) == [("and 99000 more rows not listed (rows 1002–100001)",)]


def test_rejected_at_path_level_is_recorded(warehouse_engine: Engine) -> None:
    submission = b.ref("childcare_sites", "2025-autumn", county="999999")
    submission = type(submission)(**{**submission.__dict__, "path_error": "unknown_period_path"})
    assert record_submission(warehouse_engine, submission, b.rejected(0), None) == "rejected"
    assert ledger(warehouse_engine, submission.submission_id)["path_error"] == "unknown_period_path"


def test_waiting_submission_is_loaded_later(warehouse_engine: Engine) -> None:
    days = [b.attendance("ZY-001", dt.date(2025, 7, 7), 35)]
    daily = b.ref("childcare_daily", SUMMER, modified=dt.datetime(2025, 7, 8, 20, 30))
    valid = b.valid_frame("childcare_daily", days)
    assert record_submission(warehouse_engine, daily, b.waiting(valid, warnings=1), None) \
        == "waiting"
    assert processed_statuses(warehouse_engine, [daily.submission_id]).get(daily.submission_id) == "waiting"
    assert fact_count(warehouse_engine, "fact_childcare_daily") == 0
    first_seen, key = (ledger(warehouse_engine, daily.submission_id)[c]
                       for c in ("first_seen_at", "submission_key"))

    held = waiting_submissions(warehouse_engine)
    assert [row["submission_id"] for row in held] == [daily.submission_id]
    assert held[0]["rows_held"] == 1
    assert submission_ref(held[0]) == type(daily)(
        **{**daily.__dict__, "modified_at": daily.modified_at.replace(tzinfo=dt.UTC)})

    b.load(warehouse_engine, "childcare_sites", SUMMER, [b.site("ZY-001")])
    facts = transform_submission("childcare_daily", valid, daily)
    assert record_submission(warehouse_engine, daily, b.accepted(valid), facts) == "accepted"
    row = ledger(warehouse_engine, daily.submission_id)
    assert (row["status"], row["rows_held"], row["rows_loaded"]) == ("accepted", 0, 1)
    assert scalar(warehouse_engine, "SELECT COUNT(*) FROM {audit_issue} WHERE submission_id = :id",
                  id=daily.submission_id) == 0  # the re-validation's issues replace the old
    assert row["first_seen_at"] == first_seen
    assert row["processed_at"] >= first_seen
    assert row["submission_key"] == key  # numbered once, when first recorded
    assert rows(warehouse_engine, "SELECT submission_key FROM {fact_childcare_daily}") == [(key,)]
    assert waiting_submissions(warehouse_engine) == []


def test_conservation_is_enforced_by_a_check_constraint(warehouse_engine: Engine) -> None:
    # unbalanced counts cannot be made (RowCounts, tests/ingest/test_validate.py), and the
    # constraint itself, not only the code, refuses an unbalanced row
    with pytest.raises(sa.exc.IntegrityError), warehouse_engine.begin() as conn:
        conn.execute(_sql(
            warehouse_engine,
            "INSERT INTO {audit_submission} (submission_id, county_code, dataset, period, "
            "file_name, extension, relative_path, source_url, archive_path, size_bytes, "
            "modified_at, first_seen_at, processed_at, status, rows_in, rows_loaded, "
            "rows_rejected, rows_held, errors, warnings) VALUES ('x', '530602', "
            "'childcare_sites', '2025-summer', 'f', 'csv', 'p', 'u', 'a', 1, "
            "'2025-01-01', '2025-01-01', '2025-01-01', 'accepted', 3, 1, 1, 0, 0, 0)"
        ))


def test_fact_rows_must_match_rows_loaded(warehouse_engine: Engine) -> None:
    valid = b.valid_frame("childcare_sites", [b.site("ZY-001"), b.site("ZY-002")])
    submission = b.ref("childcare_sites", SUMMER)
    facts = transform_submission("childcare_sites", valid, submission).head(1)
    with pytest.raises(ValueError, match="rows_loaded"):
        record_submission(warehouse_engine, submission, b.accepted(valid), facts)
    with pytest.raises(ValueError, match="fact frame"):
        record_submission(warehouse_engine, submission, b.accepted(valid), None)
    assert processed_statuses(warehouse_engine, [submission.submission_id]).get(submission.submission_id) is None


# Facts have no FOREIGN KEY constraints (warehouse.models): the loader itself must refuse
# a row whose reference has no row, rolling back the whole submission.
BROKEN_REFERENCES: dict[str, tuple[str, str, str, Any, list[dict[str, Any]]]] = {
    "date_key": ("childcare_daily", SUMMER, "fact_childcare_daily", 20990706,
                 [b.attendance("ZY-001", dt.date(2025, 7, d), 30) for d in (6, 7)]),
    "start_date_key": ("childcare_sites", SUMMER, "fact_childcare_site_season", 20990706,
                       [b.site("ZY-001"), b.site("ZY-002")]),
    "month_date_key": ("health_monthly", "2025-07", "fact_health_monthly", 20990701,
                       DATASET_ROWS["health_monthly"][2][:2]),
    "track": ("vocational_enrollment", "2024", "fact_vocational_enrollment", "apprenticeship",
              DATASET_ROWS["vocational_enrollment"][2]),
    "source": ("childcare_volunteers", SUMMER, "fact_childcare_volunteers", "robots",
               [b.volunteer("ZY-001", "school_staff", 3), b.volunteer("ZY-002", "other", 1)]),
}


@pytest.mark.parametrize("column", list(BROKEN_REFERENCES))
def test_a_fact_naming_a_missing_member_is_refused(warehouse_engine: Engine, column: str) -> None:
    dataset, period, table, missing, data = BROKEN_REFERENCES[column]
    submission = b.ref(dataset, period)
    valid = b.valid_frame(dataset, data)
    facts = transform_submission(dataset, valid, submission)
    facts = facts.with_columns(  # the last row names a member no dimension row has
        pl.when(pl.int_range(pl.len()) == pl.len() - 1).then(pl.lit(missing))
        .otherwise(pl.col(column)).cast(facts.schema[column]).alias(column))
    with pytest.raises(RuntimeError, match=f"inserted {len(data) - 1} of {len(data)} fact rows"):
        record_submission(warehouse_engine, submission, b.accepted(valid), facts)
    assert processed_statuses(warehouse_engine, [submission.submission_id]).get(submission.submission_id) is None
    assert fact_count(warehouse_engine, table) == 0


def test_a_submission_of_an_unknown_county_is_refused(warehouse_engine: Engine) -> None:
    with pytest.raises(RuntimeError, match="not in dim_county"):
        b.load(warehouse_engine, "childcare_sites", SUMMER, [b.site("ZY-001", county="530699")],
               county="530699")
    assert scalar(warehouse_engine, "SELECT COUNT(*) FROM {audit_submission}") == 0
    assert fact_count(warehouse_engine, "fact_childcare_site_season") == 0


def test_an_unseen_period_is_seeded_with_its_days(warehouse_engine: Engine) -> None:
    """Periods 2015–2035 are seeded once by ensure_warehouse; a later one is added (with
    its days) by the submission that first reports it, in the same transaction."""
    start, end = b.summer(2037)
    assert scalar(warehouse_engine,
                  "SELECT COUNT(*) FROM {dim_period} WHERE period = '2037-summer'") == 0
    _, status = b.load(warehouse_engine, "childcare_sites", "2037-summer",
                       [b.site("ZY-001", start=start, end=end)])
    assert status == "accepted"
    assert rows(warehouse_engine, "SELECT start_date, end_date FROM {dim_period} "
                "WHERE period = '2037-summer'") == [(dt.date(2037, 6, 15), dt.date(2037, 9, 15))]
    assert rows(warehouse_engine, "SELECT start_date_key, end_date_key "
                "FROM {fact_childcare_site_season}") == [(20370706, 20370815)]
    days = [b.attendance("ZY-001", dt.date(2037, 7, 6), 30)]
    _, status = b.load(warehouse_engine, "childcare_daily", "2037-summer", days)
    assert status == "accepted"
    assert rows(warehouse_engine, "SELECT d.date FROM {fact_childcare_daily} f "
                "JOIN {dim_date} d ON d.date_key = f.date_key") == [(dt.date(2037, 7, 6),)]


def test_concurrent_submissions_of_one_partition_are_serialised(
    warehouse_engine: Engine,
) -> None:
    submissions = []
    for hour in range(4):
        submission = b.ref("childcare_sites", SUMMER, name=f"v{hour}.csv",
                           modified=b.T0 + dt.timedelta(hours=hour))
        valid = b.valid_frame("childcare_sites", [b.site(f"ZY-{hour:03d}")])
        facts = transform_submission("childcare_sites", valid, submission)
        submissions.append((submission, b.accepted(valid), facts))
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(lambda s: record_submission(warehouse_engine, *s), submissions))
    newest = submissions[-1][0].submission_id
    assert set(statuses) <= {"accepted", "superseded"}  # depends on the threads' order
    assert rows(warehouse_engine, "SELECT submission_id FROM {audit_submission} "
                "WHERE status = 'accepted'") == [(newest,)]
    assert rows(warehouse_engine, "SELECT DISTINCT s.submission_id "
                "FROM {fact_childcare_site_season} f JOIN {audit_submission} s "
                "ON s.submission_key = f.submission_key") == [(newest,)]


def site_versions(engine: Engine, code: str) -> list[tuple[Any, ...]]:
    return rows(engine,
                "SELECT site_name, valid_from, valid_to, is_current, is_inferred "
                "FROM {dim_childcare_site} WHERE site_code = :code ORDER BY valid_from", code=code)


def test_scd2_rename_opens_a_new_version_and_facts_follow(warehouse_engine: Engine) -> None:
    start, end = b.summer(2024)
    b.load(warehouse_engine, "childcare_sites", "2024-summer",
           [b.site("ZY-001", name="红路馨居小学", start=start, end=end), b.site("ZY-002")
            | {"start_date": start, "end_date": end}])
    b.load(warehouse_engine, "childcare_sites", SUMMER,
           [b.site("ZY-001", name="红路馨居小学托管点"), b.site("ZY-002")])
    open_end = dt.date(9999, 12, 31)
    assert site_versions(warehouse_engine, "ZY-001") == [
        ("红路馨居小学", dt.date(2024, 6, 15), dt.date(2025, 6, 15), False, False),
        ("红路馨居小学托管点", dt.date(2025, 6, 15), open_end, True, False)]
    assert len(site_versions(warehouse_engine, "ZY-002")) == 1  # unchanged: no new version
    assert rows(warehouse_engine,
                "SELECT f.period, s.site_name FROM {fact_childcare_site_season} f "
                "JOIN {dim_childcare_site} s ON s.site_key = f.site_key "
                "WHERE s.site_code = 'ZY-001' ORDER BY f.period") == [
        ("2024-summer", "红路馨居小学"), ("2025-summer", "红路馨居小学托管点")]

    # a season in between arriving late splits the history without touching the rest
    b.load(warehouse_engine, "childcare_sites", "2025-winter",
           [b.site("ZY-001", name="红路馨居临时点", start=dt.date(2025, 1, 20),
                   end=dt.date(2025, 2, 28))])
    assert site_versions(warehouse_engine, "ZY-001") == [
        ("红路馨居小学", dt.date(2024, 6, 15), dt.date(2025, 1, 1), False, False),
        ("红路馨居临时点", dt.date(2025, 1, 1), dt.date(2025, 6, 15), False, False),
        ("红路馨居小学托管点", dt.date(2025, 6, 15), open_end, True, False)]
    # a correction of the same season updates that version in place
    b.load(warehouse_engine, "childcare_sites", SUMMER,
           [b.site("ZY-001", name="红路馨居小学（更正）"), b.site("ZY-002")],
           modified=b.T0 + dt.timedelta(days=1))
    assert [v[0] for v in site_versions(warehouse_engine, "ZY-001")] == [
        "红路馨居小学", "红路馨居临时点", "红路馨居小学（更正）"]
    # a host type change is a change too
    b.load(warehouse_engine, "childcare_sites", "2026-summer",
           [b.site("ZY-002", host_type="mobile", start=dt.date(2026, 7, 6),
                   end=dt.date(2026, 8, 15))])
    assert rows(warehouse_engine,
                "SELECT host_type, is_current FROM {dim_childcare_site} WHERE site_code = 'ZY-002' "
                "ORDER BY valid_from") == [("school", False), ("mobile", True)]


def test_daily_before_its_site_creates_an_inferred_member(warehouse_engine: Engine) -> None:
    b.load(warehouse_engine, "childcare_daily", SUMMER,
           [b.attendance("ZY-009", dt.date(2025, 7, 7), 12)])
    assert site_versions(warehouse_engine, "ZY-009") == [
        (None, dt.date(2025, 6, 15), dt.date(9999, 12, 31), True, True)]
    b.load(warehouse_engine, "childcare_sites", SUMMER, [b.site("ZY-009", name="补报点")])
    assert site_versions(warehouse_engine, "ZY-009") == [
        ("补报点", dt.date(2025, 6, 15), dt.date(9999, 12, 31), True, False)]
    assert scalar(warehouse_engine, "SELECT COUNT(DISTINCT site_key) FROM {fact_childcare_daily}") \
        == 1


def test_bulk_load_does_not_insert_row_by_row(warehouse_engine: Engine) -> None:
    sites = [b.site(f"ZY-{i:03d}") for i in range(100)]
    b.load(warehouse_engine, "childcare_sites", SUMMER, sites)
    start = dt.date(2025, 6, 15)
    days = [b.attendance(f"ZY-{i % 100:03d}", start + dt.timedelta(days=i // 100), i % 50)
            for i in range(10_000)]
    statements: list[tuple[str, bool]] = []

    def count(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
              executemany: bool) -> None:
        statements.append((statement, executemany))

    sa.event.listen(warehouse_engine, "before_cursor_execute", count)
    try:
        daily, status = b.load(warehouse_engine, "childcare_daily", SUMMER, days)
    finally:
        sa.event.remove(warehouse_engine, "before_cursor_execute", count)
    assert status == "accepted"
    assert fact_count(warehouse_engine, "fact_childcare_daily", daily.submission_id) == 10_000
    inserts = [s for s, _ in statements if s.lstrip().upper().startswith("INSERT")]
    assert not any(many for _, many in statements)
    assert len(statements) < 40, statements
    assert len(inserts) <= 5


def test_credentials_never_reach_the_ledger(warehouse_engine: Engine) -> None:
    submission = b.ref("childcare_sites", SUMMER)
    submission = type(submission)(
        **{**submission.__dict__, "source_url": "sftp://clerk:s3cret@host/x.csv"})
    record_submission(warehouse_engine, submission, b.rejected(1), None)
    assert "s3cret" not in ledger(warehouse_engine, submission.submission_id)["source_url"]
