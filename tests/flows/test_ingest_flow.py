"""End to end: the demo landing zone through the main flow, on DuckDB and PostgreSQL.

The SPEC §8 figures are written here, independently of the generator's targets, and
must come out of the marts the pipeline computed. The same two runs give the parity test:
identical marts, ledger and fact counts on both backends, row for row, every column
(nothing is excluded: `received_at` is the file's modification time, which the generator
sets, the same on both; `on_time` compares with today on both).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from countyflow.pipeline import SubmissionOutcome
from countyflow.settings import Settings
from tests.flows.warehouses import Warehouse, assert_same_warehouse, snapshot
from tests.warehouse.backends import (
    BACKENDS,
    SqlNames,
    empty_warehouse_url,
    one_backend,
    reachable_backends,
    require_postgres,
)
from warehouse.engine import make_engine
from warehouse.marts import MARTS, read_mart

pytestmark = pytest.mark.flow


@dataclass
class DemoRun:
    settings: Settings
    engine: Engine
    outcomes: list[SubmissionOutcome]
    folder: Path
    first: Warehouse
    """The warehouse as the first run left it (before the tests below add files)."""


def _settings(url: str, folder: Path) -> Settings:
    return Settings(
        warehouse_url=url, landing=str(folder / "landing"), archive_dir=folder / "archive",
        reports_dir=folder / "reports", staging_dir=folder / "staging",
        data_docs_dir=folder / "quality",
    )


@pytest.fixture(scope="module")
def demo_runs(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, DemoRun]]:
    """The demo through the flow (quality gate on) once per backend, both kept for the module:
    one run per backend serves the figures, the lifecycle checks and the parity test."""
    from countyflow.demo.generate import write_demo_landing
    from flows.ingest import ingest_landing_zone
    from tasks.resources import dispose_engines

    runs: dict[str, DemoRun] = {}
    with ExitStack() as stack:
        for backend in reachable_backends():  # PostgreSQL's tests skip or fail in `demo_run`
            folder = tmp_path_factory.mktemp(f"demo-{backend}")
            url = stack.enter_context(empty_warehouse_url(backend, folder))
            settings = _settings(url, folder)
            write_demo_landing(settings.landing)
            outcomes = ingest_landing_zone(settings)
            engine = make_engine(url)
            stack.callback(engine.dispose)
            runs[backend] = DemoRun(settings, engine, outcomes, folder, snapshot(backend, url))
        stack.callback(dispose_engines)
        yield runs


@pytest.fixture(params=BACKENDS)
def demo_run(request: pytest.FixtureRequest, demo_runs: dict[str, DemoRun]) -> DemoRun:
    return one_backend(demo_runs, request.param)


def kpi(run: DemoRun, domain: str, metric: str, period: str) -> float | None:
    kpis = read_mart(run.engine, "mart_city_kpi").filter(
        (pl.col("domain") == domain) & (pl.col("metric") == metric) & (pl.col("period") == period)
    )
    assert kpis.height == 1, f"expected one {domain}/{metric}/{period} row, got {kpis.height}"
    return kpis["value"].item()


def test_childcare_headline_figures(demo_run: DemoRun) -> None:
    assert kpi(demo_run, "childcare", "sites", "2025-summer") == 997
    assert kpi(demo_run, "childcare", "children_enrolled", "2025-summer") == 16000
    assert kpi(demo_run, "childcare", "children_enrolled", "2024-summer") == 10000
    assert kpi(demo_run, "childcare", "children_yoy_change", "2025-summer") == 6000
    assert kpi(demo_run, "childcare", "children_yoy_pct", "2025-summer") == pytest.approx(60.0)
    assert kpi(demo_run, "childcare", "volunteers_university", "2025-summer") == 566
    assert kpi(demo_run, "childcare", "volunteers_other", "2025-summer") == 2847


def test_suijiang_summer_2025(demo_run: DemoRun) -> None:
    county = read_mart(demo_run.engine, "mart_childcare_county_season").filter(
        (pl.col("county_code") == "530626") & (pl.col("season") == "2025-summer")
    ).row(0, named=True)
    assert county["county_name"] == "绥江县"
    assert county["sites"] == 12
    assert county["children_enrolled"] >= 400
    assert county["volunteers_university"] == 45


def test_meal_subsidy_at_honglu_xinju_school(demo_run: DemoRun) -> None:
    query = text(
        "SELECT f.meal_subsidy_yuan, f.children_enrolled, f.county_code "
        "FROM {fact_childcare_site_season} f JOIN {dim_childcare_site} s "
        "ON s.site_key = f.site_key "
        "WHERE s.site_name LIKE :name AND f.period = '2025-summer'".format_map(
            SqlNames(demo_run.engine))
    )
    with demo_run.engine.connect() as conn:
        rows = conn.execute(query, {"name": "%红路馨居小学%"}).all()
    assert len(rows) == 1
    subsidy, children, county = rows[0]
    assert (subsidy, county) == (8, "530602")
    assert children >= 940


def test_vocational_intake_growth(demo_run: DemoRun) -> None:
    assert 2000 <= kpi(demo_run, "vocational", "new_intake_yoy_change", "2023") <= 2999
    assert 4000 <= kpi(demo_run, "vocational", "new_intake_yoy_change", "2024") <= 4999


def test_heart_centre_figures(demo_run: DemoRun) -> None:
    assert kpi(demo_run, "health", "surgeries_cumulative", "2025-07") == 52954
    assert kpi(demo_run, "health", "beds_open", "2025-07") == 268
    assert kpi(demo_run, "health", "experts_dispatched_cumulative", "2025-07") == 95
    assert kpi(demo_run, "health", "visiting_experts_cumulative", "2025-07") == 658
    assert kpi(demo_run, "health", "local_surgeons_independent", "2023-01") == 3
    assert kpi(demo_run, "health", "local_surgeons_independent", "2025-07") == 16
    assert kpi(demo_run, "health", "departments_internal", "2025-07") == 6
    assert kpi(demo_run, "health", "departments_surgical", "2025-07") == 3


def _ledger(run: DemoRun) -> pl.DataFrame:
    with run.engine.connect() as conn:
        result = conn.execute(text(
            "SELECT submission_id, county_code, dataset, period, file_name, status, rows_in, "
            "rows_loaded, rows_rejected, rows_held FROM {audit_submission}".format_map(
                SqlNames(conn))
        ))
        return pl.DataFrame([tuple(row) for row in result], schema=list(result.keys()), orient="row")


def test_every_submission_conserves_rows(demo_run: DemoRun) -> None:
    ledger = _ledger(demo_run)
    assert ledger.height == len(demo_run.outcomes) > 100
    broken = ledger.filter(
        pl.col("rows_in") != pl.col("rows_loaded") + pl.col("rows_rejected") + pl.col("rows_held")
    )
    assert broken.is_empty(), broken
    assert ledger.filter(pl.col("status") == "waiting").is_empty()


def test_lifecycle_cases_of_the_demo(demo_run: DemoRun) -> None:
    ledger = _ledger(demo_run)
    statuses = set(ledger["status"].to_list())
    assert {"accepted", "rejected", "superseded"} <= statuses
    rejected = ledger.filter(pl.col("status") == "rejected").row(0, named=True)
    status = read_mart(demo_run.engine, "mart_submission_status").filter(
        (pl.col("county_code") == rejected["county_code"]) & (pl.col("dataset") == rejected["dataset"])
        & (pl.col("period") == rejected["period"])
    ).row(0, named=True)
    # the corrected resubmission came later: it is the latest and its facts are loaded
    assert status["status"].startswith("accepted")
    assert status["current_submission_id"] != rejected["submission_id"]
    assert status["submissions_received"] >= 2


def test_clerk_reports_written_without_personal_data(demo_run: DemoRun) -> None:
    reports = list((demo_run.folder / "reports").rglob("*.json"))
    assert len(reports) == len(demo_run.outcomes)
    for report in reports:
        content = report.read_text(encoding="utf-8")
        assert "13800000000" not in content and "reporter_phone" not in content


def test_personal_data_never_reaches_the_warehouse(demo_run: DemoRun) -> None:
    with demo_run.engine.connect() as conn:
        columns = conn.execute(text(  # every schema of the database, not only the warehouse's
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE column_name LIKE 'reporter%' OR column_name = 'remarks'"
        )).all()
        values = conn.execute(text(
            f"SELECT COUNT(*) FROM {SqlNames(conn)['audit_issue']} "
            "WHERE value LIKE '%138%' OR value LIKE '%填报人%'"
        )).scalar_one()
    assert columns == []
    assert values == 0


def _all_marts(run: DemoRun) -> dict[str, pl.DataFrame]:
    return {name: read_mart(run.engine, name) for name in MARTS}


def test_rerun_changes_nothing(demo_run: DemoRun) -> None:
    from flows.ingest import ingest_landing_zone

    before = _all_marts(demo_run)
    outcomes = ingest_landing_zone(demo_run.settings)
    assert outcomes == []
    after = _all_marts(demo_run)
    for name in MARTS:
        assert before[name].equals(after[name]), name


def test_rejected_correction_keeps_previous_data(demo_run: DemoRun) -> None:
    """A broken resubmission of an accepted partition: rejected, previous facts stay."""
    from flows.ingest import ingest_landing_zone

    landing = Path(demo_run.settings.landing)
    partition = landing / "530626" / "childcare_sites" / "2025-summer"
    original = sorted(p for p in partition.iterdir() if p.is_file())[-1]
    broken = partition / "zz绥江县更正版.csv"
    broken.write_text(
        "县区代码,托管点编码,托管点名称,托管点类型,开始日期,结束日期,每日托管时长,托管儿童数,其中留守儿童数\n"
        "530626,530626-X001,新滩镇石龙小学,学校,2025-07-07,2025-08-20,6,约200,150\n",
        encoding="utf-8",
    )
    children_before = kpi(demo_run, "childcare", "children_enrolled", "2025-summer")
    outcomes = ingest_landing_zone(demo_run.settings)
    assert [outcome.status for outcome in outcomes] == ["rejected"]
    status = read_mart(demo_run.engine, "mart_submission_status").filter(
        (pl.col("county_code") == "530626") & (pl.col("dataset") == "childcare_sites")
        & (pl.col("period") == "2025-summer")
    ).row(0, named=True)
    assert status["status"] == "rejected"
    assert status["current_submission_id"] is not None
    assert kpi(demo_run, "childcare", "children_enrolled", "2025-summer") == children_before
    assert original.exists()
    shutil.rmtree(demo_run.folder / "staging", ignore_errors=True)


def test_the_demo_gives_identical_warehouses_on_duckdb_and_postgresql(
    demo_runs: dict[str, DemoRun]
) -> None:
    require_postgres()
    duckdb, postgresql = demo_runs["duckdb"].first, demo_runs["postgresql"].first
    assert postgresql.marts["mart_childcare_site_season"].height >= 997  # the whole demo
    for name in MARTS:
        assert duckdb.marts[name].height > 0, name
    assert_same_warehouse(postgresql, duckdb)
