"""Completeness and timeliness (SPEC §5): which partitions are overdue or late as of a date.

Pure functions over `mart_submission_status` (grain: county × dataset × period). The
mart says what was received and when it was due (the calendar is reference data); these
functions only add the judgement "as of this day", so `countyflow status --as-of`, the
nightly completeness flow and the run report all agree.

Timeliness of one partition:

* `overdue`     — due date passed, no accepted data loaded (missing, rejected or held);
* `late`        — accepted data loaded, but the first usable file came after the due date;
* `on_time`     — accepted data loaded, first usable file on or before the due date;
* `not_due`     — nothing accepted yet, but the due date has not passed;
* `unscheduled` — received although the calendar does not expect it (no due date).

Due dates are inclusive and read in the city's time zone (Asia/Shanghai): a partition due
2025-09-30 is overdue from 2025-10-01.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import polars as pl

CITY_TIMEZONE = "Asia/Shanghai"

Timeliness = Literal["overdue", "late", "on_time", "not_due", "unscheduled"]
TIMELINESS: tuple[Timeliness, ...] = ("on_time", "late", "overdue", "not_due", "unscheduled")
PROBLEMS: tuple[Timeliness, ...] = ("overdue", "late")

OVERDUE_EVENT = "countyflow.partition.overdue"
LATE_EVENT = "countyflow.partition.late"

STATUS_MARKS: Mapping[str, str] = {
    "accepted": "✔",
    "accepted_with_warnings": "✔!",
    "rejected": "✘",
    "waiting": "…",
    "missing": "·",
}
TIMELINESS_MARKS: Mapping[str, str] = {"late": "L", "overdue": "O"}
RESUBMITTED_MARK = "R"
LEGEND = (
    "✔ accepted, ✔! with warnings, ✘ rejected (latest file), … waiting for its registry, "
    "· missing; L late (accepted after the due date), O overdue (due date passed, nothing "
    "accepted), R resubmitted (more than one file)"
)

PROBLEM_COLUMNS = (
    "county_code", "county_name", "dataset", "period", "timeliness", "status", "due_date",
    "days_overdue", "received_at", "submissions_received",
)


def city_today(now: datetime | None = None) -> date:
    """Today in Zhaotong (due dates are city dates, whatever the server's time zone)."""
    moment = now if now is not None else datetime.now(tz=ZoneInfo("UTC"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(ZoneInfo(CITY_TIMEZONE)).date()


def assess_partitions(status: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """`mart_submission_status` plus `timeliness`, `days_overdue` and `received_on`.

    `as_of` moves the day deadlines are judged against; what was received is the mart's
    current content. `received_on` is the latest file's city date.
    """
    has_data = pl.col("current_submission_id").is_not_null()
    due = pl.col("due_date")
    timeliness = (
        pl.when(due.is_null()).then(pl.lit("unscheduled"))
        .when(has_data & (pl.col("on_time") == False)).then(pl.lit("late"))  # noqa: E712
        .when(has_data).then(pl.lit("on_time"))
        .when(due < pl.lit(as_of)).then(pl.lit("overdue"))
        .otherwise(pl.lit("not_due"))
    )
    received_on = (
        pl.col("received_at").dt.replace_time_zone("UTC")
        .dt.convert_time_zone(CITY_TIMEZONE).dt.date()
    )
    return status.with_columns(
        timeliness.alias("timeliness"),
        pl.when(~has_data & (due < pl.lit(as_of)))
        .then((pl.lit(as_of) - due).dt.total_days())
        .cast(pl.Int64)
        .alias("days_overdue"),
        received_on.alias("received_on"),
    )


def partition_problems(assessed: pl.DataFrame) -> pl.DataFrame:
    """Overdue and late partitions, most overdue first (grain: county × dataset × period)."""
    return (
        assessed.filter(pl.col("timeliness").is_in(PROBLEMS))
        .select(PROBLEM_COLUMNS)
        .sort(
            [pl.col("timeliness") != "overdue", "days_overdue", "dataset", "period", "county_code"],
            descending=[False, True, False, False, False],
            nulls_last=True,
        )
    )


def overdue_as_of(status: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """The partitions of `mart_submission_status` that are overdue or late as of `as_of`."""
    return partition_problems(assess_partitions(status, as_of))


def completeness_counts(assessed: pl.DataFrame) -> pl.DataFrame:
    """Partitions by dataset × timeliness (grain: dataset), for the matrix headers."""
    counts = assessed.pivot(
        on="timeliness", index="dataset", values="period", aggregate_function="len",
        sort_columns=True,
    ).fill_null(0)
    resubmitted = assessed.group_by("dataset").agg(
        pl.len().alias("partitions"),
        (pl.col("submissions_received") > 1).sum().cast(pl.Int64).alias("resubmitted"),
        pl.col("status").eq("rejected").sum().cast(pl.Int64).alias("rejected"),
        pl.col("status").eq("waiting").sum().cast(pl.Int64).alias("waiting"),
    )
    counts = counts.with_columns(
        pl.lit(0, dtype=pl.UInt32).alias(name) for name in TIMELINESS if name not in counts.columns
    )
    return (
        resubmitted.join(counts, on="dataset", how="left")
        .select("dataset", "partitions", *(pl.col(t).cast(pl.Int64) for t in TIMELINESS),
                "rejected", "waiting", "resubmitted")
        .sort("dataset")
    )


def partition_mark() -> pl.Expr:
    """One cell of the matrix: the status mark, then L / O / R."""
    base = pl.col("status").replace_strict(dict(STATUS_MARKS), default="?", return_dtype=pl.Utf8)
    suffix = pl.col("timeliness").replace_strict(dict(TIMELINESS_MARKS), default="", return_dtype=pl.Utf8)
    resubmitted = pl.when(pl.col("submissions_received") > 1).then(pl.lit(RESUBMITTED_MARK)).otherwise(pl.lit(""))
    return pl.concat_str([base, suffix, resubmitted])


def completeness_matrix(assessed: pl.DataFrame) -> pl.DataFrame:
    """The matrix of one dataset: a mark per partition.

    Counties as rows and periods as columns; when a dataset has more periods than counties
    (monthly health reports of one centre) the matrix is transposed so it stays readable.
    """
    if assessed.is_empty():
        return pl.DataFrame({"county": []}, schema={"county": pl.Utf8})
    marked = assessed.with_columns(
        partition_mark().alias("mark"),
        pl.concat_str(
            [pl.col("county_code"), pl.col("county_name").fill_null("")], separator=" "
        ).str.strip_chars().alias("county"),
    )
    periods = marked["period"].n_unique()
    counties = marked["county"].n_unique()
    rows, columns = ("period", "county") if periods > counties else ("county", "period")
    return (
        marked.pivot(on=columns, index=rows, values="mark", aggregate_function="first",
                     sort_columns=True)
        .sort(rows)
        .fill_null("")
    )


def matrices_by_dataset(assessed: pl.DataFrame) -> list[tuple[str, pl.DataFrame]]:
    """(dataset, matrix) for every dataset, in name order."""
    return [
        (str(key[0]), completeness_matrix(part))
        for key, part in assessed.sort("dataset").group_by("dataset", maintain_order=True)
    ]


# ---------------------------------------------------------------------------- events


@dataclass(frozen=True)
class PartitionEvent:
    """A Prefect event about one partition, ready for `prefect.events.emit_event`.

    Labels carry codes and public names only (county, dataset, period): no personal data,
    no file names.
    """

    event: str
    resource: dict[str, str]
    related: list[dict[str, str]] = field(default_factory=list)
    payload: dict[str, object] = field(default_factory=dict)


def partition_resource_id(county_code: str, dataset: str, period: str) -> str:
    return f"countyflow.partition.{county_code}.{dataset}.{period}"


def partition_events(
    problems: pl.DataFrame, as_of: date, *, late_since: date | None = None
) -> list[PartitionEvent]:
    """Events an automation can notify on.

    Every overdue partition gives a `countyflow.partition.overdue` event on every check (a
    reminder while the county still owes it). A late partition gives one
    `countyflow.partition.late` event only when its file arrived on or after `late_since`
    (default: the day before `as_of`, so a nightly check reports each late delivery once).
    """
    since = late_since if late_since is not None else as_of - timedelta(days=1)
    events: list[PartitionEvent] = []
    for row in problems.iter_rows(named=True):
        if row["timeliness"] == "late":
            received = row["received_at"]
            if received is None or city_today(received) < since:
                continue
            name = LATE_EVENT
        else:
            name = OVERDUE_EVENT
        events.append(_event(name, row, as_of))
    return events


def _event(name: str, row: Mapping[str, object], as_of: date) -> PartitionEvent:
    county, dataset, period = str(row["county_code"]), str(row["dataset"]), str(row["period"])
    county_name = str(row["county_name"] or county)
    due = row["due_date"]
    received = row["received_at"]
    return PartitionEvent(
        event=name,
        resource={
            "prefect.resource.id": partition_resource_id(county, dataset, period),
            "prefect.resource.name": f"{county_name} {dataset} {period}",
            "countyflow.county_code": county,
            "countyflow.dataset": dataset,
            "countyflow.period": period,
        },
        related=[
            {"prefect.resource.id": f"countyflow.county.{county}",
             "prefect.resource.role": "county", "prefect.resource.name": county_name},
            {"prefect.resource.id": f"countyflow.dataset.{dataset}",
             "prefect.resource.role": "dataset", "prefect.resource.name": dataset},
        ],
        payload={
            "as_of": as_of.isoformat(),
            "due_date": due.isoformat() if isinstance(due, date) else None,
            "days_overdue": row["days_overdue"],
            "status": row["status"],
            "submissions_received": row["submissions_received"],
            "received_at": received.isoformat() if isinstance(received, datetime) else None,
        },
    )


def problem_message(row: Mapping[str, object]) -> str:
    """One log line per problem: codes, dates and counts only (no personal data)."""
    where = f"{row['county_code']} {row['dataset']} {row['period']}"
    if row["timeliness"] == "overdue":
        return (f"overdue: {where} was due {row['due_date']} ({row['days_overdue']} days ago), "
                f"status {row['status']}, {row['submissions_received']} file(s) received")
    return (f"late: {where} was due {row['due_date']}; accepted data arrived after it "
            f"(latest file {row['received_at']} UTC)")


def summary_line(problems: pl.DataFrame, as_of: date, partitions: int) -> str:
    overdue = problems.filter(pl.col("timeliness") == "overdue").height
    late = problems.filter(pl.col("timeliness") == "late").height
    return (f"As of {as_of.isoformat()}: {overdue} overdue and {late} late of {partitions} "
            "partitions expected or received.")


def problem_rows(problems: pl.DataFrame) -> Sequence[dict[str, object]]:
    """The problems as JSON-ready rows (dates as ISO text), for a table artifact."""
    return problems.with_columns(
        pl.col("due_date").cast(pl.Utf8), pl.col("received_at").dt.strftime("%Y-%m-%d %H:%M"),
    ).to_dicts()
