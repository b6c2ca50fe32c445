"""Warehouse backends for tests: one DuckDB file or one fresh PostgreSQL database per test.

Reuse from another test package (e.g. flow tests) by importing the fixtures into its
conftest::

    from tests.warehouse.backends import (  # noqa: F401
        warehouse_engine, warehouse_templates, warehouse_url,
    )

PostgreSQL is reached as tests/postgres.py says. When it is unreachable the PostgreSQL cases are skipped with the reason, or
fail when CI=true (CONTRIBUTING rule 9).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy.engine import Connection, Engine, make_url

from tests.postgres import (  # noqa: F401  (re-exported: the warehouse tests' one import)
    create_pg_database,
    drop_pg_database,
    pg_admin_url,
    postgres_unavailable,
    require_postgres,
)
from warehouse.engine import make_engine
from warehouse.layout import qualify
from warehouse.marts import VIEWS
from warehouse.models import Base
from warehouse.schema import ensure_warehouse

BACKENDS = ("duckdb", "postgresql")


def sql_name(engine: Engine | Connection, name: str) -> str:
    """How SQL names table or mart `name` on `engine`'s backend (`dw.dim_date` on
    PostgreSQL, `dim_date` on DuckDB; see warehouse.layout)."""
    dialect = engine.dialect.name
    if name in VIEWS:
        return VIEWS[name].view_for(dialect)
    table = Base.metadata.tables[name]
    assert table.schema is not None
    return qualify(dialect, table.schema, table.name)


class SqlNames(dict[str, str]):
    """`"SELECT … FROM {dim_date}".format_map(SqlNames(engine))`: every `{table}` or
    `{mart}` placeholder becomes the name SQL uses on the engine's backend."""

    def __init__(self, engine: Engine | Connection) -> None:
        super().__init__()
        self.engine = engine

    def __missing__(self, key: str) -> str:
        return sql_name(self.engine, key)


T = TypeVar("T")


def reachable_backends() -> tuple[str, ...]:
    """The backends a module fixture that builds one warehouse per backend can build now:
    PostgreSQL only when it is reachable (its tests then go through `one_backend`)."""
    return tuple(b for b in BACKENDS if b != "postgresql" or postgres_unavailable() is None)


def one_backend(per_backend: Mapping[str, T], backend: str) -> T:
    """`backend`'s entry of such a fixture's results; a PostgreSQL test skips (or, with
    CI=true, fails) when PostgreSQL is unreachable, as every warehouse test does."""
    if backend == "postgresql":
        require_postgres()
    return per_backend[backend]


@contextmanager
def empty_warehouse_url(backend: str, folder: Path) -> Iterator[str]:
    """URL of an empty database of `backend`, removed afterwards."""
    if backend == "duckdb":
        yield f"duckdb:///{folder / 'warehouse.duckdb'}"
        return
    require_postgres()
    url = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(url)


class WarehouseTemplates:
    """One ensured warehouse per backend per session, cloned for each test (fast)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._duckdb: Path | None = None
        self._postgres: str | None = None

    def clone(self, backend: str, folder: Path) -> str:
        if backend == "duckdb":
            if self._duckdb is None:
                path = self.folder / "template.duckdb"
                engine = make_engine(f"duckdb:///{path}")
                ensure_warehouse(engine)
                with engine.begin() as conn:
                    conn.exec_driver_sql("CHECKPOINT")
                engine.dispose()
                self._duckdb = path
            target = folder / "warehouse.duckdb"
            shutil.copyfile(self._duckdb, target)
            return f"duckdb:///{target}"
        require_postgres()
        if self._postgres is None:
            url = create_pg_database()
            engine = make_engine(url)
            ensure_warehouse(engine)
            engine.dispose()
            self._postgres = url
        return create_pg_database(template=make_url(self._postgres).database)

    def close(self) -> None:
        if self._postgres is not None:
            drop_pg_database(self._postgres)


BACKEND_PARAMS = [
    pytest.param("duckdb", id="duckdb"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(scope="session")
def warehouse_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WarehouseTemplates]:
    templates = WarehouseTemplates(tmp_path_factory.mktemp("warehouse-templates"))
    yield templates
    templates.close()


@pytest.fixture(params=BACKEND_PARAMS)
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty warehouse database, once per backend."""
    with empty_warehouse_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture(params=BACKEND_PARAMS)
def warehouse_engine(
    request: pytest.FixtureRequest, tmp_path: Path, warehouse_templates: WarehouseTemplates
) -> Iterator[Engine]:
    """An Engine on a freshly ensured warehouse, once per backend."""
    url = warehouse_templates.clone(request.param, tmp_path)
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()
        if request.param == "postgresql":
            drop_pg_database(url)
