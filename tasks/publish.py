"""Publishing: Prefect artifacts an operator reads after a run. No PII, no secrets.

Artifacts of the main flow (keys are stable: the UI's Artifacts page shows each key's
history across runs):

* `countyflow-run-summary` — markdown: submissions by status, what was not loaded,
  landing-zone entries ignored (with the reason), completeness as of today, headline KPIs, and the path of the run's HTML report;
* `countyflow-submissions` — table: every submission of the run with its clerk report;
* `countyflow-completeness-matrix` — markdown: county × dataset × period marks;
* `countyflow-city-kpis` — table: the headline KPIs from `mart_city_kpi`;
* `countyflow-run-report` — link to the self-contained HTML report with charts
  (`<reports_dir>/runs/`), written when the run processed submissions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
from prefect import runtime, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

from countyflow.completeness import CITY_TIMEZONE, assess_partitions, city_today, partition_problems
from countyflow.ingest.model import IgnoredEntry
from countyflow.pipeline import SubmissionOutcome, outcomes_frame, summarise_outcomes
from countyflow.run_report import (
    SUBMISSION_COLUMNS,
    RunContext,
    completeness_markdown,
    headline_kpis,
    heart_centre_facilities,
    heart_centre_markdown,
    heart_centre_rollup,
    latest_health_month,
    render_run_report,
    run_report_name,
    run_summary_markdown,
)
from countyflow.settings import Settings

RUN_REPORTS = "runs"
LATEST_REPORT = "latest.html"


def _context(settings: Settings) -> RunContext:
    run_id = runtime.flow_run.id
    return RunContext(
        run_name=runtime.flow_run.name or "local",
        run_id=str(run_id) if run_id else None,
        generated_at=datetime.now(tz=ZoneInfo(CITY_TIMEZONE)),
        as_of=city_today(),
        warehouse=settings.safe_warehouse_url(),
    )


def write_run_report(reports_dir: Path, name: str, page: str) -> Path:
    """Write the report under `<reports_dir>/runs/` and refresh `runs/latest.html`."""
    folder = reports_dir / RUN_REPORTS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(page, encoding="utf-8")
    (folder / LATEST_REPORT).write_text(page, encoding="utf-8")
    return path


@task
def publish_run_summary(
    outcomes: list[SubmissionOutcome], marts: Mapping[str, pl.DataFrame], settings: Settings,
    ignored: Sequence[IgnoredEntry] = (),
) -> pl.DataFrame:
    """The run's artifacts and HTML report (see the module docstring); returns the summary.
    `ignored` lists the landing-zone entries discovery did not treat as submissions."""
    context = _context(settings)
    frame = outcomes_frame(outcomes)
    summary = summarise_outcomes(frame)
    assessed = assess_partitions(marts["mart_submission_status"], context.as_of)
    problems = partition_problems(assessed)
    kpis = marts["mart_city_kpi"]

    report_path = None
    if frame.height:
        folder = settings.reports_dir / RUN_REPORTS
        page = render_run_report(context, frame, summary, assessed, problems, marts, report_dir=folder)
        report_path = write_run_report(settings.reports_dir, run_report_name(context), page)

    create_markdown_artifact(
        key="countyflow-run-summary",
        markdown=run_summary_markdown(context, summary, frame, problems, assessed.height, kpis, report_path,
                                      ignored=ignored),
        description="Submissions by status, completeness and city KPIs",
    )
    if frame.height:
        create_table_artifact(key="countyflow-submissions", table=frame.select(SUBMISSION_COLUMNS).to_dicts(),
                              description="Every submission processed in this run")
    create_markdown_artifact(key="countyflow-completeness-matrix",
                             markdown=completeness_markdown(assessed, context.as_of),
                             description="Completeness matrix: county × dataset × period")
    create_table_artifact(key="countyflow-city-kpis", table=headline_kpis(kpis).to_dicts(),
                          description="City KPIs (mart_city_kpi): every season and school year, "
                                      "first and latest month of the cardiovascular centre")
    if report_path is not None:
        create_link_artifact(key="countyflow-run-report", link=report_path.absolute().as_uri(),
                             link_text=str(report_path.absolute()),
                             description="HTML run report with charts (self-contained, opens offline)")
    return summary


@task
def publish_heart_centre_rollup(
    kpis: pl.DataFrame, facility_month: pl.DataFrame, month: str | None = None
) -> pl.DataFrame:
    """The cardiovascular centre's KPIs for `month` (default: the latest loaded month)."""
    month = month or latest_health_month(kpis)
    if month is None:
        create_markdown_artifact(key="countyflow-heart-centre",
                                 markdown="# Cardiovascular centre\n\nNo health reports loaded yet.")
        return pl.DataFrame()
    rollup = heart_centre_rollup(kpis, month)
    facilities = heart_centre_facilities(facility_month, month)
    create_markdown_artifact(key="countyflow-heart-centre",
                             markdown=heart_centre_markdown(month, rollup, facilities),
                             description=f"Cardiovascular centre KPIs, {month}")
    create_table_artifact(key="countyflow-heart-centre-kpis", table=rollup.to_dicts(),
                          description=f"Cardiovascular centre KPIs, {month} against the month before")
    return rollup
