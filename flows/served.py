"""Entry points of the deployments whose task runner is chosen by the environment.

A served or worker-run deployment loads its flow from an entrypoint in a fresh process,
so the runner `COUNTYFLOW_TASK_RUNNER` asks for must be applied where that entrypoint
is defined: here, when the run's process imports this module (an edge, like the CLI;
nothing connects). `flows/ingest.py` keeps the plain flow for library use and tests.
"""

from __future__ import annotations

from countyflow.settings import Settings
from flows.ingest import ingest_flow_for

ingest_landing_zone = ingest_flow_for(Settings())
"""The main flow with the configured task runner (threads, or Dask)."""
