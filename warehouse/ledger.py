"""The submission ledger (`audit_submission`) and the issues it lists (`audit_issue`): every
read and write of them.

Reads for the flow's planning step take an Engine: `processed_statuses` (bulk, set-based:
a re-run over a large landing zone costs one query per thousand files, not one per file),
`waiting_submissions` and `submission_ref`. Everything else takes the Connection of the
transaction `warehouse.load.record_submission` holds, because the ledger and the facts
change together, atomically, under the partition's lock: `recorded_status`, `decide`,
`record` (the ledger row and its issues), `mark_superseded` (the submission whose facts a
newer one replaces), and `has_accepted` for the lookups (`warehouse.lookups`). Fact rows
name their submission by its `submission_key`, the database's number for it: `record`
returns it, and a `Decision` that replaces a submission carries that one's.

Recorded values are the verdict's (`countyflow.ingest.model.Verdict`): its status, its
`RowCounts` as they are, its issues capped per rule × column. Timestamps are naive UTC;
file names, paths and URLs are masked (personal data) and URLs lose their passwords.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from countyflow.ingest.limits import cap_issues, mask_name
from countyflow.ingest.model import (
    ISSUE_SCHEMA,
    RowCounts,
    SubmissionRef,
    SubmissionStatus,
    Verdict,
)
from warehouse.models import ACCEPTED_STATUSES, AuditIssue, AuditSubmission
from warehouse.staging import staged

_ledger: sa.Table = AuditSubmission.__table__
_issues: sa.Table = AuditIssue.__table__
_CHUNK = 1000  # ids per IN list: well inside every backend's parameter limit


# ------------------------------------------------------------------------- planning reads


def processed_statuses(engine: Engine, submission_ids: Iterable[str]) -> dict[str, str]:
    """Ledger status of each recorded submission among `submission_ids` (one query per
    1000 ids); an id absent from the result was never recorded."""
    ids = list(dict.fromkeys(submission_ids))
    statuses: dict[str, str] = {}
    if not ids:
        return statuses
    with engine.connect() as conn:
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            rows = conn.execute(
                sa.select(_ledger.c.submission_id, _ledger.c.status).where(
                    _ledger.c.submission_id.in_(chunk)
                )
            )
            statuses.update({str(row.submission_id): str(row.status) for row in rows})
    return statuses


def waiting_submissions(engine: Engine) -> list[dict[str, Any]]:
    """Every `waiting` submission with all its ledger columns, oldest first per partition
    (see `submission_ref` to rebuild its SubmissionRef)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(_ledger)
            .where(_ledger.c.status == SubmissionStatus.WAITING.value)
            .order_by(
                _ledger.c.dataset, _ledger.c.county_code, _ledger.c.period,
                _ledger.c.modified_at, _ledger.c.file_name,
            )
        ).mappings().all()
    return [dict(row) for row in rows]


def submission_ref(row: Mapping[str, Any]) -> SubmissionRef:
    """Rebuild the SubmissionRef of a ledger row (e.g. from `waiting_submissions`).

    `source_url` is the ledger's (credentials removed); re-reading uses `archive_path`.
    """
    modified_at: dt.datetime = row["modified_at"]
    return SubmissionRef(
        submission_id=row["submission_id"],
        source_url=row["source_url"],
        relative_path=row["relative_path"],
        county_code=row["county_code"],
        dataset=row["dataset"],
        period=row["period"],
        file_name=row["file_name"],
        extension=row["extension"],
        size_bytes=int(row["size_bytes"]),
        modified_at=modified_at.replace(tzinfo=dt.UTC),
        archive_path=row["archive_path"],
        path_error=row["path_error"],
    )


# ------------------------------------------------- within a recording's transaction


@dataclass(frozen=True)
class Decision:
    """A submission's ledger status, decided against its partition (`decide`)."""

    status: str
    superseded_by: str | None = None  # set when the submission itself is superseded
    replaces: str | None = None  # the accepted submission whose facts it replaces
    replaces_key: int | None = None  # and its submission_key, which those facts carry


def recorded_status(conn: Connection, submission_id: str) -> str | None:
    """The ledger status of `submission_id`; None when it was never recorded."""
    row = conn.execute(
        sa.select(_ledger.c.status).where(_ledger.c.submission_id == submission_id)
    ).first()
    return None if row is None else str(row.status)


def decide(conn: Connection, ref: SubmissionRef, result: Verdict) -> Decision:
    """The status `result` is recorded with: an accepted submission older than its
    partition's current accepted one is superseded by it; a newer one replaces it."""
    status = result.status.value
    if status not in ACCEPTED_STATUSES:
        return Decision(status)
    current = conn.execute(
        sa.select(_ledger.c.submission_id, _ledger.c.submission_key, _ledger.c.modified_at,
                  _ledger.c.file_name).where(
            _ledger.c.county_code == ref.county_code,
            _ledger.c.dataset == ref.dataset,
            _ledger.c.period == ref.period,
            _ledger.c.status.in_(ACCEPTED_STATUSES),
            _ledger.c.submission_id != ref.submission_id,
        )
    ).first()
    if current is None:
        return Decision(status)
    # Newer = later mtime, then file name (SPEC §5); the hash breaks a full tie so the
    # outcome never depends on arrival order.
    mine = (_utc_naive(ref.modified_at), ref.file_name, ref.submission_id)
    theirs = (current.modified_at, current.file_name, current.submission_id)
    if theirs > mine:
        return Decision(SubmissionStatus.SUPERSEDED.value, superseded_by=current.submission_id)
    return Decision(status, replaces=current.submission_id,
                    replaces_key=current.submission_key)


def record(
    conn: Connection,
    ref: SubmissionRef,
    result: Verdict,
    decision: Decision,
    *,
    held: bool,
    processed_at: dt.datetime,
    report_path: str | None,
    max_issue_rows: int | None,
) -> int:
    """Write the ledger row of `ref` with `decision`, then its issues (capped per rule ×
    column, `countyflow.ingest.limits.cap_issues`; the counts keep every one). `held`: the
    submission is in the ledger as `waiting`, so its row's outcome is updated and its
    earlier issues replaced; otherwise the row is inserted, first seen now. Returns the
    submission's key: the sequence assigns it when the row is inserted, and an update
    keeps it."""
    values = _ledger_values(ref, result, decision, report_path, _utc_naive(processed_at))
    key = _ledger.c.submission_key
    if not held:  # so it has no issues either (audit_issue's foreign key)
        recorded = conn.execute(
            sa.insert(_ledger).values(**values, first_seen_at=values["processed_at"])
            .returning(key)
        ).scalar_one()
    else:
        _delete_issues(conn, ref.submission_id)
        # Only the outcome changes; the identity columns are indexed, and DuckDB
        # rewrites an UPDATE of an indexed column as delete + insert. It does so for any
        # UPDATE … RETURNING too (which audit_issue's foreign key then refuses): the key
        # is read on its own.
        where = _ledger.c.submission_id == ref.submission_id
        conn.execute(
            sa.update(_ledger)
            .where(where)
            .values({k: v for k, v in values.items() if k in _OUTCOME_COLUMNS})
        )
        recorded = conn.execute(sa.select(key).where(where)).scalar_one()
    _insert_issues(conn, ref.submission_id, cap_issues(result.issues, max_issue_rows))
    return int(recorded)


def mark_superseded(conn: Connection, submission_id: str, *, by: str) -> None:
    """`submission_id`, until now its partition's accepted submission, is superseded `by`
    a newer one (whose facts replace its facts in the same transaction)."""
    conn.execute(
        sa.update(_ledger)
        .where(_ledger.c.submission_id == submission_id)
        .values(status=SubmissionStatus.SUPERSEDED.value, superseded_by=by)
    )


def has_accepted(conn: Connection, *, county_code: str, dataset: str, period: str) -> bool:
    """Whether the partition has a current accepted submission (its facts are loaded)."""
    accepted = conn.execute(
        sa.select(sa.func.count()).where(
            _ledger.c.county_code == county_code,
            _ledger.c.dataset == dataset,
            _ledger.c.period == period,
            _ledger.c.status.in_(ACCEPTED_STATUSES),
        )
    ).scalar_one()
    return bool(accepted)


# ------------------------------------------------------------------------------ helpers


def _ledger_values(
    ref: SubmissionRef,
    result: Verdict,
    decision: Decision,
    report_path: str | None,
    now: dt.datetime,
) -> dict[str, Any]:
    return {
        "submission_id": ref.submission_id,
        "county_code": ref.county_code,
        "dataset": ref.dataset,
        "period": ref.period,
        # A phone or ID-card number a clerk put in a file name is personal data too.
        "file_name": mask_name(ref.file_name),
        "extension": ref.extension,
        "relative_path": mask_name(ref.relative_path),
        "source_url": mask_name(redact_url(ref.source_url)),
        "archive_path": ref.archive_path,
        "path_error": ref.path_error,
        "size_bytes": ref.size_bytes,
        "modified_at": _utc_naive(ref.modified_at),
        "processed_at": now,
        "status": decision.status,
        **asdict(result.counts),
        "superseded_by": decision.superseded_by,
        "report_path": report_path,
    }


_OUTCOME_COLUMNS = frozenset({
    "processed_at", "status", *(field.name for field in fields(RowCounts)), "superseded_by",
    "report_path",
})
"""What re-recording a `waiting` submission changes in its row."""


def _delete_issues(conn: Connection, submission_id: str) -> None:
    conn.execute(sa.delete(_issues).where(_issues.c.submission_id == submission_id))


def _insert_issues(conn: Connection, submission_id: str, issues: pl.DataFrame) -> None:
    if issues.height == 0:
        return
    frame = (
        issues.select(pl.col(name).cast(dtype) for name, dtype in ISSUE_SCHEMA.items())
        .with_row_index("issue_no", offset=1)
        .with_columns(
            pl.col("issue_no").cast(pl.Int64), pl.lit(submission_id).alias("submission_id")
        )
    )
    with staged(conn, "stg_issues", frame) as source:
        conn.execute(
            sa.insert(_issues).from_select(
                frame.columns, sa.select(*(source.c[c] for c in frame.columns))
            )
        )


def _utc_naive(moment: dt.datetime) -> dt.datetime:
    """Ledger timestamps are naive UTC; a naive input is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def redact_url(url: str) -> str:
    """`url` with any password replaced by `***` (e.g. sftp://user:secret@host/…)."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # unparseable netloc: keep nothing that might be a credential
        return "<redacted>" if "@" in url else url
    if password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    netloc = f"{parts.username}:***@{host}" if parts.username else f"***@{host}"
    return urlunsplit(parts._replace(netloc=netloc))
