"""Completeness tasks: judge the submission status as of a day; tell operators what is owed.

Each problem gets a WARNING log line (codes and dates only), a row in a table artifact and,
when an automation should act on it, a Prefect event (`countyflow.partition.overdue`,
`countyflow.partition.late`) whose resource is the partition.
"""

from __future__ import annotations

from datetime import date

import polars as pl
from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.events import emit_event
from prefect.logging import get_run_logger

from countyflow.completeness import (
    assess_partitions,
    partition_events,
    partition_problems,
    problem_message,
    problem_rows,
    summary_line,
)
from countyflow.run_report import completeness_markdown

PROBLEMS_ARTIFACT = "countyflow-overdue-partitions"
MATRIX_ARTIFACT = "countyflow-completeness-matrix"


@task
def assess_completeness(status: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """`mart_submission_status` with each partition's timeliness as of `as_of`."""
    return assess_partitions(status, as_of)


@task
def report_completeness(assessed: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Log, artifact and emit an event for every overdue or late partition; return them."""
    log = get_run_logger()
    problems = partition_problems(assessed)
    for row in problems.iter_rows(named=True):
        log.warning(problem_message(row))
    events = partition_events(problems, as_of)
    for spec in events:
        emit_event(event=spec.event, resource=spec.resource, related=spec.related, payload=spec.payload)
    headline = summary_line(problems, as_of, assessed.height)
    log.info("%s %d event(s) emitted.", headline, len(events))
    create_table_artifact(
        key=PROBLEMS_ARTIFACT, table=list(problem_rows(problems)),
        description=f"{headline} Overdue: due date passed, nothing accepted. "
                    "Late: accepted after the due date.",
    )
    create_markdown_artifact(
        key=MATRIX_ARTIFACT, markdown=completeness_markdown(assessed, as_of),
        description="Completeness matrix: county × dataset × period",
    )
    return problems
