"""Publishing: Prefect artifacts an operator reads after a run. No PII, no secrets."""

from __future__ import annotations

import polars as pl
from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from countyflow.pipeline import SubmissionOutcome, outcomes_frame, summarise_outcomes

_SUBMISSION_COLUMNS = (
    "county_code", "dataset", "period", "status", "rows_in", "rows_loaded",
    "rows_rejected", "rows_held", "warnings", "report_path",
)


def _markdown_table(frame: pl.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = ["| " + " | ".join("" if value is None else str(value) for value in row) + " |" for row in frame.iter_rows()]
    return "\n".join([header, rule, *rows])


@task
def publish_run_summary(outcomes: list[SubmissionOutcome], kpis: pl.DataFrame | None = None) -> pl.DataFrame:
    """Artifacts: submissions by status, every submission of the run, and the city KPIs."""
    frame = outcomes_frame(outcomes)
    summary = summarise_outcomes(frame)
    markdown = ["# countyflow run", "", "## Submissions by status", "", _markdown_table(summary)]
    if kpis is not None and kpis.height:
        markdown += ["", "## City KPIs", "", _markdown_table(kpis)]
    create_markdown_artifact(key="countyflow-run-summary", markdown="\n".join(markdown),
                             description="Submissions by status and city KPIs")
    if frame.height:
        create_table_artifact(key="countyflow-submissions",
                              table=frame.select(_SUBMISSION_COLUMNS).to_dicts(),
                              description="Every submission processed in this run")
    return summary
