"""Bulk reads of the submission ledger (`audit_submission`) for the flow's planning step.

Kept apart from `warehouse.load` (the writer): these are read-only, set-based queries that
replace per-file round trips, so a re-run over a large landing zone costs one query per
thousand files instead of one per file.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from warehouse.models import AuditSubmission

_ledger: sa.Table = AuditSubmission.__table__
_CHUNK = 1000  # ids per IN list: well inside every backend's parameter limit


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
