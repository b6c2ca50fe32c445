"""make_engine: drivers, folders, secrets, search path, schema folding, and waiting for a
DuckDB file another process holds."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from warehouse.engine import WarehouseBusyError, make_engine, normalise_url, safe_url


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


def test_postgresql_connections_get_the_warehouse_search_path() -> None:
    url = normalise_url("postgresql://u@db/cf")
    assert url.query["options"] == "-csearch_path=public,dw,marts,audit"
    kept = normalise_url("postgresql://u@db/cf?options=-cstatement_timeout%3D5000")
    assert kept.query["options"] == "-cstatement_timeout=5000 -csearch_path=public,dw,marts,audit"
    own = normalise_url("postgresql://u@db/cf?options=-csearch_path%3Dmine")
    assert own.query["options"] == "-csearch_path=mine"
    assert "search_path" not in str(normalise_url("duckdb:///x.duckdb"))


def test_duckdb_engines_fold_the_warehouse_schemas(tmp_path: Path) -> None:
    engine = make_engine(f"duckdb:///{tmp_path / 'w.duckdb'}")
    assert engine.get_execution_options()["schema_translate_map"] == {
        "dw": None, "marts": None, "audit": None}
    engine.dispose()


@contextmanager
def held_by_another_process(path: Path, seconds: float) -> Iterator[subprocess.Popen[str]]:
    """Another process that opens the DuckDB file and keeps it for `seconds`."""
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
         "time.sleep(float(sys.argv[2]))", str(path), str(seconds)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.kill()
        holder.wait()


def test_duckdb_waits_for_a_file_another_process_holds(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    engine = make_engine(f"duckdb:///{path}", lock_timeout=60)
    try:
        with held_by_another_process(path, 1.5) as holder:
            started = time.monotonic()
            with engine.connect() as conn:  # waits until the holder exits
                assert conn.exec_driver_sql("SELECT 42").scalar_one() == 42
            assert holder.poll() is not None
            assert time.monotonic() - started >= 0.5
    finally:
        engine.dispose()


def test_duckdb_gives_up_after_the_lock_timeout_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    engine = make_engine(f"duckdb:///{path}", lock_timeout=0.3)
    try:
        with held_by_another_process(path, 30), pytest.raises(WarehouseBusyError) as busy:
            engine.connect()
        message = str(busy.value)
        assert str(path) in message and "another process" in message and "PID" in message
        assert "COUNTYFLOW_WAREHOUSE_LOCK_TIMEOUT" in message
    finally:
        engine.dispose()


@pytest.mark.parametrize(("command", "says"), [
    (["run", "--landing", "landing"], "did not start"),
    (["status"], "could not read the warehouse"),
])
def test_cli_exits_75_while_another_process_holds_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str], says: str,
    request: pytest.FixtureRequest,
) -> None:
    from typer.testing import CliRunner

    from countyflow.cli import app
    from countyflow.commands.run import EXIT_WAREHOUSE_BUSY
    from tasks.resources import dispose_engines

    if command[0] == "run":  # the run opens the file inside its flow, after its warehouse slot
        request.getfixturevalue("prefect_harness")
    path = tmp_path / "w.duckdb"
    (tmp_path / "landing").mkdir()  # a landing zone that exists: the file lock is what stops it
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COUNTYFLOW_WAREHOUSE_LOCK_TIMEOUT", "0.3")
    with held_by_another_process(path, 30):
        result = CliRunner().invoke(app, [*command, "--warehouse", f"duckdb:///{path}"])
    dispose_engines()
    assert result.exit_code == EXIT_WAREHOUSE_BUSY == 75, result.output
    assert says in result.output and "another process" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_preparing_the_warehouse_is_bounded_by_the_lock_timeout_not_a_task_timeout() -> None:
    from countyflow.settings import Settings
    from tasks.load import prepare_warehouse

    assert prepare_warehouse.timeout_seconds is None
    assert Settings().warehouse_lock_timeout == 30 * 60


def test_checkpoint_makes_the_duckdb_file_the_whole_warehouse(tmp_path: Path) -> None:
    """After a run's checkpoint, a copy of the `.duckdb` file alone holds every row."""
    import shutil

    import duckdb

    from warehouse.engine import checkpoint

    path = tmp_path / "w.duckdb"
    engine = make_engine(f"duckdb:///{path}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t AS SELECT range AS n FROM range(50000)")
    checkpoint(engine)
    copy = tmp_path / "backup.duckdb"
    shutil.copyfile(path, copy)  # the file only, as a backup tool copies it
    engine.dispose()
    assert duckdb.connect(str(copy), read_only=True).execute("SELECT count(*) FROM t").fetchall() == [(50000,)]
