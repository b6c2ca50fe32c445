"""Facts keep their references declared, without FOREIGN KEY constraints.

Revision ID: 0003_fact_references
Revises: 0002_schemas
Create Date: 2026-11-29

Per-row referential-integrity checks were most of the cost of a bulk fact insert on
PostgreSQL (~75 % of inserting 186 k rows; see `warehouse.models`). Facts have one writer, `warehouse.load`, which resolves every key by joining
the referenced table inside its transaction and refuses a partial insert; the quality
gate checks every reference for orphans (see `warehouse.models`). Dimensions, reference
data and the audit tables keep their foreign keys. No data changes.

PostgreSQL drops the constraints. DuckDB cannot drop a constraint, so each fact table is
rebuilt: its rows are copied aside, the table is recreated (frozen copy of its columns
below) without the foreign keys, and the rows are copied back; downgrade does the same
with them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from warehouse.backends import backend_of

revision: str = "0003_fact_references"
down_revision: str | Sequence[str] | None = "0002_schemas"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DW, _AUDIT = "dw", "audit"
_PARTITION = (
    ("submission_id", _AUDIT, "audit_submission", "submission_id"),
    ("county_code", _DW, "dim_county", "county_code"),
    ("period", _DW, "dim_period", "period"),
)
REFERENCES: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    # table: (column, referenced schema, table, column) as the foreign keys were
    "fact_vocational_enrollment": (
        *_PARTITION,
        ("school_key", _DW, "dim_school", "school_key"),
        ("track", _DW, "dim_vocational_track", "track"),
    ),
    "fact_childcare_site_season": (
        *_PARTITION,
        ("site_key", _DW, "dim_childcare_site", "site_key"),
        ("start_date_key", _DW, "dim_date", "date_key"),
        ("end_date_key", _DW, "dim_date", "date_key"),
    ),
    "fact_childcare_daily": (
        *_PARTITION,
        ("site_key", _DW, "dim_childcare_site", "site_key"),
        ("date_key", _DW, "dim_date", "date_key"),
    ),
    "fact_childcare_volunteers": (
        *_PARTITION,
        ("site_key", _DW, "dim_childcare_site", "site_key"),
        ("source", _DW, "dim_volunteer_source", "source"),
    ),
    "fact_health_monthly": (
        *_PARTITION,
        ("facility_key", _DW, "dim_health_facility", "facility_key"),
        ("department_key", _DW, "dim_department", "department_key"),
        ("month_date_key", _DW, "dim_date", "date_key"),
    ),
}

_S, _B, _I, _D, _F = sa.String, sa.BigInteger, sa.Integer, sa.Date, sa.Double
_KEY = (("submission_id", sa.String(length=64), False), ("source_row", _B(), False),
        ("county_code", _S(), False), ("period", _S(), False))
COLUMNS: dict[str, tuple[tuple[str, sa.types.TypeEngine, bool], ...]] = {
    # frozen copy (DuckDB rebuild): name, type, nullable
    "fact_vocational_enrollment": (
        *_KEY, ("school_key", _B(), False), ("program", _S(), False), ("track", _S(), False),
        ("grade", _I(), False), ("enrolled", _B(), False), ("new_intake", _B(), False),
        ("dropouts", _B(), False),
    ),
    "fact_childcare_site_season": (
        *_KEY, ("site_key", _B(), False), ("start_date", _D(), False),
        ("end_date", _D(), False), ("start_date_key", _I(), False),
        ("end_date_key", _I(), False), ("service_days", _B(), False),
        ("hours_per_day", _F(), False), ("meal_subsidy_yuan", _F(), True),
        ("children_enrolled", _B(), False), ("left_behind_children", _B(), False),
        ("relocated_children", _B(), True), ("service_person_times", _B(), True),
    ),
    "fact_childcare_daily": (
        *_KEY, ("site_key", _B(), False), ("date", _D(), False), ("date_key", _I(), False),
        ("children_present", _B(), False), ("volunteers_on_duty", _B(), True),
        ("meals_served", _B(), True),
    ),
    "fact_childcare_volunteers": (
        *_KEY, ("site_key", _B(), False), ("source", _S(), False),
        ("institution", _S(), True), ("volunteers", _B(), False),
    ),
    "fact_health_monthly": (
        *_KEY, ("facility_key", _B(), False), ("department_key", _B(), False),
        ("month_date_key", _I(), False), ("beds_open", _B(), False), ("surgeries", _B(), False),
        *((name, _B(), True) for name in (
            "interventional_procedures", "outpatient_visits", "inpatient_admissions",
            "resident_experts", "experts_dispatched", "visiting_experts",
            "local_surgeons_independent", "returned_patients",
        )),
    ),
}


def _fk_name(table: str, column: str, ref_table: str) -> str:
    return f"fk_{table}_{column}_{ref_table}"  # the models' naming convention


def _duckdb() -> bool:
    """The backend cannot add or drop a foreign key on an existing table (DuckDB): it is rebuilt."""
    return not backend_of(op.get_bind()).alters_constraints


def _rebuild_on_duckdb(table: str, *, with_foreign_keys: bool) -> None:
    """Recreate `table` (DuckDB keeps everything in `main`) with or without its foreign
    keys, keeping its rows."""
    keep = f"{table}__keep"
    op.execute(f"CREATE TABLE {keep} AS SELECT * FROM {table}")
    op.execute(f"DROP TABLE {table}")
    foreign_keys = [
        sa.ForeignKeyConstraint([column], [f"{ref_table}.{ref_column}"],
                                name=_fk_name(table, column, ref_table))
        for column, _, ref_table, ref_column in REFERENCES[table]
    ] if with_foreign_keys else []
    op.create_table(
        table,
        *(sa.Column(name, type_, nullable=nullable, autoincrement=False if name == "source_row"
                    else "auto") for name, type_, nullable in COLUMNS[table]),
        *foreign_keys,
        sa.PrimaryKeyConstraint("submission_id", "source_row", name=f"pk_{table}"),
    )
    op.execute(f"INSERT INTO {table} SELECT * FROM {keep}")
    op.execute(f"DROP TABLE {keep}")


def upgrade() -> None:
    for table, references in REFERENCES.items():
        if _duckdb():
            _rebuild_on_duckdb(table, with_foreign_keys=False)
            continue
        for column, _, ref_table, _ in references:
            op.drop_constraint(_fk_name(table, column, ref_table), table, schema=_DW,
                               type_="foreignkey")


def downgrade() -> None:
    for table, references in REFERENCES.items():
        if _duckdb():
            _rebuild_on_duckdb(table, with_foreign_keys=True)
            continue
        for column, ref_schema, ref_table, ref_column in references:
            op.create_foreign_key(_fk_name(table, column, ref_table), table, ref_table,
                                  [column], [ref_column], source_schema=_DW,
                                  referent_schema=ref_schema)
