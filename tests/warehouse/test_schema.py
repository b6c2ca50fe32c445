"""ensure_warehouse: idempotent creation and seeding; the schemas; every model states its grain."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

import warehouse.schema
from countyflow.reference import counties
from countyflow.reference.calendar import submission_calendar
from tests.warehouse.backends import SqlNames, empty_warehouse_url
from warehouse.engine import make_engine
from warehouse.layout import AUDIT, DW, MARTS_SCHEMA, physical_schemas
from warehouse.marts import VIEWS
from warehouse.models import AuditDerivedObjects, Base
from warehouse.schema import MART_VIEWS, date_frame, ensure_mart_views, ensure_warehouse

COUNTED = ("dim_date", "dim_period", "dim_county", "dim_department", "dim_vocational_track",
           "dim_volunteer_source", "ref_calendar")


def counts(engine: Engine) -> dict[str, int]:
    names = SqlNames(engine)
    with engine.connect() as conn:
        return {t: conn.execute(sa.text(f"SELECT COUNT(*) FROM {names[t]}")).scalar_one()
                for t in COUNTED}


def objects(engine: Engine) -> tuple[set[str], set[str]]:
    """(tables, views) of the warehouse schemas, as `schema.name`."""
    inspector = sa.inspect(engine)
    tables, views = set(), set()
    for schema in physical_schemas(engine.dialect.name):
        tables |= {f"{schema}.{t}" for t in inspector.get_table_names(schema=schema)}
        views |= {f"{schema}.{v}" for v in inspector.get_view_names(schema=schema)}
    return tables, views


def test_ensure_warehouse_is_idempotent(warehouse_url: str) -> None:
    engine = make_engine(warehouse_url)
    try:
        ensure_warehouse(engine)
        first = counts(engine)
        ensure_warehouse(engine)
        assert counts(engine) == first
        tables, views = objects(engine)
        if engine.dialect.name == "postgresql":
            assert tables == set(Base.metadata.tables)  # dw.* and audit.*
            assert views == {f"{MARTS_SCHEMA}.{name}" for name in VIEWS}
        else:  # DuckDB folds the schemas into main (warehouse.layout)
            assert tables == {f"main.{t.name}" for t in Base.metadata.tables.values()} | {
                "main.alembic_version"}
            assert views == {f"main.{name}" for name in VIEWS}
        assert first["dim_county"] == counties().height == 11
        assert first["dim_department"] == 9
        assert first["dim_vocational_track"] == 5
        assert first["dim_volunteer_source"] == 6
        assert first["ref_calendar"] == submission_calendar().height
        names = SqlNames(engine)
        with engine.connect() as conn:
            span = conn.execute(sa.text(
                f"SELECT MIN(date), MAX(date) FROM {names['dim_date']}")).one()
            assert span[0] == dt.date(2015, 1, 1) and span[1] >= dt.date(2035, 12, 31)
            assert conn.execute(sa.text(
                f"SELECT county_name FROM {names['dim_county']} WHERE county_code = '530626'"
            )).scalar_one() == "绥江县"
            assert conn.execute(sa.text(
                f"SELECT COUNT(*) FROM {names['dim_department']} "
                "WHERE department_group = 'surgical'"
            )).scalar_one() == 3
    finally:
        engine.dispose()


def test_mart_views_are_recreated_only_when_they_changed_or_went_missing(
    warehouse_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    derived = AuditDerivedObjects.__table__
    with warehouse_engine.begin() as conn:  # ensured by the fixture: recorded, nothing to do
        recorded = conn.execute(sa.select(derived.c.fingerprint).where(
            derived.c.name == MART_VIEWS)).scalar_one()
        assert ensure_mart_views(conn) is False

    mart = SqlNames(warehouse_engine)["mart_city_kpi"]
    with warehouse_engine.begin() as conn:  # someone dropped a view: it comes back
        conn.execute(sa.text(f"DROP VIEW {mart}"))
        assert ensure_mart_views(conn) is True
        assert conn.execute(sa.text(f"SELECT COUNT(*) FROM {mart}")).scalar_one() >= 0

    # a release whose views differ: recreated once, its fingerprint recorded
    monkeypatch.setattr(warehouse.schema, "marts_fingerprint", lambda dialect: "f" * 64)
    with warehouse_engine.begin() as conn:
        assert ensure_mart_views(conn) is True
        assert ensure_mart_views(conn) is False
        assert conn.execute(sa.select(derived.c.fingerprint)).scalars().all() == ["f" * 64]
    assert recorded != "f" * 64


@pytest.mark.postgres
def test_a_run_that_changes_no_view_does_not_wait_for_a_bi_reader(tmp_path: Path) -> None:
    """A BI session reading a mart holds a lock that `CREATE OR REPLACE VIEW` must wait for:
    a run with the same views must not replace them. (PostgreSQL only: a DuckDB file is
    opened by one process, so no BI reader is there during a run.)"""
    with empty_warehouse_url("postgresql", tmp_path) as url:
        _ensure_beside_a_reader(url)


def _ensure_beside_a_reader(url: str) -> None:
    engine = make_engine(url)
    try:
        ensure_warehouse(engine)
        mart = SqlNames(engine)["mart_city_kpi"]
        with engine.connect() as reader:
            reader.execute(sa.text(f"SELECT COUNT(*) FROM {mart}")).scalar_one()  # lock held
            finished = threading.Event()
            failed: list[BaseException] = []

            def ensure() -> None:
                try:
                    ensure_warehouse(engine)
                except BaseException as exc:  # reported below, not lost in the thread
                    failed.append(exc)
                finally:
                    finished.set()

            threading.Thread(target=ensure, daemon=True).start()
            done = finished.wait(timeout=60)
            reader.rollback()  # releases the reader's lock, whichever way it went
        finished.wait(timeout=60)
        assert done and not failed, failed
    finally:
        engine.dispose()


def test_date_dimension_attributes() -> None:
    days = date_frame(dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    by_day = {row["date"]: row for row in days.iter_rows(named=True)}
    assert by_day[dt.date(2025, 7, 6)] == {
        "date_key": 20250706, "date": dt.date(2025, 7, 6), "year": 2025, "quarter": 3,
        "month": 7, "day": 6, "day_of_week": 7, "is_weekend": True, "month_label": "2025-07",
        "school_year": 2024, "season": "2025-summer"}
    assert by_day[dt.date(2025, 3, 15)]["season"] == "2025-winter"
    assert by_day[dt.date(2025, 3, 16)]["season"] is None
    assert by_day[dt.date(2025, 9, 1)]["school_year"] == 2025


@pytest.mark.parametrize("table", sorted(Base.metadata.tables))
def test_every_table_states_its_grain(table: str) -> None:
    model = next(m for m in Base.registry.mappers if m.local_table.fullname == table).class_
    assert model.__doc__ and "grain" in model.__doc__.lower(), table


def test_tables_live_in_their_schema_and_answer_to_their_bare_name() -> None:
    for key, table in Base.metadata.tables.items():
        expected = AUDIT if table.name.startswith("audit_") else DW
        assert table.schema == expected and key == f"{expected}.{table.name}"
        assert Base.metadata.tables[table.name] is table
    with pytest.raises(KeyError):
        Base.metadata.tables["no_such_table"]


def test_a_client_that_knows_nothing_of_countyflow_reads_every_mart(
    warehouse_engine: Engine,
) -> None:
    """A BI tool's own connection: no search path on PostgreSQL (`marts.<name>`), the file
    opened by the DuckDB library on DuckDB (bare names: one schema)."""
    url = warehouse_engine.url
    warehouse_engine.dispose()  # DuckDB: one process may hold the file; hand it over
    if warehouse_engine.dialect.name == "duckdb":
        import duckdb

        conn = duckdb.connect(str(url.database))
        try:
            for name in VIEWS:
                conn.execute(f"SELECT * FROM {name}").fetchall()
        finally:
            conn.close()
        return
    import psycopg

    plain = url.set(drivername="postgresql", query={})
    with psycopg.connect(plain.render_as_string(hide_password=False)) as conn:
        assert conn.execute("SHOW search_path").fetchone() == ('"$user", public',)
        for name in VIEWS:
            conn.execute(f"SELECT * FROM {MARTS_SCHEMA}.{name}").fetchall()
