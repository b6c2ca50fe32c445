"""make_engine: drivers, folders, secrets. No database is contacted."""

from __future__ import annotations

from pathlib import Path

import pytest

from warehouse.engine import make_engine, normalise_url, safe_url


def test_postgresql_urls_use_psycopg3() -> None:
    for url in ("postgresql://u:pw@db/cf", "postgres://u:pw@db/cf",
                "postgresql+psycopg://u:pw@db/cf"):
        assert normalise_url(url).drivername == "postgresql+psycopg"
    with pytest.raises(ValueError, match="psycopg"):
        normalise_url("postgresql+psycopg2://u@db/cf")
    with pytest.raises(ValueError, match="unsupported"):
        normalise_url("sqlite:///x.db")


def test_engine_hides_password_and_parameters() -> None:
    engine = make_engine("postgresql://clerk:s3cret@127.0.0.1:1/cf")
    assert "s3cret" not in repr(engine) and "s3cret" not in str(engine.url)
    assert "s3cret" not in safe_url(engine)
    assert engine.hide_parameters is True
    engine.dispose()


def test_duckdb_parent_folder_is_created(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "dir" / "warehouse.duckdb"
    engine = make_engine(f"duckdb:///{target}")
    assert target.parent.is_dir()
    assert not target.exists()  # nothing connects until used
    engine.dispose()
