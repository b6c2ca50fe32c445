"""One global concurrency limit per warehouse, never keyed by a password (`tasks.concurrency`,
`warehouse.backends.warehouse_key`), and who holds it (`countyflow.locks`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from countyflow.locks import HOLDER_SILENT_AFTER_SECONDS, HolderWatch, SlotHolder, pid_alive
from countyflow.settings import Settings
from tasks.concurrency import LOCK_PREFIX, warehouse_lock_name
from warehouse.backends import warehouse_key


def test_the_password_never_reaches_the_key() -> None:
    one = Settings(warehouse_url="postgresql+psycopg://cf:s3cret-A@db.example/countyflow")
    two = Settings(warehouse_url="postgresql+psycopg://cf:s3cret-B@db.example/countyflow")
    assert "s3cret" not in warehouse_key(one.safe_warehouse_url())
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


# --- the holder's record and a waiter's judgement of it -------------------------------------

HOLDER = SlotHolder(lease_id="0b7c…", host="etl-1", pid=4242, since="2026-12-07T06:00:00+00:00",
                    flow_run_id="5f1e", flow_run_name="brave-otter")


def watch(alive: bool = True, host: str = "etl-2") -> HolderWatch:
    return HolderWatch(this_host=host, pid_alive=lambda pid: alive)


def test_the_record_round_trips_and_names_the_run_host_and_pid() -> None:
    assert SlotHolder.from_json(HOLDER.as_json()) == HOLDER
    assert SlotHolder.from_json("not a record") is None
    assert SlotHolder.from_json({"lease_id": "x"}) is None  # incomplete: not ours to judge
    text = HOLDER.describe()
    assert "brave-otter" in text and "5f1e" in text and "etl-1" in text and "4242" in text


def test_a_beating_holder_is_never_judged_gone() -> None:
    waiter = watch()
    for second in range(0, 600, 5):  # its beat changes every 5 s for ten minutes
        beating = SlotHolder(**{**HOLDER.as_json(), "beat": second // 5})
        assert waiter.gone(beating, float(second)) is None


def test_a_silent_holder_on_another_host_is_gone_after_the_silence_period() -> None:
    waiter = watch()
    assert waiter.gone(HOLDER, 0.0) is None
    assert waiter.gone(HOLDER, HOLDER_SILENT_AFTER_SECONDS - 1) is None
    reason = waiter.gone(HOLDER, HOLDER_SILENT_AFTER_SECONDS)
    assert reason is not None and "not renewed" in reason


def test_a_holder_whose_process_died_on_this_host_is_gone_at_once() -> None:
    reason = watch(alive=False, host="etl-1").gone(HOLDER, 0.0)
    assert reason is not None and "4242" in reason
    assert watch(alive=False, host="etl-2").gone(HOLDER, 0.0) is None  # another host's pid says nothing


def test_a_slot_nobody_records_is_an_orphan_only_after_the_silence_period() -> None:
    waiter = watch()
    assert waiter.gone(None, 0.0) is None
    assert waiter.gone(HOLDER, 10.0) is None  # a holder appeared: the orphan clock restarts
    assert waiter.gone(None, 20.0) is None
    assert waiter.gone(None, 20.0 + HOLDER_SILENT_AFTER_SECONDS) is not None


def test_pid_alive_probes_without_killing() -> None:
    import os
    import subprocess
    import sys
    import time

    assert pid_alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    assert pid_alive(child.pid)
    child.kill()
    time.sleep(0.5)  # killed, not yet reaped by its parent (this test): a zombie holds nothing
    assert not pid_alive(child.pid)
    child.wait()
    assert not pid_alive(child.pid)
