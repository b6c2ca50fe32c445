"""Scale-out: the main flow on a Dask cluster of worker processes loads exactly the warehouse
the default (thread) runner loads, row for row, in every mart and fact table."""

from __future__ import annotations

from dataclasses import astuple
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from countyflow.settings import Settings
from warehouse.models import referenced_column

pytestmark = pytest.mark.flow

# 鲁甸 (a rejected file and its correction), 彝良 (attendance older than its registry).
COUNTIES = ("530621", "530628")


def _settings(folder: Path, landing: Path, **overrides: object) -> Settings:
    return Settings(
        warehouse_url=f"duckdb:///{folder / 'warehouse.duckdb'}", landing=str(landing),
        archive_dir=folder / "archive", reports_dir=folder / "reports",
        staging_dir=folder / "staging", **overrides,
    )


def _by_natural_keys(table: sa.Table) -> sa.Select:
    """The fact table with each surrogate dimension key replaced by that dimension row's other
    columns: surrogate numbers depend on the order a database inserts a DISTINCT set (DuckDB
    runs it in parallel), not on the runner, so they are compared by what they stand for."""
    columns: list[sa.ColumnElement[object]] = []
    source: sa.FromClause = table
    for column in table.columns:
        target = referenced_column(column)  # facts declare references without foreign keys
        if (target is None or not target.table.name.startswith("dim_")
                or target.table.name == "dim_date" or target.name != column.name):
            columns.append(column)
            continue
        dim = target.table.alias(f"d_{column.name}")
        source = source.join(dim, dim.c[column.name] == column)
        columns += [c.label(f"{column.name}__{c.name}") for c in dim.columns if c.name != column.name]
    return sa.select(*columns).select_from(source)


def _tables(url: str) -> dict[str, pl.DataFrame]:
    """Every mart and fact table, rows sorted on all columns."""
    from warehouse.engine import make_engine
    from warehouse.load import FACT_LOADS
    from warehouse.marts import MARTS, read_mart

    engine = make_engine(url)
    try:
        tables = {name: read_mart(engine, name) for name in MARTS}
        with engine.connect() as conn:
            for spec in FACT_LOADS.values():
                result = conn.execute(_by_natural_keys(spec.table))
                frame = pl.DataFrame([tuple(r) for r in result], schema=list(result.keys()), orient="row",
                                     infer_schema_length=None)
                tables[spec.table.name] = frame.sort(frame.columns, nulls_last=True)
    finally:
        engine.dispose()
    return tables


def test_dask_runner_loads_the_same_warehouse(prefect_harness: None, tmp_path: Path) -> None:
    from distributed import LocalCluster

    from countyflow.demo.generate import plan_demo_submissions, write_submissions
    from flows.ingest import for_workers, ingest_flow_for, ingest_landing_zone
    from tasks.resources import dispose_engines

    landing = tmp_path / "landing"
    write_submissions(str(landing), [s for s in plan_demo_submissions() if s.file.county_code in COUNTIES])

    threads = _settings(tmp_path / "threads", landing)
    expected = ingest_landing_zone(threads)

    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      dashboard_address=":0") as cluster:
        dask = _settings(tmp_path / "dask", landing, task_runner="dask",
                         dask_address=cluster.scheduler_address)
        outcomes = ingest_flow_for(dask)(for_workers(dask))
    dispose_engines()

    assert len(outcomes) == len(expected) > 20
    assert {o.status for o in outcomes} >= {"accepted", "rejected"}

    def comparable(outcome: object) -> tuple[object, ...]:
        values = dict(outcome.__dict__)
        values.pop("report_path")  # under each run's own reports folder
        values["counts"] = astuple(values["counts"])  # tuples sort, RowCounts does not
        return tuple(values.values())

    assert sorted(map(comparable, outcomes)) == sorted(map(comparable, expected))
    want = _tables(threads.sqlalchemy_url())
    got = _tables(dask.sqlalchemy_url())
    assert want.keys() == got.keys()
    assert sum(frame.height for name, frame in want.items() if name.startswith("fact_")) > 1000
    for name, frame in want.items():
        assert got[name].equals(frame), name


def test_task_runner_is_chosen_from_settings(tmp_path: Path) -> None:
    from prefect.task_runners import ThreadPoolTaskRunner
    from prefect_dask import DaskTaskRunner

    from flows.ingest import build_task_runner, ingest_flow_for

    assert isinstance(build_task_runner(Settings()), ThreadPoolTaskRunner)
    dask = Settings(task_runner="dask", dask_address="tcp://127.0.0.1:8786")
    assert isinstance(build_task_runner(dask), DaskTaskRunner)
    assert isinstance(ingest_flow_for(dask).task_runner, DaskTaskRunner)


def test_workers_get_absolute_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.ingest import for_workers

    monkeypatch.chdir(tmp_path)
    settings = for_workers(Settings(archive_dir=Path("a"), reports_dir=Path("r"), staging_dir=Path("s")))
    assert (settings.archive_dir, settings.reports_dir, settings.staging_dir) == (
        tmp_path / "a", tmp_path / "r", tmp_path / "s")
