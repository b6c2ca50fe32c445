"""Separate schemas on PostgreSQL: `dw` (star schema), `audit` (ledger), `marts` (BI views).

Revision ID: 0002_schemas
Revises: 0001_baseline
Create Date: 2025-08-20

Tables and sequences move with `ALTER … SET SCHEMA`: rows, keys, indexes, constraints,
foreign keys and the sequences behind the surrogate keys' defaults all follow (they are
bound by OID), so nothing is copied and no data changes. The mart views of the default
schema are dropped; `ensure_warehouse` recreates the marts in `marts` in the same
transaction. DuckDB keeps a single schema (`warehouse.layout`): nothing to do there.
"""

from collections.abc import Sequence

from alembic import op

from warehouse.backends import backend_of

revision: str = "0002_schemas"
down_revision: str | Sequence[str] | None = "0001_baseline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMAS = {  # frozen copy of warehouse.layout.SCHEMA_COMMENTS as of this revision
    "dw": "countyflow star schema: conformed dimensions (dim_*), facts (fact_*), "
    "reference data (ref_*)",
    "marts": "countyflow BI marts (SPEC §6): the public contract for Superset, Metabase "
    "and SQL clients",
    "audit": "countyflow submission ledger (audit_submission) and the issues found "
    "(audit_issue)",
}
TABLES = {
    "dw": (
        "dim_date", "dim_county", "dim_period", "dim_school", "dim_childcare_site",
        "dim_health_facility", "dim_department", "dim_vocational_track",
        "dim_volunteer_source", "ref_calendar", "fact_vocational_enrollment",
        "fact_childcare_site_season", "fact_childcare_daily", "fact_childcare_volunteers",
        "fact_health_monthly",
    ),
    "audit": ("audit_submission", "audit_issue"),
}
SEQUENCES = (
    "dim_school_key_seq", "dim_childcare_site_key_seq", "dim_health_facility_key_seq",
    "dim_department_key_seq",
)
MARTS = (
    "mart_childcare_county_season", "mart_childcare_site_season",
    "mart_vocational_county_year", "mart_health_facility_month", "mart_city_kpi",
    "mart_submission_status",
)


def _postgresql() -> bool:
    """The backend keeps the warehouse's schemas (DuckDB folds them into `main`)."""
    return not backend_of(op.get_bind()).folds_schemas


def upgrade() -> None:
    if not _postgresql():
        return
    for schema, comment in SCHEMAS.items():
        op.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        op.execute(f"COMMENT ON SCHEMA {schema} IS '{comment}'")
    for mart in MARTS:  # they read the tables by OID and would stay behind in public
        op.execute(f"DROP VIEW IF EXISTS public.{mart}")
    for schema, tables in TABLES.items():
        for table in tables:
            op.execute(f"ALTER TABLE public.{table} SET SCHEMA {schema}")
    for sequence in SEQUENCES:
        op.execute(f"ALTER SEQUENCE public.{sequence} SET SCHEMA dw")


def downgrade() -> None:
    if not _postgresql():
        return
    for mart in MARTS:
        op.execute(f"DROP VIEW IF EXISTS marts.{mart}")
    # views added to `marts` later (intermediate views, dimensions, the metric catalogue):
    # every view of the schema is countyflow's (warehouse.marts) and recreated on upgrade
    leftover = op.get_bind().exec_driver_sql(
        "SELECT viewname FROM pg_views WHERE schemaname = 'marts'").scalars().all()
    for view in leftover:
        op.execute(f'DROP VIEW IF EXISTS marts."{view}" CASCADE')
    for sequence in SEQUENCES:
        op.execute(f"ALTER SEQUENCE dw.{sequence} SET SCHEMA public")
    for schema, tables in TABLES.items():
        for table in tables:
            op.execute(f"ALTER TABLE {schema}.{table} SET SCHEMA public")
    for schema in SCHEMAS:
        op.execute(f"DROP SCHEMA IF EXISTS {schema} RESTRICT")
