"""The quality gate task: skip, artifact, failure message (task.fn, no Prefect server).

Most tests hand the task a prepared report (GX runs are tested in
tests/warehouse/test_quality.py); one runs it for real on a broken DuckDB warehouse.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from countyflow.ingest.model import RowCounts
from countyflow.pipeline import SubmissionOutcome
from countyflow.settings import Settings
from tasks import check as check_module
from tasks.check import QualityGateError, check_warehouse, enforce_quality_gate, quality_markdown
from warehouse.expectations import CheckResult, QualityReport


def _result(name: str, *, passed: bool, severity: str = "error", rows: int | None = 0,
            detail: str | None = None) -> CheckResult:
    table, column, _ = name.split(".", 2)
    return CheckResult(name=name, table=table, column=column, expectation="X",
                       severity=severity, passed=passed,  # type: ignore[arg-type]
                       unexpected_count=rows, detail=detail)


def _report(tmp_path: Path, *results: CheckResult) -> QualityReport:
    index = tmp_path / "docs" / "index.html"
    index.parent.mkdir(parents=True, exist_ok=True)
    index.write_text("<html></html>")
    return QualityReport(results=results, docs_index=index)


@pytest.fixture
def artifacts(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    created: list[dict[str, Any]] = []
    monkeypatch.setattr(check_module, "create_markdown_artifact",
                        lambda **kwargs: created.append(kwargs))
    return created


@pytest.fixture
def fake_run(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Replace the GX run; `state["report"]` is returned, the call is recorded."""
    import tasks.check

    state: dict[str, Any] = {}

    def run(engine: Any, **kwargs: Any) -> QualityReport:
        state["engine"], state["kwargs"] = engine, kwargs
        return state["report"]

    monkeypatch.setattr(tasks.check, "run_quality_checks", run)
    yield state


def _settings(tmp_path: Path, **options: Any) -> Settings:
    return Settings(warehouse_url=f"duckdb:///{tmp_path / 'w.duckdb'}",
                    data_docs_dir=tmp_path / "docs", **options)


def test_the_tasks_never_retry() -> None:
    assert check_warehouse.retries == 0 and enforce_quality_gate.retries == 0


def test_failing_error_check_raises_with_table_column_and_rows(
    tmp_path: Path, artifacts: list[dict[str, Any]], fake_run: dict[str, Any]
) -> None:
    fake_run["report"] = _report(
        tmp_path,
        _result("fact_childcare_daily.site_key.in_dim_childcare_site", passed=False, rows=3,
                detail="submission_id=ab|c, source_row=2, site_key=999999"),
        _result("dim_school.is_inferred.none", passed=False, severity="warning", rows=1),
        _result("dim_county.county_code.unique", passed=True),
    )
    settings = _settings(tmp_path, quality_severities={"mart_*": "warning"})
    report = check_warehouse.fn(settings)  # reports; the next step fails the run
    assert not report.success
    with pytest.raises(QualityGateError) as caught:
        enforce_quality_gate.fn(report)
    message = str(caught.value)
    assert "fact_childcare_daily.site_key: 3 unexpected rows" in message
    assert "dim_school" not in message  # warnings never block
    assert fake_run["kwargs"] == {"docs_dir": tmp_path / "docs",
                                  "severities": {"mart_*": "warning"}}

    [artifact] = artifacts
    assert artifact["key"] == "countyflow-quality"
    markdown = artifact["markdown"]
    assert "# Warehouse quality gate: FAILED" in markdown
    assert "3 expectations: 1 passed, 1 error failed, 1 warning failed." in markdown
    assert ("| error | fact_childcare_daily | site_key | 3 | "
            "fact_childcare_daily.site_key.in_dim_childcare_site | "
            "submission_id=ab\\|c, source_row=2, site_key=999999 |") in markdown
    assert "| warning | dim_school | is_inferred | 1 |" in markdown
    assert (tmp_path / "docs" / "index.html").resolve().as_uri() in markdown


def test_passing_gate_returns_the_report(
    tmp_path: Path, artifacts: list[dict[str, Any]], fake_run: dict[str, Any]
) -> None:
    fake_run["report"] = _report(
        tmp_path,
        _result("dim_county.county_code.unique", passed=True),
        _result("dim_school.is_inferred.none", passed=False, severity="warning", rows=2),
    )
    report = check_warehouse.fn(_settings(tmp_path))
    assert report is fake_run["report"]
    enforce_quality_gate.fn(report)  # warnings never block
    assert "# Warehouse quality gate: passed" in artifacts[0]["markdown"]


def test_markdown_marks_checks_that_could_not_run(tmp_path: Path) -> None:
    report = _report(tmp_path, _result("dim_county.county_code.unique", passed=False, rows=None,
                                       detail="MetricResolutionError: boom\nline 2"))
    markdown = quality_markdown(report)
    assert "| not evaluated | dim_county.county_code.unique | MetricResolutionError: boom " \
           "line 2 |" in markdown


def test_skipping_does_not_import_great_expectations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, artifacts: list[dict[str, Any]]
) -> None:
    # A None entry makes any `import great_expectations` raise ImportError.
    for name in [m for m in sys.modules if m.split(".")[0] == "great_expectations"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "great_expectations", None)  # type: ignore[arg-type]
    report = check_warehouse.fn(_settings(tmp_path, run_quality_checks=False))
    assert report.skipped and report.success and not report.results
    assert not artifacts
    assert not (tmp_path / "w.duckdb").exists()  # nor did it connect


def test_a_run_that_loaded_nothing_is_not_checked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, artifacts: list[dict[str, Any]]
) -> None:
    """Nothing new: the warehouse is as the last checked run left it (the gate's cost
    follows the change); no Great Expectations, no connection."""
    for name in [m for m in sys.modules if m.split(".")[0] == "great_expectations"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "great_expectations", None)  # type: ignore[arg-type]
    report = check_warehouse.fn(_settings(tmp_path), outcomes=[])
    assert report.skipped and report.success and not report.results
    assert not (tmp_path / "w.duckdb").exists()


def _broken_vocational_warehouse(tmp_path: Path) -> Settings:
    """The sample warehouse with two negative intakes in fact_vocational_enrollment."""
    from tests.warehouse.sample import load_sample
    from warehouse.engine import make_engine
    from warehouse.schema import ensure_warehouse

    settings = _settings(tmp_path)
    engine = make_engine(settings.sqlalchemy_url())
    ensure_warehouse(engine)
    load_sample(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE fact_vocational_enrollment SET new_intake = -4 WHERE period = '2023'")
    engine.dispose()
    return settings


def _outcome(dataset: str, status: str) -> SubmissionOutcome:
    return SubmissionOutcome(
        submission_id=f"{dataset}-{status}", county_code="530602", dataset=dataset, period="2025-06",
        file_name="f.csv", status=status,
        counts=RowCounts(1, int(status != "rejected"), int(status == "rejected"), 0, 0, 0),
        report_path=None)


def test_a_run_repeats_only_the_checks_its_loads_can_affect(
    tmp_path: Path, artifacts: list[dict[str, Any]]
) -> None:
    """Facts of a dataset the run did not load are not checked again (the gate's cost
    follows the change); the same broken fact fails the gate of a run that loaded it."""
    settings = _broken_vocational_warehouse(tmp_path)
    every = len(check_warehouse.fn(settings).results)

    health = check_warehouse.fn(settings, outcomes=[
        _outcome("health_monthly", "accepted"), _outcome("vocational_enrollment", "rejected")])
    tables = {result.table for result in health.results}
    assert health.success and 0 < len(health.results) < every
    assert "fact_vocational_enrollment" not in tables and "mart_vocational_county_year" not in tables
    assert {"fact_health_monthly", "dim_county", "audit_submission", "mart_city_kpi"} <= tables

    vocational = check_warehouse.fn(settings, outcomes=[_outcome("vocational_enrollment", "accepted_with_warnings")])
    with pytest.raises(QualityGateError, match=r"fact_vocational_enrollment\.new_intake\.non_negative"):
        enforce_quality_gate.fn(vocational)


def test_a_broken_duckdb_warehouse_fails_the_task(
    tmp_path: Path, artifacts: list[dict[str, Any]]
) -> None:
    settings = _broken_vocational_warehouse(tmp_path)

    with pytest.raises(QualityGateError) as caught:
        enforce_quality_gate.fn(check_warehouse.fn(settings))
    assert "fact_vocational_enrollment.new_intake: 2 unexpected rows " \
           "(fact_vocational_enrollment.new_intake.non_negative)" in str(caught.value)
    assert "values: -4, -4" in str(caught.value)
    assert (tmp_path / "docs" / "index.html").exists()
    assert "fact_vocational_enrollment.new_intake.non_negative" in artifacts[0]["markdown"]
