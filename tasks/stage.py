"""Staging: parse → validate → transform one submission; hand frames on as Arrow IPC files."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl
from prefect import task

from countyflow.ingest.model import SubmissionRef
from countyflow.pipeline import StagedSubmission, report_stem, stage_bytes, staging_paths
from countyflow.settings import Settings
from schemas import CONTRACTS
from tasks.resources import warehouse_engine

Lookups = Mapping[str, pl.DataFrame | None]


def _read_archived(ref: SubmissionRef) -> bytes | None:
    """The archived bytes, checked against the hash; None when they cannot be had."""
    from countyflow.ingest.discover import open_archived

    if not ref.archive_path:
        return None
    try:
        return open_archived(ref)
    except (OSError, ValueError):
        return None


def _report_header(ref: SubmissionRef) -> dict[str, object]:
    from countyflow.reference import county_name

    return {
        "file_name": ref.file_name, "relative_path": ref.relative_path,
        "submission_id": ref.submission_id, "county_code": ref.county_code,
        "county_name": county_name(ref.county_code), "dataset": ref.dataset, "period": ref.period,
    }


@task(retries=2, retry_delay_seconds=5)
def fetch_submission_lookups(refs: list[SubmissionRef], settings: Settings) -> list[dict[str, pl.DataFrame | None]]:
    """The warehouse context (registry, history) each submission is validated against.

    Read where the flow runs, one small query set per submission, and handed to the
    staging tasks, so staging never connects to the warehouse: Dask workers need neither
    credentials nor access to an embedded DuckDB file another process holds open.
    """
    from warehouse.lookups import fetch_lookups

    engine = warehouse_engine(settings)
    return [
        fetch_lookups(engine, CONTRACTS[ref.dataset], county_code=ref.county_code, period=ref.period)
        if ref.path_error is None and ref.dataset in CONTRACTS else {}
        for ref in refs
    ]


@task(task_run_name="stage-{ref.county_code}-{ref.dataset}-{ref.period}")
def stage_submission(ref: SubmissionRef, lookups: Lookups, settings: Settings) -> StagedSubmission:
    """Validate one submission against its contract and the warehouse context in `lookups`."""
    from countyflow.ingest.report import write_report

    result, facts = stage_bytes(ref, _read_archived(ref), lookups=lookups, settings=settings)

    facts_path, issues_path = staging_paths(settings.staging_dir, ref.submission_id)
    facts_path.parent.mkdir(parents=True, exist_ok=True)
    result.issues.write_ipc(issues_path)  # uncompressed Arrow: read back once, then deleted
    if facts is not None:
        facts.write_ipc(facts_path)
    stem = report_stem(settings.reports_dir, ref)
    header = _report_header(ref)
    cap = settings.max_issue_rows_per_rule
    write_report(result, header, stem.with_suffix(".json"), max_issue_rows=cap)
    report_path = write_report(result, header, stem.with_suffix(".html"), max_issue_rows=cap)
    return StagedSubmission(
        ref=ref, status=result.status, rows_in=result.rows_in, rows_loaded=result.rows_loaded,
        rows_rejected=result.rows_rejected, rows_held=result.rows_held, errors=result.errors,
        warnings=result.warnings, facts_path=str(facts_path) if facts is not None else None,
        issues_path=str(issues_path), report_path=str(report_path),
    )
