"""Alembic migrations: from an empty database, from the baseline with data, from a
warehouse built before migrations existed; migrations and models agree."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from polars.testing import assert_frame_equal
from sqlalchemy.engine import Engine

from tests.warehouse.backends import BACKEND_PARAMS, empty_warehouse_url
from tests.warehouse.sample import load_sample
from warehouse import migrate
from warehouse.engine import make_engine
from warehouse.layout import SCHEMAS
from warehouse.marts import MARTS, VIEWS, read_mart
from warehouse.models import NAMING_CONVENTION, Base, referenced_column
from warehouse.schema import ensure_warehouse, sync_reference_data


@pytest.fixture(params=BACKEND_PARAMS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with empty_warehouse_url(request.param, tmp_path) as url:
        yield url


def legacy_engine(url: str) -> Engine:
    """An engine that reads and writes the baseline's layout (every table in the default
    schema): the code as it was before the schemas."""
    return make_engine(url, execution_options={"schema_translate_map": dict.fromkeys(SCHEMAS)})


ADDED_AFTER_BASELINE = frozenset({"audit_derived_objects"})  # 0004_derived_objects


def baseline_tables() -> list[sa.Table]:
    """The models' tables that the baseline already had."""
    return [t for t in Base.metadata.sorted_tables if t.name not in ADDED_AFTER_BASELINE]


def legacy_metadata() -> sa.MetaData:
    """The models as `create_all` built them before migrations: no schemas, and the facts'
    declared references still foreign keys (until 0003_fact_references)."""
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    for table in baseline_tables():
        legacy = table.to_metadata(metadata, schema=None,
                                   referred_schema_fn=lambda *_: sa.schema.BLANK_SCHEMA)
        for column in table.columns:
            target = referenced_column(column)
            if target is not None and not column.foreign_keys:
                legacy.append_constraint(sa.ForeignKeyConstraint(
                    [column.name], [f"{target.table.name}.{target.name}"]))
    return metadata


def build_baseline_with_sample(url: str, *, versioned: bool) -> dict[str, int]:
    """A warehouse at the baseline (or, not versioned, as built before Alembic: the same
    tables, no version table), holding the sample and the marts of that time; returns
    its row counts by table."""
    engine = legacy_engine(url)
    try:
        with engine.begin() as conn:
            migrate.upgrade(conn, migrate.BASELINE)
            sync_reference_data(conn)
            for mart in VIEWS.values():  # the marts lived beside the tables
                conn.exec_driver_sql(f"CREATE VIEW {mart.name} AS {mart.sql}".replace("%", "%%"))
            if not versioned:
                conn.exec_driver_sql(f"DROP TABLE {migrate.VERSION_TABLE}")
        load_sample(engine)
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
            assert migrate.current_revision(conn) == migrate.head_revision() == "0004_derived_objects"
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
