"""countyflow.locks: one global concurrency limit per warehouse, never keyed by a password."""

from __future__ import annotations

from pathlib import Path

import pytest

from countyflow.locks import LOCK_PREFIX, canonical_warehouse, warehouse_lock_name
from countyflow.settings import Settings


def test_the_password_never_reaches_the_key() -> None:
    one = Settings(warehouse_url="postgresql+psycopg://cf:s3cret-A@db.example/countyflow")
    two = Settings(warehouse_url="postgresql+psycopg://cf:s3cret-B@db.example/countyflow")
    assert "s3cret" not in canonical_warehouse(one.safe_warehouse_url())
    assert warehouse_lock_name(one.safe_warehouse_url()) == warehouse_lock_name(two.safe_warehouse_url())
    name = warehouse_lock_name(one.safe_warehouse_url())
    assert name.startswith(LOCK_PREFIX) and len(name) == len(LOCK_PREFIX) + 12


def test_different_warehouses_have_different_keys() -> None:
    names = {warehouse_lock_name(url) for url in (
        "postgresql+psycopg://cf@db.example/countyflow",
        "postgresql+psycopg://cf@db.example/countyflow_test",
        "duckdb:////srv/a.duckdb",
    )}
    assert len(names) == 3


def test_a_duckdb_file_is_keyed_by_its_absolute_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    relative = warehouse_lock_name("duckdb:///data/warehouse.duckdb")
    absolute = warehouse_lock_name(f"duckdb:///{tmp_path / 'data' / 'warehouse.duckdb'}")
    assert relative == absolute
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert warehouse_lock_name("duckdb:///data/warehouse.duckdb") != relative


def test_postgresql_url_spellings_without_a_server_share_a_key() -> None:
    """Driver and default port do not make another warehouse, even when the server
    cannot be asked who it is."""
    assert (warehouse_lock_name("postgresql+psycopg://cf@DB.example:5432/countyflow")
            == warehouse_lock_name("postgresql://cf@db.example/countyflow"))


def test_a_duckdb_file_reached_through_a_symlink_is_one_warehouse(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    assert (warehouse_lock_name(f"duckdb:///{real / 'w.duckdb'}")
            == warehouse_lock_name(f"duckdb:///{tmp_path / 'link' / 'w.duckdb'}"))


def test_two_spellings_of_one_postgresql_server_are_one_warehouse() -> None:
    """The server says who it is: host name or address, driver, explicit or default port."""
    from tests.warehouse.backends import pg_admin_url, require_postgres
    from warehouse.engine import make_engine, warehouse_identity

    require_postgres()
    spellings = (pg_admin_url(), pg_admin_url().replace("postgresql+psycopg://", "postgresql://")
                 .replace("127.0.0.1:5432", "localhost"))
    names = set()
    for url in spellings:
        engine = make_engine(url)
        try:
            identity = warehouse_identity(engine)
        finally:
            engine.dispose()
        assert identity is not None
        names.add(warehouse_lock_name(Settings(warehouse_url=url).safe_warehouse_url(), identity))
    assert len(names) == 1
