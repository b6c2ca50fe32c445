"""Facts name their submission by an integer key of the ledger, not by its hash.

Revision ID: 0005_submission_key
Revises: 0004_derived_objects
Create Date: 2026-12-08

Every fact row carried `submission_id`, the 64-character SHA-256 of its file, as the first
column of its primary key. Since issue 15 item 2 facts are COPYed straight into their
table, and maintaining that key is what is left of the load's cost; in psql the same
binary COPY was ~1.5 × faster with a `bigint` submission key (BENCHMARKS.md).

- `audit_submission` gets `submission_key` BIGINT NOT NULL UNIQUE, whose default is the
  sequence `audit_submission_key_seq`. Existing submissions are numbered 1…n in the order
  their rows were first inserted, as the sequence would have numbered them
  (`first_seen_at`, not `processed_at`, which a held submission's later recording moved;
  then `submission_id`: the same numbers on every copy of a warehouse), and the sequence
  goes on from n + 1. `submission_id` stays the
  ledger's primary key, and `audit_issue` keeps naming submissions by it.
- Each fact table gets the key of its rows' submission, found through the ledger, in
  place of `submission_id`; its primary key becomes (submission_key, source_row). A fact
  row whose submission is not in the ledger stops the upgrade: it could not be given a
  key (the quality gate reports such rows as `….submission_id.in_audit_submission`).

PostgreSQL alters the tables in place, so grants, row-level security and policies stay
(the new columns come last); the UPDATE that fills a fact table's key writes a new version
of each of its rows, which VACUUM reclaims. A view reading a dropped column is dropped
with it (on downgrade: mart_submission_status reads every ledger column) and recreated by
`ensure_warehouse` (in the same transaction, when it is what migrates). DuckDB cannot change the constraints of a table (nor add a NOT NULL column
with a sequence's default to one another table references), so the ledger and each fact
table are rebuilt from frozen copies of their columns below, as in 0003_fact_references;
the ledger's issues are set aside and put back around it, their foreign key pinning it.
Downgrade does the reverse on both: the facts get their submission's hash back from the
ledger, then the ledger loses its key and the sequence.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from warehouse.backends import backend_of

revision: str = "0005_submission_key"
down_revision: str | Sequence[str] | None = "0004_derived_objects"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DW, _AUDIT = "dw", "audit"
_LEDGER, _ISSUES = "audit_submission", "audit_issue"
_SEQUENCE = "audit_submission_key_seq"
_KEY, _ID = "submission_key", "submission_id"
_NUMBERED = "row_number() OVER (ORDER BY first_seen_at, submission_id)"
"""The key of each submission already in the ledger: deterministic, as the docstring says."""

_S, _B, _I, _D, _F, _T = sa.String, sa.BigInteger, sa.Integer, sa.Date, sa.Double, sa.DateTime
Columns = tuple[tuple[str, sa.types.TypeEngine, bool], ...]  # name, type, nullable

# Frozen copies (DuckDB rebuilds) of the tables as of this revision, without the column
# that names the submission (`submission_id` before, `submission_key` after).
LEDGER: Columns = (
    ("county_code", _S(), False), ("dataset", _S(), False), ("period", _S(), False),
    ("file_name", _S(), False), ("extension", _S(), False), ("relative_path", _S(), False),
    ("source_url", _S(), False), ("archive_path", _S(), False), ("path_error", _S(), True),
    ("size_bytes", _B(), False), ("modified_at", _T(), False), ("first_seen_at", _T(), False),
    ("processed_at", _T(), False), ("status", _S(), False), ("rows_in", _B(), False),
    ("rows_loaded", _B(), False), ("rows_rejected", _B(), False), ("rows_held", _B(), False),
    ("errors", _B(), False), ("warnings", _B(), False), ("superseded_by", _S(length=64), True),
    ("report_path", _S(), True),
)
LEDGER_CHECKS = {  # name: condition, as the baseline created them
    "status_known":
        "status IN ('accepted', 'accepted_with_warnings', 'rejected', 'waiting', 'superseded')",
    "rows_conserved": "rows_in = rows_loaded + rows_rejected + rows_held",
    "rows_non_negative":
        "rows_in >= 0 AND rows_loaded >= 0 AND rows_rejected >= 0 AND rows_held >= 0",
}
LEDGER_INDEX = ("county_code", "dataset", "period")
ISSUES: Columns = (
    ("submission_id", _S(length=64), False), ("issue_no", _I(), False),
    ("source_row", _B(), True), ("column", _S(), True), ("value", _S(), True),
    ("rule", _S(), False), ("severity", _S(), False), ("message_zh", _S(), True),
    ("message_en", _S(), True),
)
_PARTITION: Columns = (("source_row", _B(), False), ("county_code", _S(), False),
                       ("period", _S(), False))
FACTS: dict[str, Columns] = {
    "fact_vocational_enrollment": (
        *_PARTITION, ("school_key", _B(), False), ("program", _S(), False),
        ("track", _S(), False), ("grade", _I(), False), ("enrolled", _B(), False),
        ("new_intake", _B(), False), ("dropouts", _B(), False),
    ),
    "fact_childcare_site_season": (
        *_PARTITION, ("site_key", _B(), False), ("start_date", _D(), False),
        ("end_date", _D(), False), ("start_date_key", _I(), False),
        ("end_date_key", _I(), False), ("service_days", _B(), False),
        ("hours_per_day", _F(), False), ("meal_subsidy_yuan", _F(), True),
        ("children_enrolled", _B(), False), ("left_behind_children", _B(), False),
        ("relocated_children", _B(), True), ("service_person_times", _B(), True),
    ),
    "fact_childcare_daily": (
        *_PARTITION, ("site_key", _B(), False), ("date", _D(), False), ("date_key", _I(), False),
        ("children_present", _B(), False), ("volunteers_on_duty", _B(), True),
        ("meals_served", _B(), True),
    ),
    "fact_childcare_volunteers": (
        *_PARTITION, ("site_key", _B(), False), ("source", _S(), False),
        ("institution", _S(), True), ("volunteers", _B(), False),
    ),
    "fact_health_monthly": (
        *_PARTITION, ("facility_key", _B(), False), ("department_key", _B(), False),
        ("month_date_key", _I(), False), ("beds_open", _B(), False), ("surgeries", _B(), False),
        *((name, _B(), True) for name in (
            "interventional_procedures", "outpatient_visits", "inpatient_admissions",
            "resident_experts", "experts_dispatched", "visiting_experts",
            "local_surgeons_independent", "returned_patients",
        )),
    ),
}


def _submission_column(keyed: bool) -> tuple[str, sa.types.TypeEngine]:
    """The fact column naming a row's submission: the ledger's key, or (before) its hash."""
    return (_KEY, _B()) if keyed else (_ID, _S(length=64))


def _rebuilds() -> bool:
    """The backend cannot change an existing table's constraints (DuckDB): it is rebuilt."""
    return not backend_of(op.get_bind()).alters_constraints


def _name(schema: str, table: str) -> str:
    """`table` as SQL written here names it (DuckDB folds the schemas into `main`)."""
    return table if backend_of(op.get_bind()).folds_schemas else f"{schema}.{table}"


def _listed(names: Sequence[str], alias: str = "") -> str:
    return ", ".join(f'{alias}"{name}"' for name in names)


def _count(sql: str) -> int:
    return int(op.get_bind().exec_driver_sql(sql).scalar_one())


def _sequence(start: int | None = None) -> sa.Sequence:
    return sa.Sequence(_SEQUENCE, schema=_AUDIT, start=start)


def _refuse_orphans(table: str, by: str) -> None:
    """Stop when a row of fact `table` names (`by`) a submission the ledger does not have:
    it would have no value for the other column."""
    orphans = _count(
        f"SELECT count(*) FROM {_name(_DW, table)} AS f WHERE NOT EXISTS "
        f"(SELECT 1 FROM {_name(_AUDIT, _LEDGER)} AS s WHERE s.{by} = f.{by})")
    if orphans:
        raise RuntimeError(
            f"{table}: {orphans} rows name by {by} a submission that is not in {_LEDGER}; "
            f"the migration cannot carry them over (delete them, or restore their ledger rows)")


# ------------------------------------------------------------------ PostgreSQL: in place


def _drop_views_reading(schema: str, table: str, column: str) -> None:
    """Drop the views that read `column`, and those built on them: PostgreSQL drops no
    column a view reads, and a view selecting `a.*` (mart_submission_status, of the ledger)
    reads every column there was. `ensure_warehouse` recreates the missing mart views, in
    the transaction that migrates, with the access the others have."""
    views = op.get_bind().exec_driver_sql(
        "SELECT DISTINCT r.ev_class::regclass::text FROM pg_depend AS d "
        "JOIN pg_rewrite AS r ON r.oid = d.objid "
        "JOIN pg_attribute AS a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
        "WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = %(table)s::regclass "
        "AND a.attname = %(column)s AND r.ev_class <> d.refobjid",
        {"table": f"{schema}.{table}", "column": column},
    ).scalars().all()
    for view in views:  # names as the catalog quotes them
        op.execute(f"DROP VIEW IF EXISTS {view} CASCADE")


def _rekey_fact_in_place(table: str, *, keyed: bool) -> None:
    """Fact `table` names its rows' submission by the ledger's key (`keyed`) or its hash,
    taken from the ledger; its primary key is (that column, source_row)."""
    new, new_type = _submission_column(keyed)
    old, _ = _submission_column(not keyed)
    _refuse_orphans(table, old)
    # The key is dropped first so the UPDATE below does not maintain its index.
    op.drop_constraint(op.f(f"pk_{table}"), table, schema=_DW, type_="primary")
    op.add_column(table, sa.Column(new, new_type), schema=_DW)
    op.execute(f"UPDATE {_name(_DW, table)} AS f SET {new} = s.{new} "
               f"FROM {_name(_AUDIT, _LEDGER)} AS s WHERE s.{old} = f.{old}")
    op.alter_column(table, new, nullable=False, schema=_DW)
    _drop_views_reading(_DW, table, old)
    op.drop_column(table, old, schema=_DW)
    op.create_primary_key(op.f(f"pk_{table}"), table, [new, "source_row"], schema=_DW)


def _key_ledger_in_place() -> None:
    ledger = _name(_AUDIT, _LEDGER)
    op.execute(sa.schema.CreateSequence(_sequence(start=_count(f"SELECT count(*) FROM {ledger}") + 1)))
    op.add_column(_LEDGER, sa.Column(_KEY, _B()), schema=_AUDIT)
    op.execute(f"UPDATE {ledger} AS a SET {_KEY} = n.key FROM "
               f"(SELECT {_ID}, {_NUMBERED} AS key FROM {ledger}) AS n WHERE n.{_ID} = a.{_ID}")
    op.alter_column(_LEDGER, _KEY, nullable=False, schema=_AUDIT,
                    server_default=sa.DefaultClause(_sequence().next_value()))
    op.create_unique_constraint(op.f(f"uq_{_LEDGER}_{_KEY}"), _LEDGER, [_KEY], schema=_AUDIT)


def _unkey_ledger_in_place() -> None:
    op.drop_constraint(op.f(f"uq_{_LEDGER}_{_KEY}"), _LEDGER, schema=_AUDIT, type_="unique")
    _drop_views_reading(_AUDIT, _LEDGER, _KEY)
    op.drop_column(_LEDGER, _KEY, schema=_AUDIT)
    op.execute(sa.schema.DropSequence(_sequence()))


# ---------------------------------------------------------------------- DuckDB: rebuilt


def _create_ledger(*, keyed: bool) -> None:
    key = [sa.Column(_KEY, _B(), server_default=sa.DefaultClause(_sequence().next_value()),
                     nullable=False)] if keyed else []
    op.create_table(
        _LEDGER,
        sa.Column(_ID, _S(length=64), nullable=False),
        *key,
        *(sa.Column(name, type_, nullable=nullable) for name, type_, nullable in LEDGER),
        *(sa.CheckConstraint(condition, name=op.f(f"ck_{_LEDGER}_{name}"))
          for name, condition in LEDGER_CHECKS.items()),
        sa.PrimaryKeyConstraint(_ID, name=op.f(f"pk_{_LEDGER}")),
        *([sa.UniqueConstraint(_KEY, name=op.f(f"uq_{_LEDGER}_{_KEY}"))] if keyed else []),
        schema=_AUDIT,
    )
    # Before any row: DuckDB cannot index a table with changes outstanding in the transaction.
    op.create_index(op.f(f"ix_{_LEDGER}_{'_'.join(LEDGER_INDEX)}"), _LEDGER, list(LEDGER_INDEX),
                    schema=_AUDIT)


def _rebuild_ledger_on_duckdb(*, keyed: bool) -> None:
    """Recreate the ledger with or without `submission_key`, keeping its rows, and its
    issues: DuckDB drops no table another references, so they are set aside first."""
    issues = [name for name, _, _ in ISSUES]
    op.execute(f"CREATE TABLE {_ISSUES}__keep AS SELECT * FROM {_ISSUES}")
    op.execute(f"DROP TABLE {_ISSUES}")
    op.execute(f"CREATE TABLE {_LEDGER}__keep AS SELECT * FROM {_LEDGER}")
    op.execute(f"DROP TABLE {_LEDGER}")
    columns = [_ID, *(name for name, _, _ in LEDGER)]
    if keyed:
        start = _count(f"SELECT count(*) FROM {_LEDGER}__keep") + 1
        op.execute(sa.schema.CreateSequence(_sequence(start=start)))
        _create_ledger(keyed=True)
        op.execute(f"INSERT INTO {_LEDGER} ({_KEY}, {_listed(columns)}) "
                   f"SELECT {_NUMBERED}, {_listed(columns)} FROM {_LEDGER}__keep")
    else:
        op.execute(sa.schema.DropSequence(_sequence()))  # its table's default is gone
        _create_ledger(keyed=False)
        op.execute(f"INSERT INTO {_LEDGER} ({_listed(columns)}) "
                   f"SELECT {_listed(columns)} FROM {_LEDGER}__keep")
    op.execute(f"DROP TABLE {_LEDGER}__keep")
    op.create_table(
        _ISSUES,
        *(sa.Column(name, type_, nullable=nullable, autoincrement=False if name == "issue_no"
                    else "auto") for name, type_, nullable in ISSUES),
        sa.ForeignKeyConstraint([_ID], [f"{_AUDIT}.{_LEDGER}.{_ID}"],
                                name=op.f(f"fk_{_ISSUES}_{_ID}_{_LEDGER}")),
        sa.PrimaryKeyConstraint(_ID, "issue_no", name=op.f(f"pk_{_ISSUES}")),
        schema=_AUDIT,
    )
    op.execute(f"INSERT INTO {_ISSUES} ({_listed(issues)}) "
               f"SELECT {_listed(issues)} FROM {_ISSUES}__keep")
    op.execute(f"DROP TABLE {_ISSUES}__keep")


def _rebuild_fact_on_duckdb(table: str, *, keyed: bool) -> None:
    """Recreate fact `table` naming its rows' submission by the ledger's key (`keyed`) or
    its hash, taken from the ledger; its other columns and rows are kept."""
    new, new_type = _submission_column(keyed)
    old, _ = _submission_column(not keyed)
    _refuse_orphans(table, old)
    keep = f"{table}__keep"
    op.execute(f"ALTER TABLE {table} RENAME TO {keep}")  # nothing references a fact table
    op.create_table(
        table,
        sa.Column(new, new_type, nullable=False, autoincrement=False),
        *(sa.Column(name, type_, nullable=nullable, autoincrement=False if name == "source_row"
                    else "auto") for name, type_, nullable in FACTS[table]),
        sa.PrimaryKeyConstraint(new, "source_row", name=op.f(f"pk_{table}")),
        schema=_DW,
    )
    columns = [name for name, _, _ in FACTS[table]]
    op.execute(f"INSERT INTO {table} ({_listed([new, *columns])}) "
               f"SELECT s.{new}, {_listed(columns, 'f.')} FROM {keep} AS f "
               f"JOIN {_LEDGER} AS s ON s.{old} = f.{old}")
    op.execute(f"DROP TABLE {keep}")


# ---------------------------------------------------------------------------------- steps


def upgrade() -> None:
    if _rebuilds():
        _rebuild_ledger_on_duckdb(keyed=True)
    else:
        _key_ledger_in_place()
    for table in FACTS:
        if _rebuilds():
            _rebuild_fact_on_duckdb(table, keyed=True)
        else:
            _rekey_fact_in_place(table, keyed=True)


def downgrade() -> None:
    for table in FACTS:  # while the ledger still has both columns
        if _rebuilds():
            _rebuild_fact_on_duckdb(table, keyed=False)
        else:
            _rekey_fact_in_place(table, keyed=False)
    if _rebuilds():
        _rebuild_ledger_on_duckdb(keyed=False)
    else:
        _unkey_ledger_in_place()
