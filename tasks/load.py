"""Warehouse tasks: the database edge (schema, idempotency filter, loads, marts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
from prefect import task

from countyflow import progress
from countyflow.ingest.model import SubmissionRef
from countyflow.pipeline import StagedSubmission, SubmissionOutcome, outcome_of
from countyflow.settings import Settings
from tasks.resources import warehouse_engine
from warehouse.engine import WarehouseBusyError, checkpoint
from warehouse.ledger import processed_statuses, submission_ref, waiting_submissions
from warehouse.load import record_submission
from warehouse.marts import read_mart as _read_mart
from warehouse.schema import ensure_warehouse

_REPROCESS = frozenset({"waiting"})


def _unless_warehouse_busy(task: Any, task_run: Any, state: Any) -> bool:
    """Retry, except after a WarehouseBusyError: that one has already waited its time."""
    try:
        state.result()
    except WarehouseBusyError:
        return False
    except Exception:
        return True
    return True


# No task timeout: the wait for a DuckDB file another process holds is bounded by
# COUNTYFLOW_WAREHOUSE_LOCK_TIMEOUT (30 min by default), which a fixed timeout would cut short.
@task(retries=2, retry_delay_seconds=5, retry_condition_fn=_unless_warehouse_busy)
def prepare_warehouse(settings: Settings) -> None:
    """Apply pending migrations, seed reference data, (re)create the marts (idempotent)."""
    ensure_warehouse(warehouse_engine(settings))


@task(retries=2, retry_delay_seconds=5, timeout_seconds=600)
def select_pending_submissions(refs: list[SubmissionRef], settings: Settings) -> list[SubmissionRef]:
    """What this run must process: files not seen before, plus every held (`waiting`) one.

    A file whose hash was already processed is skipped wherever it lies; the same bytes
    under two paths are one submission. Held submissions come back from the ledger even
    if their file has left the landing zone: the archive keeps their bytes.
    """
    engine = warehouse_engine(settings)
    statuses = processed_statuses(engine, (ref.submission_id for ref in refs))
    seen: set[str] = set()
    pending = []
    for ref in refs:
        if ref.submission_id in seen:
            continue
        seen.add(ref.submission_id)
        status = statuses.get(ref.submission_id)
        if status is None or status in _REPROCESS:
            pending.append(ref)
    pending += [
        submission_ref(row) for row in waiting_submissions(engine) if row["submission_id"] not in seen
    ]
    progress.planned(len(pending))
    return pending


@task(retries=2, retry_delay_seconds=2, timeout_seconds=900, task_run_name="load-{staged.ref.county_code}-{staged.ref.dataset}-{staged.ref.period}")
def load_submission(staged: StagedSubmission, settings: Settings) -> SubmissionOutcome:
    """Record one submission in the ledger and, if accepted, load its facts (one transaction)."""
    facts = pl.read_ipc(staged.facts_path) if staged.facts_path else None
    final_status = record_submission(
        warehouse_engine(settings), staged.ref, staged, facts, report_path=staged.report_path,
        max_issue_rows=settings.max_issue_rows_per_rule,
    )
    for path in (staged.issues_path, staged.facts_path):
        if path:
            Path(path).unlink(missing_ok=True)
    outcome = outcome_of(staged, final_status)
    progress.finished(f"{outcome.county_code} {outcome.dataset} {outcome.period}: {outcome.status}")
    return outcome


@task(retries=2, retry_delay_seconds=5, timeout_seconds=300)
def read_mart(name: str, settings: Settings) -> pl.DataFrame:
    """One BI mart as a frame (for artifacts and the CLI)."""
    return _read_mart(warehouse_engine(settings), name)


@task(retries=2, retry_delay_seconds=5)
def checkpoint_warehouse(settings: Settings) -> None:
    """Make the warehouse file whole at the end of a run (DuckDB; nothing on PostgreSQL)."""
    checkpoint(warehouse_engine(settings))


@task(retries=2, retry_delay_seconds=5, timeout_seconds=300)
def read_marts(names: tuple[str, ...], settings: Settings) -> dict[str, pl.DataFrame]:
    """Several BI marts at once (one task run), e.g. what a run report is built from."""
    engine = warehouse_engine(settings)
    return {name: _read_mart(engine, name) for name in names}
