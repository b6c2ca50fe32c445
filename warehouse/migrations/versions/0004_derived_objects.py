"""Record what the mart views were last created from (`audit_derived_objects`).

Revision ID: 0004_derived_objects
Revises: 0003_fact_references
Create Date: 2026-12-07

`ensure_warehouse` recreated every mart view at the start of every run; replacing a view
takes an exclusive lock on it on PostgreSQL, so a run with nothing to change waited behind
any BI query reading a mart (and every new BI query then waited behind the run). The
fingerprint of the views' definitions is now recorded here, and the views are recreated
only when it changes or a view is missing. A new, empty table: the first run after the
upgrade creates the views once and records their fingerprint.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from warehouse.backends import backend_of

revision: str = "0004_derived_objects"
down_revision: str | Sequence[str] | None = "0003_fact_references"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AUDIT = "audit"
_COMMENTS = (  # frozen copies of warehouse.layout.SCHEMA_COMMENTS["audit"]: before, after
    "countyflow submission ledger (audit_submission) and the issues found (audit_issue)",
    "countyflow submission ledger (audit_submission), the issues found (audit_issue) and "
    "what the mart views were built from (audit_derived_objects)",
)


def _comment_schema(comment: str) -> None:
    if not backend_of(op.get_bind()).folds_schemas:  # DuckDB has no separate schema
        op.execute(f"COMMENT ON SCHEMA {_AUDIT} IS '{comment}'")


def upgrade() -> None:
    op.create_table(
        "audit_derived_objects",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_audit_derived_objects")),
        schema=_AUDIT,
    )
    _comment_schema(_COMMENTS[1])


def downgrade() -> None:
    op.drop_table("audit_derived_objects", schema=_AUDIT)
    _comment_schema(_COMMENTS[0])
