"""Hand-made validated frames, refs and results for warehouse tests."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
from sqlalchemy.engine import Engine

from countyflow.ingest.model import (
    SOURCE_ROW,
    RowCounts,
    SubmissionRef,
    SubmissionStatus,
    ValidationResult,
    issues_frame,
)
from countyflow.transform import transform_submission
from schemas import contract_for
from warehouse.load import record_submission

ZHAOYANG, SUIJIANG = "530602", "530626"
T0 = dt.datetime(2025, 7, 1, 8, 0, tzinfo=dt.UTC)


def ref(
    dataset: str,
    period: str,
    *,
    county: str = ZHAOYANG,
    name: str = "submission.csv",
    modified: dt.datetime = T0,
    tag: str = "",
) -> SubmissionRef:
    """A SubmissionRef whose id is derived from everything that distinguishes it."""
    digest = hashlib.sha256(f"{county}/{dataset}/{period}/{name}/{modified}/{tag}".encode())
    relative = f"{county}/{dataset}/{period}/{name}"
    return SubmissionRef(
        submission_id=digest.hexdigest(),
        source_url=f"file:///landing/{relative}",
        relative_path=relative,
        county_code=county,
        dataset=dataset,
        period=period,
        file_name=name,
        extension=name.rsplit(".", 1)[-1],
        size_bytes=1234,
        modified_at=modified,
        archive_path=f"archive/{digest.hexdigest()}.{name.rsplit('.', 1)[-1]}",
    )


def valid_frame(dataset: str, rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """A validator-shaped frame: every contract column typed, plus source_row (2, 3, …)."""
    contract = contract_for(dataset)
    data = {c.name: [row.get(c.name) for row in rows] for c in contract.columns}
    schema = {c.name: c.dtype for c in contract.columns}
    frame = pl.DataFrame(data, schema=schema)
    return frame.with_columns(pl.int_range(2, frame.height + 2, dtype=pl.Int64).alias(SOURCE_ROW))


def warning_issues(count: int) -> pl.DataFrame:
    return issues_frame(
        [
            {"source_row": 2, "column": "x", "value": "v", "rule": "r", "severity": "warning",
             "message_zh": "警告", "message_en": "warning"}
            for _ in range(count)
        ]
    )


def accepted(valid: pl.DataFrame, *, warnings: int = 0) -> ValidationResult:
    issues = warning_issues(warnings)
    status = SubmissionStatus.ACCEPTED_WITH_WARNINGS if warnings else SubmissionStatus.ACCEPTED
    counts = RowCounts.from_issues(issues, rows_in=valid.height, rows_loaded=valid.height,
                                   rows_rejected=0)
    return ValidationResult(status, valid, issues, counts)


def rejected(rows_in: int, *, errors: int = 1) -> ValidationResult:
    issues = issues_frame(
        [
            {"source_row": 2 + i, "column": "children_enrolled", "value": "2000多",
             "rule": "count_approximate", "severity": "error",
             "message_zh": "数量须为确数", "message_en": "counts must be exact"}
            for i in range(errors)
        ]
    )
    counts = RowCounts.from_issues(issues, rows_in=rows_in, rows_loaded=0, rows_rejected=rows_in)
    return ValidationResult(SubmissionStatus.REJECTED, pl.DataFrame(), issues, counts)


def waiting(valid: pl.DataFrame, *, warnings: int = 0) -> ValidationResult:
    issues = warning_issues(warnings)
    counts = RowCounts.from_issues(issues, rows_in=valid.height, rows_loaded=0, rows_rejected=0,
                                   rows_held=valid.height)
    return ValidationResult(SubmissionStatus.WAITING, valid, issues, counts)


def load(
    engine: Engine,
    dataset: str,
    period: str,
    rows: Sequence[Mapping[str, Any]],
    **ref_options: Any,
) -> tuple[SubmissionRef, str]:
    """Transform and record an accepted submission of `rows`; returns (ref, status)."""
    submission = ref(dataset, period, **ref_options)
    valid = valid_frame(dataset, rows)
    facts = transform_submission(dataset, valid, submission)
    return submission, record_submission(engine, submission, accepted(valid), facts)


# ------------------------------------------------------------------------- row builders


def site(
    code: str,
    *,
    county: str = ZHAOYANG,
    name: str | None = None,
    start: dt.date = dt.date(2025, 7, 6),
    end: dt.date = dt.date(2025, 8, 15),
    children: int = 40,
    left_behind: int = 30,
    host_type: str = "school",
    township: str | None = "凤凰街道",
    meal_subsidy: float | None = 8.0,
    relocated: int | None = None,
) -> dict[str, Any]:
    return {
        "county_code": county, "site_code": code, "site_name": name or f"{code}托管点",
        "township": township, "host_type": host_type, "start_date": start, "end_date": end,
        "hours_per_day": 6.0, "meal_subsidy_yuan": meal_subsidy, "children_enrolled": children,
        "left_behind_children": left_behind, "relocated_children": relocated,
        "service_person_times": None,
    }


def summer(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 7, 6), dt.date(year, 8, 15)


def volunteer(code: str, source: str, count: int, institution: str | None = None) -> dict[str, Any]:
    return {"site_code": code, "source": source, "institution": institution, "volunteers": count}


def attendance(code: str, day: dt.date, present: int, county: str | None = None) -> dict[str, Any]:
    return {"county_code": county, "site_code": code, "date": day, "children_present": present,
            "volunteers_on_duty": 3, "meals_served": present + 3}


def enrollment(
    school: str,
    program: str,
    grade: int,
    *,
    enrolled: int,
    new_intake: int,
    dropouts: int = 0,
    county: str = ZHAOYANG,
    name: str | None = None,
    track: str = "secondary_vocational",
) -> dict[str, Any]:
    return {
        "county_code": county, "school_code": school, "school_name": name or f"{school}职中",
        "program": program, "track": track, "grade": grade, "enrolled": enrolled,
        "new_intake": new_intake, "dropouts": dropouts,
    }


def health(
    department: str,
    *,
    surgeries: int,
    beds: int = 10,
    facility: str = "FAC530602",
    name: str = "滇东北中心医院",
    county: str = ZHAOYANG,
    **measures: int | None,
) -> dict[str, Any]:
    return {
        "county_code": county, "facility_code": facility, "facility_name": name,
        "department": department, "beds_open": beds, "surgeries": surgeries, **measures,
    }
