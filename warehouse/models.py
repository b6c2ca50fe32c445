"""The star schema: conformed dimensions, facts at the SPEC §4 grains, and the audit ledger.

One model per table, SQLAlchemy 2.0 typed declarative, and the source of truth of the
schema: Alembic migrations (`warehouse/migrations`) are checked against it. Each model
names its schema (`warehouse.layout`): `dw` for dimensions, facts and reference data,
`audit` for the ledger; DuckDB folds them into `main` through the engine's
`schema_translate_map`. Tables are registered in the metadata as `schema.name`, and can
still be looked up by their bare name (`Base.metadata.tables["dim_date"]`): table names
are unique across schemas. The constraint naming convention keeps Alembic autogenerate
stable.

Surrogate keys. DuckDB has no SERIAL/IDENTITY, so:
- dimensions whose members arrive with the data and are versioned (school, childcare
  site, health facility) or grow (department) use one `Sequence` each, with
  `DEFAULT nextval(...)` rendered into the DDL. Both backends support sequences, and a
  server-side default is what set-based `INSERT … SELECT` and `COPY` need: keys are
  assigned by the database, never by Python row by row;
- the ledger identifies a submission by the SHA-256 of its file (`submission_id`, its
  primary key) and also numbers it: `submission_key`, from a sequence when its row is
  first inserted and never changed afterwards;
- everything else has a deterministic key: `dim_date.date_key` = yyyymmdd; the county
  (GB/T 2260 division code), the period label, the vocational track and the volunteer
  source are small, stable codes issued by an authority or the contract, so they are
  their own keys (and also the partition columns every fact carries);
- fact rows are keyed by (submission_key, source_row): unique by construction and
  traceable, through the ledger, to the clerk's own row number in the submitted file.
  The integer, not the 64-character hash, is what facts carry: the bulk load maintains
  the primary-key index for every row it writes, and a narrow key is the cheaper one;
- audit issues by (submission_id, issue_no).

References of facts are declared, not enforced by the database. Every `fact_*` column
that names a dimension member or its submission declares the relationship with
`_fact_reference` (`Column.info["references"]`, read back by `referenced_column`)
instead of a FOREIGN KEY constraint, because:
- per-row referential-integrity triggers were most of the cost of a bulk fact insert on
  PostgreSQL (the 768 k childcare_daily rows of benchmark scale 10: 17 s of
  `INSERT … SELECT` with the facts' foreign keys, 2.6 s without);
- facts have one writer, `warehouse.load`, which guarantees every reference inside its
  transaction before writing a row: dimension keys come from the dimension itself (key
  map, departments), the dates, tracks and sources the rows name are looked up, and a
  row without its member refuses the whole submission; the ledger row, period and
  county are checked once per submission;
- the quality gate (`warehouse.expectations`) still checks every declared reference for
  orphans, as it checked the foreign keys.
Dimensions, reference data and the audit tables keep their foreign keys.

SCD type 2 validity is effective-dated by the business period: a version is valid on
[valid_from, valid_to) where valid_from is the start of the period that reported it and
valid_to is the next version's valid_from (or 9999-12-31 for the current one). This makes
the result independent of the order submissions arrive in (SPEC §5).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.util import FacadeDict

from warehouse.layout import AUDIT, DW

SCD2_OPEN_END = dt.date(9999, 12, 31)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SUBMISSION_STATUSES = ("accepted", "accepted_with_warnings", "rejected", "waiting", "superseded")
ACCEPTED_STATUSES = ("accepted", "accepted_with_warnings")


class _TablesByName(FacadeDict[str, sa.Table]):
    """`MetaData.tables`, where a bare table name also finds its (unique) table."""

    def __missing__(self, key: str) -> sa.Table:
        if "." not in key:
            found = [table for table in self.values() if table.name == key]
            if len(found) == 1:
                return found[0]
        raise KeyError(key)


class WarehouseMetaData(sa.MetaData):
    """MetaData whose `tables` also answer to bare names (see the module docstring)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.tables = _TablesByName()


class Base(DeclarativeBase):
    metadata = WarehouseMetaData(naming_convention=NAMING_CONVENTION)
    # Every model here is mapped to a Table (SQLAlchemy types __table__ as any FromClause);
    # the maintainers' recommended narrowing, sqlalchemy/sqlalchemy#9130.
    __table__: ClassVar[sa.Table]
    __dataset__: ClassVar[str | None] = None
    """The dataset whose facts a fact table holds (None for every other table)."""


def _key_sequence(name: str, schema: str = DW) -> tuple[sa.Sequence, sa.FetchedValue]:
    sequence = sa.Sequence(name, metadata=Base.metadata, schema=schema)
    return sequence, sa.DefaultClause(sequence.next_value())


def _surrogate_key(sequence_name: str) -> Mapped[int]:
    sequence, default = _key_sequence(sequence_name)
    return mapped_column(sa.BigInteger, sequence, server_default=default, primary_key=True)


def _count(nullable: bool = False) -> Mapped[int]:
    return mapped_column(sa.BigInteger, nullable=nullable)


REFERENCES = "references"
"""`Column.info` key of a declared reference without a database constraint (facts)."""


def _fact_reference(
    type_: sa.types.TypeEngine[Any] | type[sa.types.TypeEngine[Any]],
    target: str,
    *,
    primary_key: bool = False,
) -> Mapped[Any]:
    """A fact column referencing `target` (`schema.table.column`), declared in
    `Column.info` and guaranteed by the loader, not by a FOREIGN KEY (module docstring)."""
    return mapped_column(type_, nullable=False, primary_key=primary_key,
                         info={REFERENCES: target})


def referenced_column(column: sa.Column[Any]) -> sa.Column[Any] | None:
    """The column `column` references: its foreign key's target, or the target it
    declares with `_fact_reference`; None when it references nothing."""
    for fk in column.foreign_keys:
        return fk.column
    target = column.info.get(REFERENCES)
    if target is None:
        return None
    table, name = target.rsplit(".", 1)
    return Base.metadata.tables[table].c[name]


def _submission_fk() -> Mapped[str]:
    return mapped_column(
        sa.String(64), sa.ForeignKey(f"{AUDIT}.audit_submission.submission_id"), primary_key=True
    )


def _submission_key() -> Mapped[int]:
    # A server-side default, so the key is the database's: the loader reads it back
    # (RETURNING) from the insert that records the submission.
    sequence, default = _key_sequence("audit_submission_key_seq", schema=AUDIT)
    return mapped_column(sa.BigInteger, sequence, server_default=default, nullable=False,
                         unique=True)


def _fact_submission() -> Mapped[int]:
    return _fact_reference(
        sa.BigInteger, f"{AUDIT}.audit_submission.submission_key", primary_key=True
    )


def _fact_county() -> Mapped[str]:
    return _fact_reference(sa.String, f"{DW}.dim_county.county_code")


def _fact_period() -> Mapped[str]:
    return _fact_reference(sa.String, f"{DW}.dim_period.period")


def _county_fk(primary_key: bool = False) -> Mapped[str]:
    return mapped_column(
        sa.String, sa.ForeignKey(f"{DW}.dim_county.county_code"), nullable=False,
        primary_key=primary_key,
    )


def _county_attribute() -> Mapped[str]:
    # No foreign key on purpose: DuckDB executes an UPDATE of an indexed column (a foreign
    # key is indexed) as delete + insert, which fails for a dimension row facts reference.
    # SCD2 corrections update this column; its values come from accepted submissions.
    return mapped_column(sa.String, nullable=False)


class ScdVersion:
    """The version columns every SCD type 2 dimension ends with (after its attributes)."""

    # sort_order keeps them after the dimension's own columns, as the migrations created them.
    valid_from: Mapped[dt.date] = mapped_column(sa.Date, nullable=False, sort_order=100)
    valid_to: Mapped[dt.date] = mapped_column(sa.Date, nullable=False, sort_order=101)
    is_current: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, sort_order=102)
    is_inferred: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False,
                                              sort_order=103)


def _period_fk(primary_key: bool = False) -> Mapped[str]:
    return mapped_column(
        sa.String, sa.ForeignKey(f"{DW}.dim_period.period"), nullable=False, primary_key=primary_key
    )


# --------------------------------------------------------------------------- dimensions


class DimDate(Base):
    """Calendar dimension. Grain: one calendar day (2015-01-01 … 2035-12-31, extended
    when a submission's period falls outside)."""

    __tablename__ = "dim_date"
    __table_args__ = ({"schema": DW},)

    date_key: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    date: Mapped[dt.date] = mapped_column(sa.Date, unique=True, nullable=False)
    year: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    quarter: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    month: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    day: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    day_of_week: Mapped[int] = mapped_column(sa.Integer, nullable=False)  # ISO: Monday = 1
    is_weekend: Mapped[bool] = mapped_column(sa.Boolean, nullable=False)
    month_label: Mapped[str] = mapped_column(sa.String, nullable=False)  # YYYY-MM
    school_year: Mapped[int] = mapped_column(sa.Integer, nullable=False)  # starts Sep 1
    season: Mapped[str | None] = mapped_column(sa.String)  # YYYY-summer / YYYY-winter


class DimCounty(Base):
    """Reporting unit (SPEC §2). Grain: one county-level unit, keyed by its division code."""

    __tablename__ = "dim_county"
    __table_args__ = ({"schema": DW},)

    county_code: Mapped[str] = mapped_column(sa.String, primary_key=True)
    county_name: Mapped[str] = mapped_column(sa.String, nullable=False)  # 昭阳区
    short_name: Mapped[str] = mapped_column(sa.String, nullable=False)
    pinyin: Mapped[str] = mapped_column(sa.String, nullable=False)
    city_code: Mapped[str] = mapped_column(sa.String, nullable=False)
    city_name: Mapped[str] = mapped_column(sa.String, nullable=False)


class DimPeriod(Base):
    """Reporting period (school year, summer/winter break, month). Grain: one period label."""

    __tablename__ = "dim_period"
    __table_args__ = ({"schema": DW},)

    period: Mapped[str] = mapped_column(sa.String, primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String, nullable=False)
    year: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    start_date: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    end_date: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    prev_year_period: Mapped[str] = mapped_column(sa.String, nullable=False)


class DimSchool(ScdVersion, Base):
    """Vocational school, SCD type 2. Grain: one version of one school (school_code ×
    valid_from); a change of name or county opens a new version."""

    __tablename__ = "dim_school"
    __table_args__ = (sa.UniqueConstraint("school_code", "valid_from"), {"schema": DW})

    school_key: Mapped[int] = _surrogate_key("dim_school_key_seq")
    school_code: Mapped[str] = mapped_column(sa.String, nullable=False)
    school_name: Mapped[str | None] = mapped_column(sa.String)
    county_code: Mapped[str] = _county_attribute()


class DimChildcareSite(ScdVersion, Base):
    """Holiday childcare site, SCD type 2. Grain: one version of one site (site_code ×
    valid_from); a change of name, host type, county or township opens a new version.
    `is_inferred` marks a member created from a reference (daily attendance, volunteers)
    before its registry row was seen; the registry later fills it in."""

    __tablename__ = "dim_childcare_site"
    __table_args__ = (sa.UniqueConstraint("site_code", "valid_from"), {"schema": DW})

    site_key: Mapped[int] = _surrogate_key("dim_childcare_site_key_seq")
    site_code: Mapped[str] = mapped_column(sa.String, nullable=False)
    site_name: Mapped[str | None] = mapped_column(sa.String)
    host_type: Mapped[str | None] = mapped_column(sa.String)
    township: Mapped[str | None] = mapped_column(sa.String)
    county_code: Mapped[str] = _county_attribute()


class DimHealthFacility(ScdVersion, Base):
    """Health facility, SCD type 2. Grain: one version of one facility (facility_code ×
    valid_from); a change of name or county opens a new version."""

    __tablename__ = "dim_health_facility"
    __table_args__ = (sa.UniqueConstraint("facility_code", "valid_from"), {"schema": DW})

    facility_key: Mapped[int] = _surrogate_key("dim_health_facility_key_seq")
    facility_code: Mapped[str] = mapped_column(sa.String, nullable=False)
    facility_name: Mapped[str | None] = mapped_column(sa.String)
    county_code: Mapped[str] = _county_attribute()


class DimDepartment(Base):
    """Cardiovascular department / sub-specialty group. Grain: one canonical department
    name. Seeded from reference/departments.csv (group internal/surgical); a department
    first seen in a submission is added with group 'unknown'."""

    __tablename__ = "dim_department"
    __table_args__ = ({"schema": DW},)

    department_key: Mapped[int] = _surrogate_key("dim_department_key_seq")
    department: Mapped[str] = mapped_column(sa.String, unique=True, nullable=False)
    department_group: Mapped[str] = mapped_column(sa.String, nullable=False)
    is_reference: Mapped[bool] = mapped_column(sa.Boolean, nullable=False)


class DimVocationalTrack(Base):
    """Vocational pathway (中职, 综合高中班, 普高班, 3+2, 3+4). Grain: one canonical track
    value of the vocational_enrollment contract."""

    __tablename__ = "dim_vocational_track"
    __table_args__ = ({"schema": DW},)

    track: Mapped[str] = mapped_column(sa.String, primary_key=True)
    label_zh: Mapped[str] = mapped_column(sa.String, nullable=False)


class DimVolunteerSource(Base):
    """Where childcare volunteers come from. Grain: one canonical source value of the
    childcare_volunteers contract."""

    __tablename__ = "dim_volunteer_source"
    __table_args__ = ({"schema": DW},)

    source: Mapped[str] = mapped_column(sa.String, primary_key=True)
    label_zh: Mapped[str] = mapped_column(sa.String, nullable=False)
    is_university: Mapped[bool] = mapped_column(sa.Boolean, nullable=False)


class RefCalendar(Base):
    """Submission calendar (reference data). Grain: one expected partition
    (county × dataset × period) with its inclusive due date."""

    __tablename__ = "ref_calendar"
    __table_args__ = ({"schema": DW},)

    county_code: Mapped[str] = _county_fk(primary_key=True)
    dataset: Mapped[str] = mapped_column(sa.String, primary_key=True)
    period: Mapped[str] = _period_fk(primary_key=True)
    due_date: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)


# ---------------------------------------------------------------------------------- audit


class AuditSubmission(Base):
    """The submission ledger. Grain: one submitted file, identified by the SHA-256 of its
    bytes (`submission_id`) and numbered by `submission_key`, which its fact rows carry
    (assigned by a sequence when the row is first inserted; re-recording a `waiting`
    submission keeps it). Timestamps are UTC (naive). Conservation is enforced by a CHECK
    constraint."""

    __tablename__ = "audit_submission"
    __table_args__ = (
        sa.CheckConstraint(
            "rows_in = rows_loaded + rows_rejected + rows_held", name="rows_conserved"
        ),
        sa.CheckConstraint(
            "rows_in >= 0 AND rows_loaded >= 0 AND rows_rejected >= 0 AND rows_held >= 0",
            name="rows_non_negative",
        ),
        sa.CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in SUBMISSION_STATUSES) + ")",
            name="status_known",
        ),
        sa.Index(None, "county_code", "dataset", "period"),
        {"schema": AUDIT},
    )

    submission_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    submission_key: Mapped[int] = _submission_key()
    county_code: Mapped[str] = mapped_column(sa.String, nullable=False)
    dataset: Mapped[str] = mapped_column(sa.String, nullable=False)
    period: Mapped[str] = mapped_column(sa.String, nullable=False)
    file_name: Mapped[str] = mapped_column(sa.String, nullable=False)
    extension: Mapped[str] = mapped_column(sa.String, nullable=False)
    relative_path: Mapped[str] = mapped_column(sa.String, nullable=False)
    source_url: Mapped[str] = mapped_column(sa.String, nullable=False)
    archive_path: Mapped[str] = mapped_column(sa.String, nullable=False)
    path_error: Mapped[str | None] = mapped_column(sa.String)
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    modified_at: Mapped[dt.datetime] = mapped_column(sa.DateTime, nullable=False)
    first_seen_at: Mapped[dt.datetime] = mapped_column(sa.DateTime, nullable=False)
    processed_at: Mapped[dt.datetime] = mapped_column(sa.DateTime, nullable=False)
    status: Mapped[str] = mapped_column(sa.String, nullable=False)
    rows_in: Mapped[int] = _count()
    rows_loaded: Mapped[int] = _count()
    rows_rejected: Mapped[int] = _count()
    rows_held: Mapped[int] = _count()
    errors: Mapped[int] = _count()
    warnings: Mapped[int] = _count()
    superseded_by: Mapped[str | None] = mapped_column(sa.String(64))
    report_path: Mapped[str | None] = mapped_column(sa.String)


class AuditIssue(Base):
    """Issues found in submissions. Grain: one issue of one submission (ISSUE_SCHEMA +
    submission_id); `issue_no` is its position in the submission's issue list.

    At most COUNTYFLOW_MAX_ISSUE_ROWS_PER_RULE issues per rule × column are stored; the rest
    are one summary row of that rule × column: `source_row` null, `value` the count K
    (`CAST(value AS BIGINT)`), `message_en` `and K more rows not listed (rows a–b)`.
    The exact totals are `audit_submission.errors` / `warnings`. Values are masked
    (phone and ID-card numbers) and clipped (`countyflow.ingest.limits`)."""

    __tablename__ = "audit_issue"
    __table_args__ = ({"schema": AUDIT},)

    submission_id: Mapped[str] = _submission_fk()
    issue_no: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    source_row: Mapped[int | None] = mapped_column(sa.BigInteger)
    column: Mapped[str | None] = mapped_column(sa.String)
    value: Mapped[str | None] = mapped_column(sa.String)
    rule: Mapped[str] = mapped_column(sa.String, nullable=False)
    severity: Mapped[str] = mapped_column(sa.String, nullable=False)
    message_zh: Mapped[str | None] = mapped_column(sa.String)
    message_en: Mapped[str | None] = mapped_column(sa.String)


class AuditDerivedObjects(Base):
    """What the warehouse's derived objects were last built from. Grain: one set of derived
    objects (`mart_views`: every view of `warehouse.marts`); `fingerprint` is the SHA-256 of
    their definitions and comments as created on this backend.

    `ensure_warehouse` recreates the views only when the fingerprint differs or a view is
    missing: replacing a view takes an exclusive lock on it (PostgreSQL), so a run that
    changes nothing must not wait behind a BI query reading a mart, nor make the next one
    wait behind it."""

    __tablename__ = "audit_derived_objects"
    __table_args__ = ({"schema": AUDIT},)

    name: Mapped[str] = mapped_column(sa.String, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime, nullable=False)


# ---------------------------------------------------------------------------------- facts
# Every fact row: submission_key + source_row (key; traceable through the ledger to the
# file and its row), county_code + period (the partition), dimension keys, measures.
# Only the current accepted submission of a partition has facts: supersession deletes
# the older one's rows in the same transaction.
# References are declared without FOREIGN KEY constraints (`_fact_reference`, module
# docstring): the loader guarantees them, the quality gate checks them.


class FactVocationalEnrollment(Base):
    """Vocational enrolment. Grain: school × program × track × grade, per school year
    (one row per row of the county's submission)."""

    __dataset__ = "vocational_enrollment"
    __tablename__ = "fact_vocational_enrollment"
    __table_args__ = ({"schema": DW},)

    submission_key: Mapped[int] = _fact_submission()
    source_row: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    county_code: Mapped[str] = _fact_county()
    period: Mapped[str] = _fact_period()
    school_key: Mapped[int] = _fact_reference(sa.BigInteger, f"{DW}.dim_school.school_key")
    program: Mapped[str] = mapped_column(sa.String, nullable=False)  # degenerate dimension
    track: Mapped[str] = _fact_reference(sa.String, f"{DW}.dim_vocational_track.track")
    grade: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    enrolled: Mapped[int] = _count()
    new_intake: Mapped[int] = _count()
    dropouts: Mapped[int] = _count()


class FactChildcareSiteSeason(Base):
    """Childcare site registry facts. Grain: site × season."""

    __dataset__ = "childcare_sites"
    __tablename__ = "fact_childcare_site_season"
    __table_args__ = ({"schema": DW},)

    submission_key: Mapped[int] = _fact_submission()
    source_row: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    county_code: Mapped[str] = _fact_county()
    period: Mapped[str] = _fact_period()
    site_key: Mapped[int] = _fact_reference(sa.BigInteger, f"{DW}.dim_childcare_site.site_key")
    start_date: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    end_date: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    start_date_key: Mapped[int] = _fact_reference(sa.Integer, f"{DW}.dim_date.date_key")
    end_date_key: Mapped[int] = _fact_reference(sa.Integer, f"{DW}.dim_date.date_key")
    service_days: Mapped[int] = _count()
    hours_per_day: Mapped[float] = mapped_column(sa.Double, nullable=False)
    meal_subsidy_yuan: Mapped[float | None] = mapped_column(sa.Double)
    children_enrolled: Mapped[int] = _count()
    left_behind_children: Mapped[int] = _count()
    relocated_children: Mapped[int | None] = _count(nullable=True)
    service_person_times: Mapped[int | None] = _count(nullable=True)


class FactChildcareDaily(Base):
    """Daily attendance at childcare sites. Grain: site × date."""

    __dataset__ = "childcare_daily"
    __tablename__ = "fact_childcare_daily"
    __table_args__ = ({"schema": DW},)

    submission_key: Mapped[int] = _fact_submission()
    source_row: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    county_code: Mapped[str] = _fact_county()
    period: Mapped[str] = _fact_period()
    site_key: Mapped[int] = _fact_reference(sa.BigInteger, f"{DW}.dim_childcare_site.site_key")
    date: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    date_key: Mapped[int] = _fact_reference(sa.Integer, f"{DW}.dim_date.date_key")
    children_present: Mapped[int] = _count()
    volunteers_on_duty: Mapped[int | None] = _count(nullable=True)
    meals_served: Mapped[int | None] = _count(nullable=True)


class FactChildcareVolunteers(Base):
    """Volunteers at childcare sites. Grain: site × volunteer source × institution, per
    season."""

    __dataset__ = "childcare_volunteers"
    __tablename__ = "fact_childcare_volunteers"
    __table_args__ = ({"schema": DW},)

    submission_key: Mapped[int] = _fact_submission()
    source_row: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    county_code: Mapped[str] = _fact_county()
    period: Mapped[str] = _fact_period()
    site_key: Mapped[int] = _fact_reference(sa.BigInteger, f"{DW}.dim_childcare_site.site_key")
    source: Mapped[str] = _fact_reference(sa.String, f"{DW}.dim_volunteer_source.source")
    institution: Mapped[str | None] = mapped_column(sa.String)  # degenerate dimension
    volunteers: Mapped[int] = _count()


class FactHealthMonthly(Base):
    """Specialist services. Grain: facility × department × month."""

    __dataset__ = "health_monthly"
    __tablename__ = "fact_health_monthly"
    __table_args__ = ({"schema": DW},)

    submission_key: Mapped[int] = _fact_submission()
    source_row: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    county_code: Mapped[str] = _fact_county()
    period: Mapped[str] = _fact_period()
    facility_key: Mapped[int] = _fact_reference(
        sa.BigInteger, f"{DW}.dim_health_facility.facility_key"
    )
    department_key: Mapped[int] = _fact_reference(
        sa.BigInteger, f"{DW}.dim_department.department_key"
    )
    month_date_key: Mapped[int] = _fact_reference(sa.Integer, f"{DW}.dim_date.date_key")
    beds_open: Mapped[int] = _count()
    surgeries: Mapped[int] = _count()
    interventional_procedures: Mapped[int | None] = _count(nullable=True)
    outpatient_visits: Mapped[int | None] = _count(nullable=True)
    inpatient_admissions: Mapped[int | None] = _count(nullable=True)
    resident_experts: Mapped[int | None] = _count(nullable=True)
    experts_dispatched: Mapped[int | None] = _count(nullable=True)
    visiting_experts: Mapped[int | None] = _count(nullable=True)
    local_surgeons_independent: Mapped[int | None] = _count(nullable=True)
    returned_patients: Mapped[int | None] = _count(nullable=True)


FACT_MODELS: dict[str, type[Base]] = {
    model.__dataset__: model for model in Base.__subclasses__() if model.__dataset__ is not None
}
"""The fact table of each dataset, found by looking: a fact model names its dataset
(`__dataset__`), so adding a dataset adds a model, not a line here."""
