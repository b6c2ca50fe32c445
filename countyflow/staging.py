"""Staging one submission to files: the archived bytes in, Arrow IPC frames and clerk reports out.

`stage_to_files` is what a staging worker process runs (`countyflow.isolation`): it reads
the archived bytes itself and writes the frames and reports itself, so only a small
`StagedSubmission` crosses the process boundary. `rejected_to_files` writes the same
outputs for a submission whose staging failed (worker crashed, out of memory or time).
`remove_leftover_staging` is the housekeeping for staging files a failed run left behind.

Prefect-free on purpose: a worker process importing it stays quick to start.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from countyflow.ingest.discover import open_archived
from countyflow.ingest.limits import mask_name
from countyflow.ingest.model import SubmissionRef, SubmissionRejected, ValidationResult
from countyflow.pipeline import StagedSubmission, report_stem, stage_bytes, staging_paths
from countyflow.reference import county_name
from countyflow.settings import Settings

Lookups = Mapping[str, pl.DataFrame | None]

STAGING_SUFFIXES = (".facts.arrow", ".issues.arrow")
"""The only files housekeeping deletes: what `staging_paths` names, nothing an operator put there."""


def read_archived(ref: SubmissionRef) -> bytes | None:
    """The archived bytes, checked against the hash; None when they cannot be had."""
    if not ref.archive_path:
        return None
    try:
        return open_archived(ref)
    except (OSError, ValueError):
        return None


def report_header(ref: SubmissionRef) -> dict[str, object]:
    return {
        "file_name": mask_name(ref.file_name), "relative_path": mask_name(ref.relative_path),
        "submission_id": ref.submission_id, "county_code": ref.county_code,
        "county_name": county_name(ref.county_code), "dataset": ref.dataset, "period": ref.period,
    }


def write_staged(ref: SubmissionRef, result: ValidationResult, facts: pl.DataFrame | None,
                 settings: Settings) -> StagedSubmission:
    """Persist one staged submission (frames as Arrow IPC, clerk reports) and describe it."""
    # lazy: the report writers (xlsxwriter, rich) only in a process that writes reports
    from countyflow.ingest.report import write_report

    facts_path, issues_path = staging_paths(settings.staging_dir, ref.submission_id)
    facts_path.parent.mkdir(parents=True, exist_ok=True)
    result.issues.write_ipc(issues_path)  # uncompressed Arrow: read back once, then deleted
    if facts is not None:
        facts.write_ipc(facts_path)
    stem = report_stem(settings.reports_dir, ref)
    header = report_header(ref)
    cap = settings.max_issue_rows_per_rule
    write_report(result, header, stem.with_suffix(".json"), max_issue_rows=cap)
    report_path = write_report(result, header, stem.with_suffix(".html"), max_issue_rows=cap)
    return StagedSubmission(
        ref=ref, status=result.status, counts=result.counts,
        facts_path=str(facts_path) if facts is not None else None,
        issues_path=str(issues_path), report_path=str(report_path),
    )


def stage_to_files(ref: SubmissionRef, lookups: Lookups, settings: Settings) -> StagedSubmission:
    """Read, validate and transform one archived submission and persist what comes out."""
    result, facts = stage_bytes(ref, read_archived(ref), lookups=lookups, settings=settings)
    return write_staged(ref, result, facts, settings)


def rejected_to_files(ref: SubmissionRef, rule: str, detail: str, settings: Settings) -> StagedSubmission:
    """A submission whose staging failed, rejected whole under `rule` (a COMMON_RULES id):
    nothing was read, so rows_in is 0 and rows are conserved; the ledger records it like any
    rejected file, so the same bytes are not tried again on the next run."""
    # lazy: Pandera (via the validator) only when a rejection is written
    from countyflow.ingest.validate import reject_submission

    return write_staged(ref, reject_submission(SubmissionRejected(rule, detail)), None, settings)


def leftover_staging_files(staging_dir: Path, *, older_than_seconds: float,
                           now: float | None = None) -> list[Path]:
    """Staging files last written more than `older_than_seconds` ago.

    A run deletes its own staging files once each submission is loaded, so what remains is
    left by a run that failed or was killed. Another run may be going at the same time
    (README "Two runs at once"), and its files are younger: staged files wait only for the
    rest of their batch to stage (each bounded by the staging timeout) and then are loaded,
    so an age far beyond that — hours — never belongs to a live run.
    """
    if not staging_dir.is_dir():
        return []
    cutoff = (time.time() if now is None else now) - older_than_seconds
    found = []
    for path in staging_dir.iterdir():
        if not path.name.endswith(STAGING_SUFFIXES):
            continue
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                found.append(path)
        except OSError:  # deleted meanwhile by the run that owned it
            continue
    return sorted(found)


def remove_leftover_staging(staging_dir: Path, *, older_than_seconds: float,
                            now: float | None = None) -> list[Path]:
    """Delete the leftovers `leftover_staging_files` finds; returns what was deleted."""
    removed = []
    for path in leftover_staging_files(staging_dir, older_than_seconds=older_than_seconds, now=now):
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        removed.append(path)
    return removed
