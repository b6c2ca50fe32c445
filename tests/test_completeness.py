"""countyflow.completeness: which partitions are overdue or late as of a day (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from countyflow.completeness import (
    LATE_EVENT,
    OVERDUE_EVENT,
    TIMELINESS,
    assess_partitions,
    city_today,
    completeness_counts,
    completeness_matrix,
    overdue_as_of,
    partition_events,
    partition_problems,
    problem_message,
)
from warehouse.marts import MARTS

DUE = date(2025, 9, 30)


def status_frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    """Rows shaped like `mart_submission_status` (unset columns are NULL)."""
    schema = dict(MARTS["mart_submission_status"].columns)
    defaults: dict[str, object] = {
        "county_name": "绥江县", "dataset": "childcare_sites", "period": "2025-summer",
        "status": "missing", "due_date": DUE, "submissions_received": 0, "expected": True,
    }
    return pl.DataFrame([{**defaults, **row} for row in rows], schema=schema)


def one(status: pl.DataFrame, as_of: date) -> dict[str, object]:
    return assess_partitions(status, as_of).row(0, named=True)


def test_missing_partition_is_overdue_the_day_after_its_due_date() -> None:
    missing = status_frame([{"county_code": "530626"}])
    assert one(missing, DUE)["timeliness"] == "not_due"  # the due date is inclusive
    after = one(missing, date(2025, 10, 1))
    assert (after["timeliness"], after["days_overdue"]) == ("overdue", 1)
    assert one(missing, date(2025, 10, 31))["days_overdue"] == 31


@pytest.mark.parametrize("status", ["rejected", "waiting"])
def test_nothing_accepted_past_the_due_date_is_overdue(status: str) -> None:
    frame = status_frame([{"county_code": "530626", "status": status, "submissions_received": 1,
                           "received_at": datetime(2025, 9, 1, 2, 0), "on_time": True}])
    assert one(frame, date(2025, 10, 2))["timeliness"] == "overdue"


def test_accepted_data_is_on_time_or_late_whatever_the_day() -> None:
    frame = status_frame([
        {"county_code": "530626", "status": "accepted", "current_submission_id": "a" * 64,
         "on_time": True, "submissions_received": 1, "received_at": datetime(2025, 9, 1)},
        {"county_code": "530627", "status": "accepted_with_warnings", "current_submission_id": "b" * 64,
         "on_time": False, "submissions_received": 1, "received_at": datetime(2025, 10, 14, 8, 20)},
        # a rejected correction: the earlier accepted file's facts stay loaded
        {"county_code": "530621", "status": "rejected", "current_submission_id": "c" * 64,
         "on_time": True, "submissions_received": 2, "received_at": datetime(2025, 9, 20)},
    ])
    for as_of in (date(2025, 9, 1), date(2026, 1, 1)):
        assessed = assess_partitions(frame, as_of)
        assert assessed["timeliness"].to_list() == ["on_time", "late", "on_time"]
        assert assessed["days_overdue"].null_count() == 3


def test_received_but_not_in_the_calendar_is_unscheduled() -> None:
    frame = status_frame([{"county_code": "530626", "period": "2026-summer", "due_date": None,
                           "expected": False, "status": "accepted", "current_submission_id": "d" * 64}])
    assert one(frame, date(2030, 1, 1))["timeliness"] == "unscheduled"


def test_received_on_is_the_city_date_of_a_utc_timestamp() -> None:
    frame = status_frame([{"county_code": "530626", "received_at": datetime(2025, 9, 30, 16, 30),
                           "status": "waiting", "submissions_received": 1}])
    assert one(frame, DUE)["received_on"] == date(2025, 10, 1)


def test_city_today_is_zhaotong_time() -> None:
    assert city_today(datetime(2025, 9, 30, 16, 30, tzinfo=UTC)) == date(2025, 10, 1)
    assert city_today(datetime(2025, 9, 30, 15, 59, tzinfo=UTC)) == date(2025, 9, 30)


def mixed_status() -> pl.DataFrame:
    return status_frame([
        {"county_code": "530602", "status": "accepted", "current_submission_id": "a" * 64,
         "on_time": True, "submissions_received": 1, "received_at": datetime(2025, 9, 1)},
        {"county_code": "530621", "status": "accepted", "current_submission_id": "b" * 64,
         "on_time": True, "submissions_received": 2, "received_at": datetime(2025, 9, 2)},
        {"county_code": "530626"},
        {"county_code": "530627", "county_name": "镇雄县", "status": "accepted",
         "current_submission_id": "c" * 64, "on_time": False, "submissions_received": 1,
         "received_at": datetime(2025, 10, 14, 8, 20)},
        {"county_code": "530628", "status": "rejected", "submissions_received": 1,
         "received_at": datetime(2025, 9, 3)},
    ])


def test_problems_are_overdue_first_then_late() -> None:
    problems = overdue_as_of(mixed_status(), date(2025, 10, 15))
    assert problems.select("county_code", "timeliness").rows() == [
        ("530626", "overdue"), ("530628", "overdue"), ("530627", "late"),
    ]
    assert "file_name" not in problems.columns and "report_path" not in problems.columns


def test_events_overdue_every_time_late_once() -> None:
    as_of = date(2025, 10, 15)
    problems = overdue_as_of(mixed_status(), as_of)
    events = partition_events(problems, as_of)
    assert [e.event for e in events] == [OVERDUE_EVENT, OVERDUE_EVENT, LATE_EVENT]
    first = events[0]
    assert first.resource["prefect.resource.id"] == "countyflow.partition.530626.childcare_sites.2025-summer"
    assert first.resource["countyflow.dataset"] == "childcare_sites"
    assert first.payload["due_date"] == "2025-09-30" and first.payload["days_overdue"] == 15
    assert all(isinstance(v, str) for e in events for v in e.resource.values())
    # a week later the late delivery is old news; the overdue ones are still owed
    later = date(2025, 10, 22)
    assert [e.event for e in partition_events(overdue_as_of(mixed_status(), later), later)] == [
        OVERDUE_EVENT, OVERDUE_EVENT,
    ]


def test_problem_message_has_codes_and_dates_only() -> None:
    problems = overdue_as_of(mixed_status(), date(2025, 10, 15))
    lines = [problem_message(row) for row in problems.iter_rows(named=True)]
    assert lines[0] == ("overdue: 530626 childcare_sites 2025-summer was due 2025-09-30 "
                        "(15 days ago), status missing, 0 file(s) received")
    assert lines[2].startswith("late: 530627 childcare_sites 2025-summer was due 2025-09-30")


def test_matrix_marks_late_overdue_and_resubmitted() -> None:
    matrix = completeness_matrix(assess_partitions(mixed_status(), date(2025, 10, 15)))
    assert matrix.columns == ["county", "2025-summer"]
    marks = dict(matrix.rows())
    assert marks["530602 绥江县"] == "✔"
    assert marks["530621 绥江县"] == "✔R"
    assert marks["530626 绥江县"] == "·O"
    assert marks["530627 镇雄县"] == "✔L"
    assert marks["530628 绥江县"] == "✘O"


def test_matrix_with_more_periods_than_counties_is_transposed() -> None:
    months = status_frame([
        {"county_code": "530602", "county_name": "昭阳区", "dataset": "health_monthly", "period": f"2025-0{m}",
         "due_date": date(2025, m + 1, 10)}
        for m in range(1, 5)
    ])
    matrix = completeness_matrix(assess_partitions(months, date(2025, 4, 1)))
    assert matrix.columns == ["period", "530602 昭阳区"]
    assert matrix["530602 昭阳区"].to_list() == ["·O", "·O", "·", "·"]


def test_counts_have_every_timeliness_column() -> None:
    counts = completeness_counts(assess_partitions(mixed_status(), date(2025, 10, 15)))
    assert counts.columns == ["dataset", "partitions", *TIMELINESS, "rejected", "waiting", "resubmitted"]
    row = counts.row(0, named=True)
    assert (row["partitions"], row["on_time"], row["late"], row["overdue"], row["not_due"]) == (5, 2, 1, 2, 0)
    assert (row["rejected"], row["resubmitted"]) == (1, 1)


def test_no_problems_when_everything_arrived_on_time() -> None:
    fine = status_frame([{"county_code": "530626", "status": "accepted", "current_submission_id": "a" * 64,
                          "on_time": True, "submissions_received": 1}])
    problems = partition_problems(assess_partitions(fine, date(2030, 1, 1)))
    assert problems.is_empty()
    assert partition_events(problems, date(2030, 1, 1)) == []
