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
