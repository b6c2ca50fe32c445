"""Alembic migrations: from an empty database, from the baseline with data, from a
warehouse built before migrations existed; migrations and models agree.

The loader writes the current schema only, so a warehouse of an earlier revision holding
real submissions is made by loading the sample at head and migrating down to that
revision (`test_a_downgrade_round_trip_keeps_every_row` shows that keeps every row)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from polars.testing import assert_frame_equal
from sqlalchemy.engine import Engine

from countyflow.transform import transform_submission
from tests.warehouse import builders as b
from tests.warehouse.backends import BACKEND_PARAMS, empty_warehouse_url, sql_name
from tests.warehouse.sample import load_sample
from warehouse import migrate
from warehouse.engine import make_engine
from warehouse.layout import SCHEMAS
from warehouse.load import record_submission
from warehouse.marts import MARTS, VIEWS, read_mart
from warehouse.models import NAMING_CONVENTION, Base, referenced_column
from warehouse.schema import ensure_warehouse


@pytest.fixture(params=BACKEND_PARAMS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with empty_warehouse_url(request.param, tmp_path) as url:
        yield url


def legacy_engine(url: str) -> Engine:
    """An engine that reads and writes the baseline's layout (every table in the default
    schema): the code as it was before the schemas."""
    return make_engine(url, execution_options={"schema_translate_map": dict.fromkeys(SCHEMAS)})


ADDED_AFTER_BASELINE = frozenset({"audit_derived_objects"})  # 0004_derived_objects
LEDGER = Base.metadata.tables["audit_submission"]
SUBMISSION_KEY = LEDGER.c.submission_key
"""Added by 0005_submission_key, whose facts until then named their submission by its id."""
BEFORE_SUBMISSION_KEY = "0004_derived_objects"


def baseline_tables() -> list[sa.Table]:
    """The models' tables that the baseline already had."""
    return [t for t in Base.metadata.sorted_tables if t.name not in ADDED_AFTER_BASELINE]


def _baseline_column(column: sa.Column[Any]) -> sa.Column[Any] | None:
    """`column` as `create_all` built it before migrations: None when added since; a
    fact's reference to its submission was the submission's id (until 0005), and every
    declared reference a foreign key (until 0003_fact_references)."""
    if column is SUBMISSION_KEY:
        return None
    name, type_ = column.name, column.type
    target = referenced_column(column)
    if target is SUBMISSION_KEY:
        target = LEDGER.c.submission_id
        name, type_ = target.name, target.type
    references = [] if target is None else [sa.ForeignKey(f"{target.table.name}.{target.name}")]
    return sa.Column(name, type_, *references, primary_key=column.primary_key,
                     nullable=column.nullable)


def legacy_metadata() -> sa.MetaData:
    """The models as `create_all` built them before migrations (no schemas): the tables
    of `baseline_tables`, their columns as `_baseline_column` says, and their checks,
    unique keys and indexes on the columns they still have."""
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    for table in baseline_tables():
        columns = [c for c in map(_baseline_column, table.columns) if c is not None]
        kept = {c.name for c in columns}
        constraints: list[sa.SchemaItem] = []
        for constraint in table.constraints:
            if isinstance(constraint, sa.CheckConstraint):
                constraints.append(sa.CheckConstraint(constraint.sqltext, name=constraint.name))
            elif (isinstance(constraint, sa.UniqueConstraint)
                  and set(constraint.columns.keys()) <= kept):
                constraints.append(sa.UniqueConstraint(*constraint.columns.keys()))
        constraints += [sa.Index(None, *index.columns.keys(), unique=index.unique)
                        for index in table.indexes]
        sa.Table(table.name, metadata, *columns, *constraints)
    return metadata


def build_at_revision_with_sample(url: str, revision: str) -> None:
    """A warehouse at `revision` holding the sample (see the module docstring)."""
    engine = make_engine(url)
    try:
        ensure_warehouse(engine)
        load_sample(engine)
        with engine.begin() as conn:
            migrate.downgrade(conn, revision)
    finally:
        engine.dispose()


def build_baseline_with_sample(url: str, *, versioned: bool) -> dict[str, int]:
    """A warehouse at the baseline (or, not versioned, as built before Alembic: the same
    tables, no version table), holding the sample and the marts of that time; returns
    its row counts by table."""
    build_at_revision_with_sample(url, migrate.BASELINE)
    engine = legacy_engine(url)
    try:
        with engine.begin() as conn:
            for mart in VIEWS.values():  # the marts lived beside the tables
                conn.exec_driver_sql(
                    f"CREATE OR REPLACE VIEW {mart.name} AS {mart.sql}".replace("%", "%%"))
            if not versioned:
                conn.exec_driver_sql(f"DROP TABLE {migrate.VERSION_TABLE}")
        return counts(engine, baseline_tables())
    finally:
        engine.dispose()


def all_marts(engine: Engine) -> dict[str, pl.DataFrame]:
    return {name: read_mart(engine, name) for name in MARTS}


def counts(engine: Engine, tables: list[sa.Table] | None = None) -> dict[str, int]:
    with engine.connect() as conn:
        return {table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                for table in (Base.metadata.sorted_tables if tables is None else tables)}


def test_upgrade_from_an_empty_database_reaches_head(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        ensure_warehouse(engine)
        with engine.connect() as conn:
            assert migrate.current_revision(conn) == migrate.head_revision() == "0005_submission_key"
        ensure_warehouse(engine)  # nothing pending: a no-op
    finally:
        engine.dispose()


@pytest.mark.parametrize("versioned", [True, False], ids=["from-baseline", "pre-alembic"])
def test_upgrade_keeps_every_row_and_the_marts(
    empty_url: str, versioned: bool, tmp_path: Path
) -> None:
    """Baseline + data → head: every row is kept, and the marts equal those of a warehouse
    built at head and loaded with the same submissions."""
    before = build_baseline_with_sample(empty_url, versioned=versioned)
    assert before["fact_childcare_site_season"] > 0 and before["audit_submission"] > 0
    engine = make_engine(empty_url)
    try:
        ensure_warehouse(engine)
        with engine.connect() as conn:
            assert migrate.current_revision(conn) == migrate.head_revision()
        assert counts(engine, baseline_tables()) == before
        migrated = all_marts(engine)
        backend = engine.dialect.name
    finally:
        engine.dispose()
    with empty_warehouse_url(backend, tmp_path / "fresh") as fresh_url:
        fresh = make_engine(fresh_url)
        try:
            ensure_warehouse(fresh)
            load_sample(fresh)
            expected = all_marts(fresh)
        finally:
            fresh.dispose()
    for name in MARTS:
        assert_frame_equal(migrated[name], expected[name], check_exact=True), name


def test_a_downgrade_round_trip_keeps_every_row(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        ensure_warehouse(engine)
        load_sample(engine)
        before = counts(engine)
        with engine.begin() as conn:
            migrate.downgrade(conn, migrate.BASELINE)
            assert migrate.current_revision(conn) == migrate.BASELINE
        ensure_warehouse(engine)
        assert counts(engine) == before
    finally:
        engine.dispose()


def _facts_by_submission(engine: Engine, keyed: bool) -> dict[str, list[tuple[Any, ...]]]:
    """Every fact row of every fact table with its submission's id: the row's own column
    before 0005_submission_key, through the ledger's key after it (`keyed`)."""
    facts = [t for t in Base.metadata.sorted_tables if t.name.startswith("fact_")]
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        ledger = sql_name(conn, "audit_submission")
        for table in facts:
            others = ", ".join(f'f."{c.name}"' for c in table.columns if c.name != "submission_key")
            source = (f"{sql_name(conn, table.name)} AS f JOIN {ledger} AS s "
                      "ON s.submission_key = f.submission_key" if keyed
                      else f"{sql_name(conn, table.name)} AS f")
            id_column = "s.submission_id" if keyed else "f.submission_id"
            rows[table.name] = sorted(tuple(row) for row in conn.exec_driver_sql(
                f"SELECT {id_column}, {others} FROM {source}"))
    return rows


def _ledger_keys(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            f"SELECT submission_id, submission_key FROM {sql_name(conn, 'audit_submission')}")
        return {submission_id: key for submission_id, key in rows}


def test_upgrade_to_submission_keys_keeps_every_fact_with_its_submission(
    empty_url: str,
) -> None:
    """0004 → 0005 on a warehouse holding submissions: every fact row names the same
    submission through its key as it did by its id; the ledger numbers submissions in the
    order they were first recorded, as the sequence did (a held submission recorded again
    after a later one keeps its place), and the next one recorded gets the next key."""
    engine = make_engine(empty_url)
    try:
        ensure_warehouse(engine)
        load_sample(engine)
        days = b.valid_frame("childcare_daily", [b.attendance("ZY-001", dt.date(2024, 7, 8), 12)])
        held = b.ref("childcare_daily", "2024-summer")
        record_submission(engine, held, b.waiting(days), None)
        b.load(engine, "childcare_volunteers", "2024-summer", [b.volunteer("ZY-001", "school_staff", 2)])
        facts = transform_submission("childcare_daily", days, held)
        assert record_submission(engine, held, b.accepted(days), facts) == "accepted"
        numbered = _ledger_keys(engine)
        assert sorted(numbered.values()) == list(range(1, len(numbered) + 1))
        with engine.begin() as conn:
            migrate.downgrade(conn, BEFORE_SUBMISSION_KEY)

        before = _facts_by_submission(engine, keyed=False)
        assert all(before.values()), {name: len(rows) for name, rows in before.items()}
        with engine.begin() as conn:
            migrate.upgrade(conn, "0005_submission_key")
        assert _facts_by_submission(engine, keyed=True) == before
        assert _ledger_keys(engine) == numbered

        ensure_warehouse(engine)  # and on to head, if there is more
        later, status = b.load(engine, "childcare_daily", "2024-summer",
                               [b.attendance("ZY-002", dt.date(2024, 7, 9), 7)],
                               name="later.csv", modified=b.T0 + dt.timedelta(days=1))
        assert status == "accepted"  # and replaces the held one's facts, found by its key
        assert _ledger_keys(engine)[later.submission_id] == len(numbered) + 1
        daily = [row[0] for row in _facts_by_submission(engine, keyed=True)["fact_childcare_daily"]
                 if row[0] in (held.submission_id, later.submission_id)]
        assert daily == [later.submission_id]
    finally:
        engine.dispose()


def test_upgrade_to_submission_keys_refuses_facts_without_their_submission(
    empty_url: str,
) -> None:
    """A fact row naming a submission the ledger lacks could be given no key: the upgrade
    says so and changes nothing."""
    engine = make_engine(empty_url)
    try:
        with engine.begin() as conn:
            migrate.upgrade(conn, BEFORE_SUBMISSION_KEY)
            conn.exec_driver_sql(
                f"INSERT INTO {sql_name(conn, 'fact_childcare_volunteers')} (submission_id, "
                "source_row, county_code, period, site_key, source, volunteers) "
                f"VALUES ('{'f' * 64}', 2, '530602', '2025-summer', 1, 'school_staff', 3)")
        refused = (r"fact_childcare_volunteers: 1 rows name by submission_id a submission "
                   r"that is not in audit_submission")
        with pytest.raises(RuntimeError, match=refused), engine.begin() as conn:
            migrate.upgrade(conn)
        with engine.connect() as conn:
            assert migrate.current_revision(conn) == BEFORE_SUBMISSION_KEY
    finally:
        engine.dispose()


def test_a_partial_warehouse_is_refused(empty_url: str) -> None:
    engine = legacy_engine(empty_url)
    try:
        with engine.begin() as conn:
            Base.metadata.tables["dim_county"].to_metadata(sa.MetaData(), schema=None).create(conn)
        with pytest.raises(migrate.MigrationError, match="refusing to guess"), engine.begin() as conn:
            migrate.upgrade(conn)
    finally:
        engine.dispose()


# ------------------------------------------------------- migrations agree with the models


@pytest.mark.postgres
def test_models_and_migrations_agree_on_postgresql(empty_url: str) -> None:
    """`alembic check`: autogenerate finds nothing to do at head, and the baseline is
    exactly the schema-less layout `create_all` built before migrations."""
    if not empty_url.startswith("postgresql"):
        pytest.skip("autogenerate cannot reflect DuckDB (duckdb_engine #1391); see the DuckDB test")
    engine = make_engine(empty_url)
    try:
        with engine.begin() as conn:
            migrate.upgrade(conn, migrate.BASELINE)
            conn.exec_driver_sql("SET LOCAL search_path TO public")
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, legacy_metadata()) == []
        ensure_warehouse(engine)
        with engine.begin() as conn:
            assert migrate.compare_with_models(conn) == []
    finally:
        engine.dispose()


_DUCKDB_CATALOG = {
    "columns": "SELECT table_name, column_name, data_type, is_nullable, "
               "replace(column_default, 'main.', '') FROM duckdb_columns() "
               "WHERE NOT internal AND table_name <> 'alembic_version' ORDER BY 1, 2",
    "constraints": "SELECT table_name, constraint_type, constraint_text FROM duckdb_constraints() "
                   "WHERE table_name <> 'alembic_version' ORDER BY 1, 2, 3",
    "indexes": "SELECT table_name, index_name, is_unique, sql FROM duckdb_indexes() ORDER BY 1, 2",
    "sequences": "SELECT sequence_name, start_value, increment_by FROM duckdb_sequences() "
                 "ORDER BY 1",
}


def test_models_and_migrations_agree_on_duckdb(tmp_path: Path) -> None:
    """DuckDB's own catalog after the migrations equals the one `create_all` builds from
    the models (columns, types, nullability, keys, checks, indexes, sequences)."""
    migrated = make_engine(f"duckdb:///{tmp_path / 'migrated.duckdb'}")
    modelled = make_engine(f"duckdb:///{tmp_path / 'modelled.duckdb'}")
    try:
        with migrated.begin() as conn:
            migrate.upgrade(conn)
        with modelled.begin() as conn:
            Base.metadata.create_all(conn)
        for name, query in _DUCKDB_CATALOG.items():
            with migrated.connect() as a, modelled.connect() as b:
                assert a.exec_driver_sql(query).all() == b.exec_driver_sql(query).all(), name
    finally:
        migrated.dispose()
        modelled.dispose()
