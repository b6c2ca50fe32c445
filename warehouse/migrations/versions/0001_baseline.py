"""Baseline: the warehouse as first released, every table in the default schema.

Revision ID: 0001_baseline
Revises:
Create Date: 2025-08-20

Frozen: this is what `Base.metadata.create_all` built before migrations existed, so a
warehouse from that time is stamped at this revision and upgraded from here
(`warehouse.migrate`). PostgreSQL names `public` (countyflow's search path starts with
`dw`); DuckDB uses its default schema.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from warehouse.backends import backend_of

revision: str = "0001_baseline"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEQUENCES = (
    "dim_school_key_seq",
    "dim_childcare_site_key_seq",
    "dim_health_facility_key_seq",
    "dim_department_key_seq",
)
TABLES = (  # dependants first, for downgrade
    "ref_calendar",
    "fact_vocational_enrollment",
    "fact_health_monthly",
    "fact_childcare_volunteers",
    "fact_childcare_site_season",
    "fact_childcare_daily",
    "audit_issue",
    "dim_volunteer_source",
    "dim_vocational_track",
    "dim_school",
    "dim_period",
    "dim_health_facility",
    "dim_department",
    "dim_date",
    "dim_county",
    "dim_childcare_site",
    "audit_submission",
)


def _schema() -> str | None:
    return backend_of(op.get_bind()).version_table_schema


def _next(sequence: str, schema: str | None) -> sa.DefaultClause:
    return sa.DefaultClause(sa.Sequence(sequence, schema=schema).next_value())


def upgrade() -> None:
    schema = _schema()
    prefix = f"{schema}." if schema else ""
    for name in SEQUENCES:
        op.execute(sa.schema.CreateSequence(sa.Sequence(name, schema=schema)))
    op.create_table(
        "audit_submission",
        sa.Column("submission_id", sa.String(length=64), nullable=False),
        sa.Column("county_code", sa.String(), nullable=False),
        sa.Column("dataset", sa.String(), nullable=False),
        sa.Column("period", sa.String(), nullable=False),
        sa.Column("file_name", sa.String(), nullable=False),
        sa.Column("extension", sa.String(), nullable=False),
        sa.Column("relative_path", sa.String(), nullable=False),
        sa.Column("source_url", sa.String(), nullable=False),
        sa.Column("archive_path", sa.String(), nullable=False),
        sa.Column("path_error", sa.String(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("modified_at", sa.DateTime(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("processed_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("rows_in", sa.BigInteger(), nullable=False),
        sa.Column("rows_loaded", sa.BigInteger(), nullable=False),
        sa.Column("rows_rejected", sa.BigInteger(), nullable=False),
        sa.Column("rows_held", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.BigInteger(), nullable=False),
        sa.Column("warnings", sa.BigInteger(), nullable=False),
        sa.Column("superseded_by", sa.String(length=64), nullable=True),
        sa.Column("report_path", sa.String(), nullable=True),
        sa.CheckConstraint(
            "status IN ('accepted', 'accepted_with_warnings', 'rejected', 'waiting', 'superseded')",
            name=op.f("ck_audit_submission_status_known"),
        ),
        sa.CheckConstraint(
            "rows_in = rows_loaded + rows_rejected + rows_held",
            name=op.f("ck_audit_submission_rows_conserved"),
        ),
        sa.CheckConstraint(
            "rows_in >= 0 AND rows_loaded >= 0 AND rows_rejected >= 0 AND rows_held >= 0",
            name=op.f("ck_audit_submission_rows_non_negative"),
        ),
        sa.PrimaryKeyConstraint("submission_id", name=op.f("pk_audit_submission")),
        schema=schema,
    )
    op.create_index(
        op.f("ix_audit_submission_county_code_dataset_period"),
        "audit_submission",
        ["county_code", "dataset", "period"],
        unique=False,
        schema=schema,
    )
    op.create_table(
        "dim_childcare_site",
        sa.Column(
            "site_key",
            sa.BigInteger(),
            server_default=_next("dim_childcare_site_key_seq", schema),
            nullable=False,
        ),
        sa.Column("site_code", sa.String(), nullable=False),
        sa.Column("site_name", sa.String(), nullable=True),
        sa.Column("host_type", sa.String(), nullable=True),
        sa.Column("township", sa.String(), nullable=True),
        sa.Column("county_code", sa.String(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("is_inferred", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("site_key", name=op.f("pk_dim_childcare_site")),
        sa.UniqueConstraint(
            "site_code", "valid_from", name=op.f("uq_dim_childcare_site_site_code_valid_from")
        ),
        schema=schema,
    )
    op.create_table(
        "dim_county",
        sa.Column("county_code", sa.String(), nullable=False),
        sa.Column("county_name", sa.String(), nullable=False),
        sa.Column("short_name", sa.String(), nullable=False),
        sa.Column("pinyin", sa.String(), nullable=False),
        sa.Column("city_code", sa.String(), nullable=False),
        sa.Column("city_name", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("county_code", name=op.f("pk_dim_county")),
        schema=schema,
    )
    op.create_table(
        "dim_date",
        sa.Column("date_key", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("day_of_week", sa.Integer(), nullable=False),
        sa.Column("is_weekend", sa.Boolean(), nullable=False),
        sa.Column("month_label", sa.String(), nullable=False),
        sa.Column("school_year", sa.Integer(), nullable=False),
        sa.Column("season", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("date_key", name=op.f("pk_dim_date")),
        sa.UniqueConstraint("date", name=op.f("uq_dim_date_date")),
        schema=schema,
    )
    op.create_table(
        "dim_department",
        sa.Column(
            "department_key",
            sa.BigInteger(),
            server_default=_next("dim_department_key_seq", schema),
            nullable=False,
        ),
        sa.Column("department", sa.String(), nullable=False),
        sa.Column("department_group", sa.String(), nullable=False),
        sa.Column("is_reference", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("department_key", name=op.f("pk_dim_department")),
        sa.UniqueConstraint("department", name=op.f("uq_dim_department_department")),
        schema=schema,
    )
    op.create_table(
        "dim_health_facility",
        sa.Column(
            "facility_key",
            sa.BigInteger(),
            server_default=_next("dim_health_facility_key_seq", schema),
            nullable=False,
        ),
        sa.Column("facility_code", sa.String(), nullable=False),
        sa.Column("facility_name", sa.String(), nullable=True),
        sa.Column("county_code", sa.String(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("is_inferred", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("facility_key", name=op.f("pk_dim_health_facility")),
        sa.UniqueConstraint(
            "facility_code",
            "valid_from",
            name=op.f("uq_dim_health_facility_facility_code_valid_from"),
        ),
        schema=schema,
    )
    op.create_table(
        "dim_period",
        sa.Column("period", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("prev_year_period", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("period", name=op.f("pk_dim_period")),
        schema=schema,
    )
    op.create_table(
        "dim_school",
        sa.Column(
            "school_key",
            sa.BigInteger(),
            server_default=_next("dim_school_key_seq", schema),
            nullable=False,
        ),
        sa.Column("school_code", sa.String(), nullable=False),
        sa.Column("school_name", sa.String(), nullable=True),
        sa.Column("county_code", sa.String(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("is_inferred", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("school_key", name=op.f("pk_dim_school")),
        sa.UniqueConstraint(
            "school_code", "valid_from", name=op.f("uq_dim_school_school_code_valid_from")
        ),
        schema=schema,
    )
    op.create_table(
        "dim_vocational_track",
        sa.Column("track", sa.String(), nullable=False),
        sa.Column("label_zh", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("track", name=op.f("pk_dim_vocational_track")),
        schema=schema,
    )
    op.create_table(
        "dim_volunteer_source",
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("label_zh", sa.String(), nullable=False),
        sa.Column("is_university", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_dim_volunteer_source")),
        schema=schema,
    )
    op.create_table(
        "audit_issue",
        sa.Column("submission_id", sa.String(length=64), nullable=False),
        sa.Column("issue_no", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source_row", sa.BigInteger(), nullable=True),
        sa.Column("column", sa.String(), nullable=True),
        sa.Column("value", sa.String(), nullable=True),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("message_zh", sa.String(), nullable=True),
        sa.Column("message_en", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            [f"{prefix}audit_submission.submission_id"],
            name=op.f("fk_audit_issue_submission_id_audit_submission"),
        ),
        sa.PrimaryKeyConstraint("submission_id", "issue_no", name=op.f("pk_audit_issue")),
        schema=schema,
    )
    op.create_table(
        "fact_childcare_daily",
        sa.Column("submission_id", sa.String(length=64), nullable=False),
        sa.Column("source_row", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("county_code", sa.String(), nullable=False),
        sa.Column("period", sa.String(), nullable=False),
        sa.Column("site_key", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("date_key", sa.Integer(), nullable=False),
        sa.Column("children_present", sa.BigInteger(), nullable=False),
        sa.Column("volunteers_on_duty", sa.BigInteger(), nullable=True),
        sa.Column("meals_served", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["county_code"],
            [f"{prefix}dim_county.county_code"],
            name=op.f("fk_fact_childcare_daily_county_code_dim_county"),
        ),
        sa.ForeignKeyConstraint(
            ["date_key"],
            [f"{prefix}dim_date.date_key"],
            name=op.f("fk_fact_childcare_daily_date_key_dim_date"),
        ),
        sa.ForeignKeyConstraint(
            ["period"],
            [f"{prefix}dim_period.period"],
            name=op.f("fk_fact_childcare_daily_period_dim_period"),
        ),
        sa.ForeignKeyConstraint(
            ["site_key"],
            [f"{prefix}dim_childcare_site.site_key"],
            name=op.f("fk_fact_childcare_daily_site_key_dim_childcare_site"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            [f"{prefix}audit_submission.submission_id"],
            name=op.f("fk_fact_childcare_daily_submission_id_audit_submission"),
        ),
        sa.PrimaryKeyConstraint(
            "submission_id", "source_row", name=op.f("pk_fact_childcare_daily")
        ),
        schema=schema,
    )
    op.create_table(
        "fact_childcare_site_season",
        sa.Column("submission_id", sa.String(length=64), nullable=False),
        sa.Column("source_row", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("county_code", sa.String(), nullable=False),
        sa.Column("period", sa.String(), nullable=False),
        sa.Column("site_key", sa.BigInteger(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("start_date_key", sa.Integer(), nullable=False),
        sa.Column("end_date_key", sa.Integer(), nullable=False),
        sa.Column("service_days", sa.BigInteger(), nullable=False),
        sa.Column("hours_per_day", sa.Double(), nullable=False),
        sa.Column("meal_subsidy_yuan", sa.Double(), nullable=True),
        sa.Column("children_enrolled", sa.BigInteger(), nullable=False),
        sa.Column("left_behind_children", sa.BigInteger(), nullable=False),
        sa.Column("relocated_children", sa.BigInteger(), nullable=True),
        sa.Column("service_person_times", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["county_code"],
            [f"{prefix}dim_county.county_code"],
            name=op.f("fk_fact_childcare_site_season_county_code_dim_county"),
        ),
        sa.ForeignKeyConstraint(
            ["end_date_key"],
            [f"{prefix}dim_date.date_key"],
            name=op.f("fk_fact_childcare_site_season_end_date_key_dim_date"),
        ),
        sa.ForeignKeyConstraint(
            ["period"],
            [f"{prefix}dim_period.period"],
            name=op.f("fk_fact_childcare_site_season_period_dim_period"),
        ),
        sa.ForeignKeyConstraint(
            ["site_key"],
            [f"{prefix}dim_childcare_site.site_key"],
            name=op.f("fk_fact_childcare_site_season_site_key_dim_childcare_site"),
        ),
        sa.ForeignKeyConstraint(
            ["start_date_key"],
            [f"{prefix}dim_date.date_key"],
            name=op.f("fk_fact_childcare_site_season_start_date_key_dim_date"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            [f"{prefix}audit_submission.submission_id"],
            name=op.f("fk_fact_childcare_site_season_submission_id_audit_submission"),
        ),
        sa.PrimaryKeyConstraint(
            "submission_id", "source_row", name=op.f("pk_fact_childcare_site_season")
        ),
        schema=schema,
    )
    op.create_table(
        "fact_childcare_volunteers",
        sa.Column("submission_id", sa.String(length=64), nullable=False),
        sa.Column("source_row", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("county_code", sa.String(), nullable=False),
        sa.Column("period", sa.String(), nullable=False),
        sa.Column("site_key", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("institution", sa.String(), nullable=True),
        sa.Column("volunteers", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["county_code"],
            [f"{prefix}dim_county.county_code"],
            name=op.f("fk_fact_childcare_volunteers_county_code_dim_county"),
        ),
        sa.ForeignKeyConstraint(
            ["period"],
            [f"{prefix}dim_period.period"],
            name=op.f("fk_fact_childcare_volunteers_period_dim_period"),
        ),
        sa.ForeignKeyConstraint(
            ["site_key"],
            [f"{prefix}dim_childcare_site.site_key"],
            name=op.f("fk_fact_childcare_volunteers_site_key_dim_childcare_site"),
        ),
        sa.ForeignKeyConstraint(
            ["source"],
            [f"{prefix}dim_volunteer_source.source"],
            name=op.f("fk_fact_childcare_volunteers_source_dim_volunteer_source"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            [f"{prefix}audit_submission.submission_id"],
            name=op.f("fk_fact_childcare_volunteers_submission_id_audit_submission"),
        ),
        sa.PrimaryKeyConstraint(
            "submission_id", "source_row", name=op.f("pk_fact_childcare_volunteers")
        ),
        schema=schema,
    )
    op.create_table(
        "fact_health_monthly",
        sa.Column("submission_id", sa.String(length=64), nullable=False),
        sa.Column("source_row", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("county_code", sa.String(), nullable=False),
        sa.Column("period", sa.String(), nullable=False),
        sa.Column("facility_key", sa.BigInteger(), nullable=False),
        sa.Column("department_key", sa.BigInteger(), nullable=False),
        sa.Column("month_date_key", sa.Integer(), nullable=False),
        sa.Column("beds_open", sa.BigInteger(), nullable=False),
        sa.Column("surgeries", sa.BigInteger(), nullable=False),
        sa.Column("interventional_procedures", sa.BigInteger(), nullable=True),
        sa.Column("outpatient_visits", sa.BigInteger(), nullable=True),
        sa.Column("inpatient_admissions", sa.BigInteger(), nullable=True),
        sa.Column("resident_experts", sa.BigInteger(), nullable=True),
        sa.Column("experts_dispatched", sa.BigInteger(), nullable=True),
        sa.Column("visiting_experts", sa.BigInteger(), nullable=True),
        sa.Column("local_surgeons_independent", sa.BigInteger(), nullable=True),
        sa.Column("returned_patients", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["county_code"],
            [f"{prefix}dim_county.county_code"],
            name=op.f("fk_fact_health_monthly_county_code_dim_county"),
        ),
        sa.ForeignKeyConstraint(
            ["department_key"],
            [f"{prefix}dim_department.department_key"],
            name=op.f("fk_fact_health_monthly_department_key_dim_department"),
        ),
        sa.ForeignKeyConstraint(
            ["facility_key"],
            [f"{prefix}dim_health_facility.facility_key"],
            name=op.f("fk_fact_health_monthly_facility_key_dim_health_facility"),
        ),
        sa.ForeignKeyConstraint(
            ["month_date_key"],
            [f"{prefix}dim_date.date_key"],
            name=op.f("fk_fact_health_monthly_month_date_key_dim_date"),
        ),
        sa.ForeignKeyConstraint(
            ["period"],
            [f"{prefix}dim_period.period"],
            name=op.f("fk_fact_health_monthly_period_dim_period"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            [f"{prefix}audit_submission.submission_id"],
            name=op.f("fk_fact_health_monthly_submission_id_audit_submission"),
        ),
        sa.PrimaryKeyConstraint("submission_id", "source_row", name=op.f("pk_fact_health_monthly")),
        schema=schema,
    )
    op.create_table(
        "fact_vocational_enrollment",
        sa.Column("submission_id", sa.String(length=64), nullable=False),
        sa.Column("source_row", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("county_code", sa.String(), nullable=False),
        sa.Column("period", sa.String(), nullable=False),
        sa.Column("school_key", sa.BigInteger(), nullable=False),
        sa.Column("program", sa.String(), nullable=False),
        sa.Column("track", sa.String(), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("enrolled", sa.BigInteger(), nullable=False),
        sa.Column("new_intake", sa.BigInteger(), nullable=False),
        sa.Column("dropouts", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["county_code"],
            [f"{prefix}dim_county.county_code"],
            name=op.f("fk_fact_vocational_enrollment_county_code_dim_county"),
        ),
        sa.ForeignKeyConstraint(
            ["period"],
            [f"{prefix}dim_period.period"],
            name=op.f("fk_fact_vocational_enrollment_period_dim_period"),
        ),
        sa.ForeignKeyConstraint(
            ["school_key"],
            [f"{prefix}dim_school.school_key"],
            name=op.f("fk_fact_vocational_enrollment_school_key_dim_school"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            [f"{prefix}audit_submission.submission_id"],
            name=op.f("fk_fact_vocational_enrollment_submission_id_audit_submission"),
        ),
        sa.ForeignKeyConstraint(
            ["track"],
            [f"{prefix}dim_vocational_track.track"],
            name=op.f("fk_fact_vocational_enrollment_track_dim_vocational_track"),
        ),
        sa.PrimaryKeyConstraint(
            "submission_id", "source_row", name=op.f("pk_fact_vocational_enrollment")
        ),
        schema=schema,
    )
    op.create_table(
        "ref_calendar",
        sa.Column("county_code", sa.String(), nullable=False),
        sa.Column("dataset", sa.String(), nullable=False),
        sa.Column("period", sa.String(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["county_code"],
            [f"{prefix}dim_county.county_code"],
            name=op.f("fk_ref_calendar_county_code_dim_county"),
        ),
        sa.ForeignKeyConstraint(
            ["period"],
            [f"{prefix}dim_period.period"],
            name=op.f("fk_ref_calendar_period_dim_period"),
        ),
        sa.PrimaryKeyConstraint("county_code", "dataset", "period", name=op.f("pk_ref_calendar")),
        schema=schema,
    )


def downgrade() -> None:
    schema = _schema()
    for name in TABLES:
        op.drop_table(name, schema=schema)
    for name in SEQUENCES:
        op.execute(sa.schema.DropSequence(sa.Sequence(name, schema=schema)))
