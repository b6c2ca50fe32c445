"""The deployments of countyflow, with their schedules and concurrency (pure construction).

`build_deployments()` makes the `RunnerDeployment` objects that `countyflow serve` serves;
nothing here talks to the Prefect API. `prefect.yaml` at the repository root declares the
same deployments for a work pool (`prefect deploy --all` + a process worker); a test keeps
the two in step.

Deployments carry no parameters: every run reads `COUNTYFLOW_*` from the environment of
the process that runs it, so no secret ever reaches the Prefect API.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron, Interval, Schedule
from prefect.utilities.hashing import file_hash

CITY_TIMEZONE = "Asia/Shanghai"

INGEST = "ingest-every-15-minutes"
COMPLETENESS = "completeness-nightly"
HEALTH_ROLLUP = "health-rollup-monthly"

INGEST_INTERVAL = timedelta(minutes=15)
INGEST_ANCHOR = datetime(2025, 1, 1, tzinfo=ZoneInfo(CITY_TIMEZONE))
"""Anchored on a quarter hour, so runs start at :00, :15, :30 and :45 city time."""
COMPLETENESS_CRON = "30 1 * * *"
"""01:30 city time: the city day just ended, so a partition due yesterday is overdue today."""
HEALTH_ROLLUP_CRON = "0 7 11 * *"
"""The 11th, 07:00 city time: monthly health reports are due on the 10th."""


@dataclass(frozen=True)
class DeploymentSpec:
    """One deployment: which flow, when, and how many runs at once."""

    name: str
    flow: str
    """`module:function` of the flow."""
    description: str
    tags: tuple[str, ...]
    schedule: Schedule
    concurrency: ConcurrencyLimitConfig

    def load_flow(self) -> Any:
        module, function = self.flow.split(":")
        return getattr(importlib.import_module(module), function)

    @property
    def entrypoint(self) -> str:
        """`path/to/module.py:name`, relative to the repository root. Stated rather than
        inferred: Prefect infers it from the function's file, which for a flow given
        another task runner (`flows/served.py`) is the wrong module."""
        module, function = self.flow.split(":")
        return f"{module.replace('.', '/')}.py:{function}"


def source_version(flow: Any) -> str | None:
    """A hash of the flow's own module, as Prefect would compute it without the
    `one_run_per_warehouse` wrapper (whose file would otherwise be hashed)."""
    source = inspect.getsourcefile(inspect.unwrap(flow.fn))
    return file_hash(source) if source else None


DEPLOYMENTS: tuple[DeploymentSpec, ...] = (
    DeploymentSpec(
        name=INGEST,
        # the flow with the task runner COUNTYFLOW_TASK_RUNNER asks for (threads or Dask)
        flow="flows.served:ingest_landing_zone",
        description="Process everything new in the landing zone into the warehouse.",
        tags=("countyflow", "ingest"),
        schedule=Interval(INGEST_INTERVAL, anchor_date=INGEST_ANCHOR, timezone=CITY_TIMEZONE),
        # A run still busy when the next one is due: skip the new one, the next picks up its files.
        concurrency=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW),
    ),
    DeploymentSpec(
        name=COMPLETENESS,
        flow="flows.completeness:check_completeness",
        description="Flag partitions overdue or late against the submission calendar; "
                    "emit countyflow.partition.overdue events.",
        tags=("countyflow", "completeness"),
        schedule=Cron(COMPLETENESS_CRON, timezone=CITY_TIMEZONE),
        concurrency=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW),
    ),
    DeploymentSpec(
        name=HEALTH_ROLLUP,
        flow="flows.health_rollup:health_rollup",
        description="Publish the cardiovascular centre's KPIs for the latest loaded month.",
        tags=("countyflow", "health"),
        schedule=Cron(HEALTH_ROLLUP_CRON, timezone=CITY_TIMEZONE),
        concurrency=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE),
    ),
)


def build_deployments(specs: tuple[DeploymentSpec, ...] = DEPLOYMENTS) -> list[RunnerDeployment]:
    """The `RunnerDeployment`s to serve (no API call: safe to build in tests)."""
    deployments = []
    for spec in specs:
        flow = spec.load_flow()
        deployment = flow.to_deployment(
            name=spec.name,
            version=source_version(flow),
            description=spec.description,
            tags=list(spec.tags),
            schedules=[spec.schedule],
            concurrency_limit=spec.concurrency,
        )
        deployment.entrypoint = spec.entrypoint
        deployments.append(deployment)
    return deployments
