"""warehouse.backends: the one place DuckDB and PostgreSQL differ."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from warehouse.backends import DUCKDB, POSTGRESQL, UnsupportedBackendError, backend_of


@pytest.mark.parametrize(("url", "backend"), [
    ("duckdb:///data/warehouse.duckdb", DUCKDB),
    ("duckdb:///:memory:", DUCKDB),
    ("postgresql://cf@db/countyflow", POSTGRESQL),
    ("postgresql+psycopg://cf@db/countyflow", POSTGRESQL),
])
def test_a_url_names_its_backend(url: str, backend: object) -> None:
    assert backend_of(url) is backend


def test_an_unsupported_backend_is_named() -> None:
    with pytest.raises(UnsupportedBackendError, match="'mysql'"):
        backend_of("mysql://root@localhost/cf")


def test_only_a_file_backend_has_a_file(tmp_path: object) -> None:
    assert DUCKDB.file_path("duckdb:///:memory:") is None
    assert str(DUCKDB.file_path("duckdb:///~/w.duckdb")).endswith("/w.duckdb")
    assert "~" not in str(DUCKDB.file_path("duckdb:///~/w.duckdb"))
    assert POSTGRESQL.file_path("postgresql://cf@db/countyflow") is None


def test_an_engine_and_its_connections_say_the_same(warehouse_engine: Engine) -> None:
    backend = backend_of(warehouse_engine)
    with warehouse_engine.connect() as connection:
        assert backend_of(connection) is backend
    # what the engine does follows the answers: schemas kept or folded, locks, roles
    assert backend.folds_schemas == (backend is DUCKDB) == backend.is_file
    assert backend.advisory_locks == backend.roles == (backend is POSTGRESQL)
