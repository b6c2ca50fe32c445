"""The deployments: schedules and concurrency, built without serving; prefect.yaml in step."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from prefect.client.schemas.objects import ConcurrencyLimitStrategy
from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule
from prefect.deployments.runner import RunnerDeployment

from flows.deployments import COMPLETENESS, HEALTH_ROLLUP, INGEST, build_deployments

ROOT = Path(__file__).resolve().parents[2]
SHANGHAI = "Asia/Shanghai"


@pytest.fixture(scope="module")
def deployments(monkeypatch_module: pytest.MonkeyPatch) -> dict[str, RunnerDeployment]:
    monkeypatch_module.chdir(ROOT)  # entrypoints are relative to the repository root
    return {d.name: d for d in build_deployments()}


@pytest.fixture(scope="module")
def monkeypatch_module() -> Any:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def prefect_yaml() -> dict[str, dict[str, Any]]:
    document = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    return {d["name"]: d for d in document["deployments"]}


def test_the_three_deployments(deployments: dict[str, RunnerDeployment]) -> None:
    assert set(deployments) == {INGEST, COMPLETENESS, HEALTH_ROLLUP}
    assert {d.flow_name for d in deployments.values()} == {
        "countyflow-ingest", "countyflow-completeness", "countyflow-health-rollup"}
    for deployment in deployments.values():
        assert deployment.parameters == {}  # settings come from the environment: no secret in the API
        assert len(deployment.schedules) == 1 and deployment.schedules[0].active
        assert deployment.concurrency_limit == 1
        assert "countyflow" in deployment.tags


def test_ingest_every_15_minutes_never_two_at_once(deployments: dict[str, RunnerDeployment]) -> None:
    ingest = deployments[INGEST]
    schedule = ingest.schedules[0].schedule
    assert isinstance(schedule, IntervalSchedule)
    assert schedule.interval == timedelta(minutes=15)
    assert schedule.anchor_date == datetime(2025, 1, 1, tzinfo=ZoneInfo(SHANGHAI))
    assert ingest.concurrency_options is not None
    assert ingest.concurrency_options.collision_strategy == ConcurrencyLimitStrategy.CANCEL_NEW
    assert ingest.entrypoint == "flows/served.py:ingest_landing_zone"


def test_nightly_completeness_and_monthly_rollup_in_city_time(deployments: dict[str, RunnerDeployment]) -> None:
    nightly = deployments[COMPLETENESS].schedules[0].schedule
    monthly = deployments[HEALTH_ROLLUP].schedules[0].schedule
    assert isinstance(nightly, CronSchedule) and isinstance(monthly, CronSchedule)
    assert (nightly.cron, nightly.timezone) == ("30 1 * * *", SHANGHAI)
    assert (monthly.cron, monthly.timezone) == ("0 7 11 * *", SHANGHAI)


def test_deployment_versions_follow_their_own_flow_file(deployments: dict[str, RunnerDeployment]) -> None:
    assert len({d.version for d in deployments.values()}) == 3


def _schedule_from_yaml(entry: dict[str, Any]) -> CronSchedule | IntervalSchedule:
    if "cron" in entry:
        return CronSchedule(cron=entry["cron"], timezone=entry.get("timezone"))
    anchor = datetime.fromisoformat(entry["anchor_date"])
    return IntervalSchedule(interval=timedelta(seconds=entry["interval"]), anchor_date=anchor,
                            timezone=entry.get("timezone"))


def test_prefect_yaml_declares_the_same_deployments(
    deployments: dict[str, RunnerDeployment], prefect_yaml: dict[str, dict[str, Any]]
) -> None:
    assert set(prefect_yaml) == set(deployments)
    for name, built in deployments.items():
        declared = prefect_yaml[name]
        assert declared["entrypoint"] == built.entrypoint, name
        assert set(declared["tags"]) == set(built.tags), name
        assert declared.get("parameters", {}) == {}, name
        assert declared["description"] == built.description, name
        [entry] = declared["schedules"]
        ours, theirs = _schedule_from_yaml(entry), built.schedules[0].schedule
        assert type(ours) is type(theirs), name
        if isinstance(ours, CronSchedule):
            assert (ours.cron, ours.timezone) == (theirs.cron, theirs.timezone), name  # type: ignore[union-attr]
        else:
            assert (ours.interval, ours.anchor_date, ours.timezone) == (  # type: ignore[union-attr]
                theirs.interval, theirs.anchor_date, theirs.timezone), name  # type: ignore[union-attr]
        limit = declared["concurrency_limit"]
        assert built.concurrency_options is not None
        assert limit["limit"] == built.concurrency_limit, name
        assert limit["collision_strategy"] == built.concurrency_options.collision_strategy.value, name
        assert declared["work_pool"]["name"] == "countyflow"


def test_prefect_yaml_is_valid_for_prefect_deploy() -> None:
    """Prefect's own model of prefect.yaml accepts the file (what `prefect deploy` reads)."""
    from prefect.cli.deploy._models import PrefectYamlModel

    model = PrefectYamlModel.model_validate(yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8")))
    assert len(model.deployments) == 3


@pytest.mark.parametrize(("runner", "expected"), [("dask", "DaskTaskRunner"),
                                                  ("thread", "ThreadPoolTaskRunner")])
def test_served_ingest_runs_use_the_configured_task_runner(
    monkeypatch: pytest.MonkeyPatch, runner: str, expected: str
) -> None:
    """A deployment's run loads its flow from the entrypoint in a new process: the
    runner COUNTYFLOW_TASK_RUNNER asks for must come with the entrypoint itself."""
    from prefect.flows import load_flow_from_entrypoint

    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COUNTYFLOW_TASK_RUNNER", runner)
    flow = load_flow_from_entrypoint("flows/served.py:ingest_landing_zone")
    assert type(flow.task_runner).__name__ == expected
    assert flow.name == "countyflow-ingest"
