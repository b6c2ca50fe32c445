"""A stand-in for a run that holds a warehouse's slot and then is killed (run as a script).

It takes the slot exactly as the ingest flow does (`one_run_per_warehouse`, inside a
Prefect flow on a temporary server, with the CLI's environment defaults), says so on
stdout, and sleeps until the test kills it with SIGKILL — no clean-up runs."""

from __future__ import annotations

import os
import sys
import time

from prefect import flow

import countyflow.cli  # noqa: F401  (the CLI's environment defaults, as `countyflow run` has them)
from countyflow.settings import Settings
from tasks.concurrency import one_run_per_warehouse


@flow(name="slot-holder")
@one_run_per_warehouse
def hold_the_slot(settings: Settings | None = None) -> None:
    print(f"holding pid={os.getpid()}", flush=True)
    time.sleep(3600)


if __name__ == "__main__":
    hold_the_slot(Settings(warehouse_url=sys.argv[1]))
