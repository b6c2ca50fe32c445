"""The per-submission pipeline as pure functions, wrapped by `tasks/`.

`stage_bytes` turns one submission's bytes into a validation result and fact rows:
parse → validate → transform. It never touches files or databases; the tasks read the
archived bytes, fetch lookups from the warehouse and persist what comes out.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, fields
from itertools import groupby
from pathlib import Path
from typing import Any

import polars as pl

from countyflow.ingest.limits import mask_name
from countyflow.ingest.model import (
    RowCounts,
    SubmissionRef,
    SubmissionRejected,
    SubmissionStatus,
    ValidationResult,
)
from countyflow.periods import parse_period
from countyflow.settings import Settings
from schemas import CONTRACTS, processing_order


@dataclass(frozen=True)
class StagedSubmission:
    """What the staging task hands to the load task: counts, and where the frames are.

    Frames travel as Arrow IPC files, not as task results, so task results stay small
    (and picklable for a Dask cluster).
    """

    ref: SubmissionRef
    status: SubmissionStatus
    counts: RowCounts
    facts_path: str | None
    issues_path: str
    report_path: str | None

    @property
    def issues(self) -> pl.DataFrame:
        """The issues found, read back from their file (so the staged submission is the
        `Verdict` the ledger records, with the validation's own `counts`)."""
        return pl.read_ipc(self.issues_path)


def stage_bytes(
    ref: SubmissionRef,
    data: bytes | None,
    *,
    lookups: Mapping[str, pl.DataFrame | None],
    settings: Settings,
) -> tuple[ValidationResult, pl.DataFrame | None]:
    """Parse, validate and transform one submission (pure: bytes and frames in, frames out)."""
    # lazy: the readers and Pandera (~2 CPU-s) only where files are staged, not in the flow's process
    from countyflow.ingest.read import read_submission
    from countyflow.ingest.validate import reject_submission, validate_submission
    from countyflow.transform import transform_submission

    if ref.path_error is not None:
        return reject_submission(SubmissionRejected(ref.path_error, ref.relative_path)), None
    if data is None:
        return reject_submission(SubmissionRejected("file_unreadable", ref.relative_path)), None
    contract = CONTRACTS[ref.dataset]
    try:
        parsed = read_submission(
            data,
            extension=ref.extension,
            contract=contract,
            expected={"county_code": ref.county_code, "dataset": ref.dataset, "period": ref.period},
            max_cells=settings.max_sheet_cells,
            max_columns=settings.max_columns,
        )
    except SubmissionRejected as exc:
        return reject_submission(exc), None
    result = validate_submission(
        parsed,
        contract,
        county_code=ref.county_code,
        period=parse_period(ref.period),
        lookups=lookups,
        policy=settings.policy_for(ref.dataset),
        max_text_chars=settings.max_text_chars,
    )
    if result.counts.rows_loaded == 0:
        return result, None
    return result, transform_submission(ref.dataset, result.valid, ref)


def batches_in_dependency_order(refs: Iterable[SubmissionRef]) -> list[list[SubmissionRef]]:
    """Group submissions by dataset, registries first; within a batch, oldest first.

    Unknown datasets (a path error) go in a final batch: they are only recorded as rejected.
    """
    rank = {dataset: position for position, dataset in enumerate(processing_order())}
    ordered = sorted(refs, key=lambda ref: (rank.get(ref.dataset, len(rank)), ref.sort_key()))
    return [
        list(batch)
        for _, batch in groupby(ordered, key=lambda ref: rank.get(ref.dataset, len(rank)))
    ]


def staging_paths(staging_dir: Path, submission_id: str) -> tuple[Path, Path]:
    """Where the staged facts and issues of one submission are kept until loaded: new
    names on every call, so two runs staging the same file (two `countyflow run` started
    together) never read or delete each other's frames."""
    stem = f"{submission_id}.{uuid.uuid4().hex[:12]}"
    return staging_dir / f"{stem}.facts.arrow", staging_dir / f"{stem}.issues.arrow"


def report_stem(reports_dir: Path, ref: SubmissionRef) -> Path:
    """Clerk reports are filed by partition, named by the submission's hash prefix."""
    return reports_dir / ref.county_code / ref.dataset / ref.period / ref.submission_id[:16]


@dataclass(frozen=True)
class SubmissionOutcome:
    """The end state of one submission in a run, as the operator and the clerk see it.

    `counts` are the submission's own (the ledger's); `status` is its final ledger status.
    """

    submission_id: str
    county_code: str
    dataset: str
    period: str
    file_name: str
    status: str
    counts: RowCounts
    report_path: str | None

    def row(self) -> dict[str, object]:
        """This outcome as a row of `OUTCOME_SCHEMA`, its counts spread into their columns.

        There `rows_loaded` counts the rows this run put in the facts: none unless the
        submission ended accepted (a superseded submission's valid rows stay in its
        `counts` and in the ledger, but not in the facts)."""
        values: dict[str, object] = {
            field.name: getattr(self, field.name) for field in fields(self)
        } | asdict(self.counts)
        if not self.status.startswith("accepted"):
            values["rows_loaded"] = 0
        return {name: values[name] for name in OUTCOME_SCHEMA}


def outcome_of(staged: StagedSubmission, final_status: str) -> SubmissionOutcome:
    ref = staged.ref
    return SubmissionOutcome(
        submission_id=ref.submission_id, county_code=ref.county_code, dataset=ref.dataset,
        period=ref.period, file_name=mask_name(ref.file_name), status=final_status,
        counts=staged.counts, report_path=staged.report_path,
    )


_POLARS_TYPES: Mapping[str, type[pl.DataType]] = {"str": pl.Utf8, "str | None": pl.Utf8, "int": pl.Int64}


def _columns(cls: type[Any]) -> Iterator[tuple[str, type[pl.DataType]]]:
    """A dataclass's fields as frame columns, a `RowCounts` field spread into its own."""
    for field in fields(cls):
        if field.type == RowCounts.__name__:
            yield from _columns(RowCounts)
        else:
            yield field.name, _POLARS_TYPES[str(field.type)]


OUTCOME_SCHEMA: dict[str, type[pl.DataType]] = dict(_columns(SubmissionOutcome))
"""The columns of a run's outcomes frame: `SubmissionOutcome`'s fields with `RowCounts`'
in place of `counts`, declared once there."""


def outcomes_frame(outcomes: Iterable[SubmissionOutcome]) -> pl.DataFrame:
    """One row per submission processed in a run (grain: submission)."""
    return pl.DataFrame([outcome.row() for outcome in outcomes], schema=OUTCOME_SCHEMA)


def summarise_outcomes(outcomes: pl.DataFrame) -> pl.DataFrame:
    """Submissions and rows by status (grain: status), for the run summary."""
    return (
        outcomes.group_by("status")
        .agg(
            pl.len().alias("submissions"),
            pl.col("rows_in").sum(),
            pl.col("rows_loaded").sum(),
            pl.col("rows_rejected").sum(),
            pl.col("rows_held").sum(),
            pl.col("warnings").sum(),
        )
        .sort("status")
    )
