"""The main flow: discover → stage (parse, validate, transform) → load → publish.

It only composes: every step is a task over a pure function, one task per submission.
Registries (childcare_sites) are loaded before the datasets checked against them.
"""

from __future__ import annotations

import os
from pathlib import Path

from prefect import Flow, flow, unmapped
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from countyflow.pipeline import SubmissionOutcome, batches_in_dependency_order
from countyflow.run_report import RUN_REPORT_MARTS
from countyflow.settings import Settings
from tasks.check import check_warehouse, enforce_quality_gate
from tasks.concurrency import one_run_per_warehouse
from tasks.discover import discover_submissions
from tasks.load import (
    checkpoint_warehouse,
    load_submission,
    prepare_warehouse,
    read_marts,
    select_pending_submissions,
)
from tasks.publish import publish_run_summary
from tasks.stage import fetch_submission_lookups, remove_leftover_staging, stage_submission


# Staging is CPU-bound (Polars, Pandera): more threads than cores only hold more files in
# memory at once, so the default runner stages as many submissions at a time as there are cores.
# The ignore below: Prefect types `task_runner` as TaskRunner[PrefectFuture] (invariant),
# which none of its own runners is (ThreadPoolTaskRunner is TaskRunner[PrefectConcurrentFuture]);
# PrefectHQ/prefect#16938.
@flow(name="countyflow-ingest", log_prints=False,
      task_runner=ThreadPoolTaskRunner(max_workers=os.cpu_count() or 1))  # type: ignore[arg-type]
@one_run_per_warehouse  # two runs never write one warehouse at once
def ingest_landing_zone(settings: Settings | None = None) -> list[SubmissionOutcome]:
    """Process everything new in the landing zone into the warehouse."""
    settings = for_workers(settings or Settings())  # absolute folders, as any worker sees them
    prepare_warehouse(settings)
    remove_leftover_staging(settings)  # what a failed or killed run left behind
    discovered = discover_submissions(settings)
    pending = select_pending_submissions(discovered.submissions, settings)

    outcomes: list[SubmissionOutcome] = []
    for batch in batches_in_dependency_order(pending):
        lookups = fetch_submission_lookups(batch, settings)  # read here: workers never connect
        staged = stage_submission.map(batch, lookups, settings=unmapped(settings)).result()
        outcomes += [load_submission(submission, settings) for submission in staged]
    quality = check_warehouse(settings, outcomes=outcomes)  # what this run changed
    publish_run_summary(outcomes, read_marts(RUN_REPORT_MARTS, settings), settings,
                        ignored=discovered.ignored)
    checkpoint_warehouse(settings)  # the .duckdb file alone is the whole warehouse now
    enforce_quality_gate(quality)  # fails the run, after its summary is published
    return outcomes


# --- task runner: chosen at the edge (CLI, deployments), never in the flow body ----------------


def build_task_runner(settings: Settings) -> TaskRunner:
    """Threads in the flow's process (default), or Dask (`COUNTYFLOW_TASK_RUNNER=dask`): a
    cluster at `COUNTYFLOW_DASK_ADDRESS`, else a local cluster of worker processes."""
    if settings.task_runner == "dask":
        # lazy: Dask only with COUNTYFLOW_TASK_RUNNER=dask
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=settings.dask_address) if settings.dask_address else DaskTaskRunner()
    return ThreadPoolTaskRunner(max_workers=os.cpu_count() or 1)


def ingest_flow_for(settings: Settings) -> Flow[[Settings | None], list[SubmissionOutcome]]:
    """The main flow with the task runner the settings ask for."""
    # Ignored: Prefect's invariant TaskRunner[PrefectFuture] parameter (see the @flow above).
    return ingest_landing_zone.with_options(task_runner=build_task_runner(settings))  # type: ignore[arg-type]


def for_workers(settings: Settings) -> Settings:
    """The settings with absolute folders, so staging tasks in other processes (Dask
    workers) read the same archive and write the same staging and report folders. On a
    multi-machine cluster these folders must be shared storage."""
    return settings.model_copy(update={
        name: Path(getattr(settings, name)).resolve()
        for name in ("archive_dir", "reports_dir", "staging_dir")
    })


# --- end task runner ------------------------------------------------------------------------
