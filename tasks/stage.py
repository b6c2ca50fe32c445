"""Staging: parse → validate → transform one submission; hand frames on as Arrow IPC files."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import polars as pl
from prefect import task
from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger

from countyflow.ingest.model import SubmissionRef
from countyflow.isolation import StageFailure, stage_isolated
from countyflow.pipeline import StagedSubmission
from countyflow.settings import Settings
from countyflow.staging import remove_leftover_staging as _remove
from schemas import CONTRACTS
from tasks.resources import warehouse_engine
from warehouse.lookups import fetch_lookups

Lookups = Mapping[str, pl.DataFrame | None]


@task
def remove_leftover_staging(settings: Settings) -> int:
    """Delete staging files a failed or killed run left behind (older than
    `COUNTYFLOW_STAGING_LEFTOVER_SECONDS`: younger ones may belong to a run still going)."""
    removed = _remove(settings.staging_dir, older_than_seconds=settings.staging_leftover_seconds)
    if removed:
        _logger().info("Removed %d staging files left by an earlier run from %s", len(removed),
                       settings.staging_dir)
    return len(removed)


@task(retries=2, retry_delay_seconds=5)
def fetch_submission_lookups(refs: list[SubmissionRef], settings: Settings) -> list[dict[str, pl.DataFrame | None]]:
    """The warehouse context (registry, history) each submission is validated against.

    Read where the flow runs, one small query set per submission, and handed to the
    staging tasks, so staging never connects to the warehouse: Dask workers need neither
    credentials nor access to an embedded DuckDB file another process holds open.
    """
    engine = warehouse_engine(settings)
    return [
        fetch_lookups(engine, CONTRACTS[ref.dataset], county_code=ref.county_code, period=ref.period)
        if ref.path_error is None and ref.dataset in CONTRACTS else {}
        for ref in refs
    ]


def _logger() -> logging.Logger | logging.LoggerAdapter[Any]:
    """The task run's logger; the module's when called as `stage_submission.fn` (tests)."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


# No retries: a file that crashed or overran its worker would only do it again; it comes
# back as a rejected submission instead, and the task completes.
@task(task_run_name="stage-{ref.county_code}-{ref.dataset}-{ref.period}")
def stage_submission(ref: SubmissionRef, lookups: Lookups, settings: Settings) -> StagedSubmission:
    """Validate one submission against its contract and the warehouse context in `lookups`,
    in a worker process bounded in memory and time (`countyflow.isolation`)."""

    def log_failure(failure: StageFailure) -> None:
        # Codes and worker facts only: nothing read from the file reaches the log.
        _logger().warning("Staging %s/%s/%s (%s) failed in its worker: %s — rejected as %s",
                          ref.county_code, ref.dataset, ref.period, ref.submission_id[:16],
                          failure.detail, failure.rule)

    def log_peak_rss(peak_kib: int) -> None:
        limit = f"{settings.stage_memory_mb} MiB" if settings.stage_memory_mb else "none"
        _logger().info("Staging worker peak RSS %d MiB (memory limit %s) after %s/%s/%s (%s)",
                       peak_kib // 1024, limit, ref.county_code, ref.dataset, ref.period,
                       ref.submission_id[:16])

    return stage_isolated(ref, lookups, settings, on_failure=log_failure, on_peak_rss=log_peak_rss)
