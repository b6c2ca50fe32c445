"""Operations, through the real flows on a small DuckDB landing zone under the session harness:
the main flow's artifacts and HTML report, the completeness flow's events and artifacts, the
heart-centre roll-up, the warehouse concurrency limit and `countyflow status --as-of`.

绥江县 sends its childcare registry and volunteers (2024 and 2025 summer) and its vocational
enrolment (2023, 2024); the heart centre its last two months. Everything else the calendar
expects is deliberately missing, e.g. 绥江县's 2025-summer daily attendance.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from unittest import mock
from uuid import UUID

import pytest
from typer.testing import CliRunner

from countyflow.demo import plan_demo_submissions, write_submissions
from countyflow.pipeline import SubmissionOutcome
from countyflow.settings import Settings

pytestmark = pytest.mark.flow

SUIJIANG = "530626"
MISSING = f"countyflow.partition.{SUIJIANG}.childcare_daily.2025-summer"


def _small_landing() -> list[Any]:
    def wanted(county: str, dataset: str, period: str) -> bool:
        if county == SUIJIANG and dataset in ("childcare_sites", "childcare_volunteers"):
            return period in ("2024-summer", "2025-summer")
        if county == SUIJIANG and dataset == "vocational_enrollment":
            return period in ("2023", "2024")
        return dataset == "health_monthly" and period in ("2025-06", "2025-07")

    return [s for s in plan_demo_submissions() if wanted(s.file.county_code, s.file.dataset, s.file.period)]


@dataclass
class OpsRun:
    settings: Settings
    flow_run_id: UUID
    outcomes: list[SubmissionOutcome]
    folder: Path


def artifacts_of(flow_run_id: UUID) -> dict[str, Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return {artifact.key: artifact for artifact in found}


def table(artifact: Any) -> list[dict[str, Any]]:
    return json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data


@pytest.fixture(scope="module")
def ops_run(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpsRun]:
    from flows.ingest import ingest_landing_zone
    from tasks.resources import dispose_engines

    folder = tmp_path_factory.mktemp("ops")
    settings = Settings(
        warehouse_url=f"duckdb:///{folder / 'warehouse.duckdb'}", landing=str(folder / "landing"),
        archive_dir=folder / "archive", reports_dir=folder / "reports", staging_dir=folder / "staging",
        data_docs_dir=folder / "quality", run_quality_checks=False,  # the gate has its own tests
    )
    write_submissions(settings.landing, _small_landing())
    state = ingest_landing_zone(settings, return_state=True)
    outcomes = state.result()
    assert state.state_details.flow_run_id is not None
    try:
        yield OpsRun(settings, state.state_details.flow_run_id, outcomes, folder)
    finally:
        dispose_engines()


def test_the_small_landing_zone_loaded(ops_run: OpsRun) -> None:
    assert len(ops_run.outcomes) == 8
    assert all(o.status.startswith("accepted") for o in ops_run.outcomes)


def test_main_flow_artifacts(ops_run: OpsRun) -> None:
    artifacts = artifacts_of(ops_run.flow_run_id)
    assert {"countyflow-run-summary", "countyflow-submissions", "countyflow-completeness-matrix",
            "countyflow-city-kpis", "countyflow-run-report"} <= set(artifacts)

    submissions = table(artifacts["countyflow-submissions"])
    assert len(submissions) == 8
    assert set(submissions[0]) == {"county_code", "dataset", "period", "status", "rows_in", "rows_loaded",
                                   "rows_rejected", "rows_held", "warnings", "report_path"}
    assert all(Path(row["report_path"]).is_file() for row in submissions)

    kpis = {(r["domain"], r["metric"], r["period"]): r["value"] for r in table(artifacts["countyflow-city-kpis"])}
    assert kpis[("childcare", "sites", "2025-summer")] == 12
    assert kpis[("childcare", "volunteers_university", "2025-summer")] == 45
    assert ("health", "surgeries_cumulative", "2025-07") in kpis
    assert ("vocational", "new_intake_yoy_change", "2024") in kpis

    summary = artifacts["countyflow-run-summary"].data
    assert "## Submissions by status" in summary and "## Completeness as of" in summary
    assert "overdue" in summary and "file://" in summary

    matrix = artifacts["countyflow-completeness-matrix"].data
    assert "## childcare_daily" in matrix and "·O" in matrix and "Legend:" in matrix

    for text in (summary, matrix, json.dumps(submissions)):
        assert "13800000000" not in text and "填报人" not in text  # no personal data
        assert ".xlsx" not in text  # file names (free text) are not shown


def test_html_run_report_with_charts(ops_run: OpsRun) -> None:
    link = artifacts_of(ops_run.flow_run_id)["countyflow-run-report"].data
    runs = ops_run.settings.reports_dir / "runs"
    [report] = [p for p in runs.glob("*.html") if p.name != "latest.html"]
    assert str(ops_run.flow_run_id) in report.name and report.absolute().as_uri() in link
    assert (runs / "latest.html").read_text(encoding="utf-8") == report.read_text(encoding="utf-8")
    page = report.read_text(encoding="utf-8")
    assert "<script" not in page and "https://" not in page
    svgs = [ET.fromstring(svg) for svg in re.findall(r"<svg.*?</svg>", page, re.S)]
    bars = [[r for r in svg.iter("{http://www.w3.org/2000/svg}rect") if r.get("class") == "bar"] for svg in svgs]
    children, intake, surgeries = bars
    assert {(b.get("data-label"), b.get("data-series")) for b in children} == {
        ("绥江县", "2024-summer"), ("绥江县", "2025-summer")}
    assert [b.get("data-label") for b in intake] == ["2023", "2024"]
    assert [b.get("data-label") for b in surgeries] == ["2025-06", "2025-07"]
    assert "530626/childcare_sites/2025-summer/" in page  # the clerk reports are linked


def test_runs_never_overlap_on_one_warehouse(ops_run: OpsRun) -> None:
    from prefect.client.orchestration import get_client

    from tasks.concurrency import warehouse_lock_name

    with get_client(sync_client=True) as client:
        limit = client.read_global_concurrency_limit_by_name(
            warehouse_lock_name(ops_run.settings.safe_warehouse_url()))
    assert (limit.limit, limit.active_slots, limit.active) == (1, 0, True)


def test_completeness_flow_flags_the_missing_partition(ops_run: OpsRun) -> None:
    from flows.completeness import check_completeness

    with mock.patch("tasks.completeness.emit_event") as emit:
        state = check_completeness(ops_run.settings, as_of=date(2025, 10, 1), return_state=True)
    problems = state.result()
    overdue = {(r["county_code"], r["dataset"], r["period"]) for r in problems.iter_rows(named=True)
               if r["timeliness"] == "overdue"}
    assert (SUIJIANG, "childcare_daily", "2025-summer") in overdue
    assert (SUIJIANG, "childcare_sites", "2025-summer") not in overdue

    events = {call.kwargs["resource"]["prefect.resource.id"]: call.kwargs for call in emit.call_args_list}
    assert len(events) == len(overdue)
    event = events[MISSING]
    assert event["event"] == "countyflow.partition.overdue"
    assert event["payload"]["due_date"] == "2025-09-30" and event["payload"]["days_overdue"] == 1
    assert event["payload"]["status"] == "missing"

    artifacts = artifacts_of(state.state_details.flow_run_id)
    rows = table(artifacts["countyflow-overdue-partitions"])
    assert any(r["county_code"] == SUIJIANG and r["dataset"] == "childcare_daily"
               and r["period"] == "2025-summer" and r["timeliness"] == "overdue" for r in rows)
    assert "## childcare_daily" in artifacts["countyflow-completeness-matrix"].data


def test_completeness_respects_the_due_date(ops_run: OpsRun) -> None:
    from flows.completeness import check_completeness

    with mock.patch("tasks.completeness.emit_event") as emit:
        check_completeness(ops_run.settings, as_of=date(2025, 9, 30))
    assert MISSING not in {call.kwargs["resource"]["prefect.resource.id"] for call in emit.call_args_list}


def test_health_rollup_publishes_the_latest_month(ops_run: OpsRun) -> None:
    from flows.health_rollup import health_rollup

    state = health_rollup(ops_run.settings, return_state=True)
    rollup = state.result()
    assert set(rollup["month"].to_list()) == {"2025-07"}
    artifacts = artifacts_of(state.state_details.flow_run_id)
    text = artifacts["countyflow-heart-centre"].data
    assert text.startswith("# Cardiovascular centre — 2025-07") and "2025-06" in text
    kpis = {r["metric"]: r for r in table(artifacts["countyflow-heart-centre-kpis"])}
    assert kpis["beds_open"]["value"] == 268


def test_status_command_as_of(ops_run: OpsRun) -> None:
    from countyflow.cli import app

    url = ops_run.settings.warehouse_url.get_secret_value()
    runner = CliRunner()
    before = runner.invoke(app, ["status", "--warehouse", url, "--as-of", "2024-09-01"], terminal_width=200)
    after = runner.invoke(app, ["status", "--warehouse", url, "--as-of", "2025-10-01"], terminal_width=200)
    assert before.exit_code == 0 and after.exit_code == 0, before.output + after.output
    assert "childcare_daily" in after.output and "Legend" in after.output
    assert "As of 2025-10-01:" in after.output and "overdue" in after.output
    assert "As of 2024-09-01: " in before.output
    overdue = [int(line.split("overdue")[0].split(":")[-1]) for line in (before.output, after.output)
               for line in line.splitlines() if line.startswith("As of")]
    assert overdue[0] < overdue[1]


def test_a_failing_quality_gate_fails_the_run_after_its_summary_is_published(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tasks.check
    from flows.ingest import ingest_landing_zone
    from tasks.check import QualityGateError
    from tasks.resources import dispose_engines
    from warehouse.expectations import CheckResult, QualityReport

    failing = QualityReport(results=(CheckResult(
        name="fact_health_monthly.surgeries.non_negative", table="fact_health_monthly",
        column="surgeries", expectation="X", severity="error", passed=False, unexpected_count=2,
    ),))
    monkeypatch.setattr(tasks.check, "run_quality_checks", lambda engine, **_: failing)
    settings = Settings(
        warehouse_url=f"duckdb:///{tmp_path / 'warehouse.duckdb'}", landing=str(tmp_path / "landing"),
        archive_dir=tmp_path / "archive", reports_dir=tmp_path / "reports",
        staging_dir=tmp_path / "staging", data_docs_dir=tmp_path / "quality",
        run_quality_checks=True,
    )
    write_submissions(settings.landing, [s for s in _small_landing()
                                         if s.file.dataset == "health_monthly"])
    try:
        state = ingest_landing_zone(settings, return_state=True)
    finally:
        dispose_engines()
    assert state.is_failed()
    with pytest.raises(QualityGateError, match=r"fact_health_monthly\.surgeries: 2 unexpected rows"):
        state.result()
    artifacts = artifacts_of(state.state_details.flow_run_id)
    assert {"countyflow-quality", "countyflow-run-summary", "countyflow-submissions"} <= set(artifacts)
    assert "FAILED" in artifacts["countyflow-quality"].data
