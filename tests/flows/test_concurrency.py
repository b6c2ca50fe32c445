"""Two `countyflow run` at once leave exactly the warehouse one run leaves.

Two real `countyflow run` processes are started together on one landing zone. On
PostgreSQL they really run at the same time: the test raises the warehouse's Prefect
concurrency limit to 2 slots (what two runs on two Prefect servers, e.g. two terminals
without PREFECT_API_URL, amount to), so only the database serialises them. On DuckDB the
second process waits for the file (`warehouse.engine`) and then finds nothing new.
(Parity of the two backends: tests/flows/test_ingest_flow.py.)
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from countyflow.settings import Settings
from tests.flows.warehouses import Warehouse, assert_same_warehouse, snapshot
from tests.processes import finish_together, start_countyflow
from tests.warehouse.backends import empty_warehouse_url

pytestmark = pytest.mark.flow

# 绥江县 and 彝良县: every dataset and season they report, with the demo's lifecycle cases
CONCURRENT_COUNTIES = ("530626", "530628")


def run_in_process(url: str, landing: Path, folder: Path) -> None:
    from flows.ingest import ingest_landing_zone
    from tasks.resources import dispose_engines

    # The quality gate reads, never writes: it cannot change a mart, and the two-process
    # runs below (like test_ingest_flow) run it; skipping it here saves GX's minutes.
    settings = Settings(warehouse_url=url, landing=str(landing), archive_dir=folder / "archive",
                        reports_dir=folder / "reports", staging_dir=folder / "staging",
                        run_quality_checks=False)
    try:
        assert ingest_landing_zone(settings)
    finally:
        dispose_engines()



@pytest.fixture(scope="module")
def small_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from countyflow.demo import plan_demo_submissions, write_submissions

    landing = tmp_path_factory.mktemp("concurrent") / "landing"
    write_submissions(str(landing), [s for s in plan_demo_submissions()
                                     if s.file.county_code in CONCURRENT_COUNTIES])
    return landing


@pytest.fixture(scope="module")
def one_run(prefect_harness: None, small_landing: Path,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Warehouse]]:
    """The small landing zone loaded by one run, on each backend."""
    references = {}
    folder = tmp_path_factory.mktemp("one-run")
    for backend in ("duckdb", "postgresql"):
        with empty_warehouse_url(backend, folder / backend) as url:
            run_in_process(url, small_landing, folder / backend)
            references[backend] = snapshot(backend, url)
    yield references


def _start_run(landing: Path, url: str, workdir: Path) -> subprocess.Popen[str]:
    """`countyflow run` in its own process, sharing the test's Prefect server; archive,
    reports and staging under `workdir`, shared."""
    return start_countyflow(["run", "--landing", str(landing), "--warehouse", url], workdir=workdir)


def _run_two_at_once(landing: Path, url: str, workdir: Path) -> list[str]:
    workdir.mkdir(parents=True, exist_ok=True)
    finished = finish_together([_start_run(landing, url, workdir) for _ in range(2)], timeout=600)
    for code, output, _ in finished:
        assert code == 0, output
    return [output for _, output, _ in finished]


def _allow_two_runs_at_once(url: str) -> None:
    """What an operator would do in the UI: give the warehouse's limit a second slot."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    from tasks.concurrency import warehouse_lock_name

    name = warehouse_lock_name(Settings(warehouse_url=url).safe_warehouse_url())
    with get_client(sync_client=True) as client:
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=2))


def test_two_runs_at_once_on_postgresql_leave_the_warehouse_of_one(
    one_run: dict[str, Warehouse], small_landing: Path, tmp_path: Path
) -> None:
    with empty_warehouse_url("postgresql", tmp_path) as url:
        url = make_url(url).render_as_string(hide_password=False)
        _allow_two_runs_at_once(url)
        outputs = _run_two_at_once(small_landing, url, tmp_path / "work")
        # Usually both process submissions at the same time; on a loaded machine one may
        # start only after the other finished. Either way the warehouse must be one run's.
        assert any("Submissions by status" in output for output in outputs), outputs
        assert_same_warehouse(snapshot("postgresql", url), one_run["postgresql"])


def test_two_runs_at_once_on_duckdb_one_waits_for_the_other(
    one_run: dict[str, Warehouse], small_landing: Path, tmp_path: Path
) -> None:
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    outputs = _run_two_at_once(small_landing, url, tmp_path / "work")
    # one loaded everything; the other waited for the file, then found nothing new
    assert sorted("Nothing new in the landing zone" in output for output in outputs) == [
        False, True], outputs
    assert_same_warehouse(snapshot("duckdb", url), one_run["duckdb"])
