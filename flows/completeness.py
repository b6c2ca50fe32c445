"""The nightly completeness check: who still owes what, and what arrived late.

It only composes: read `mart_submission_status`, judge it as of a day (pure:
`countyflow.completeness`), then log, publish and emit one Prefect event per overdue
partition (`countyflow.partition.overdue`) for an automation to notify on.
"""

from __future__ import annotations

from datetime import date

import polars as pl
from prefect import flow

from countyflow.completeness import city_today
from countyflow.settings import Settings
from tasks.completeness import assess_completeness, report_completeness
from tasks.concurrency import one_run_per_warehouse
from tasks.load import read_mart


@flow(name="countyflow-completeness", log_prints=False)
@one_run_per_warehouse  # DuckDB: one process at a time may open the warehouse file
def check_completeness(settings: Settings | None = None, as_of: date | None = None) -> pl.DataFrame:
    """Flag every partition overdue or late as of `as_of` (default: today in Zhaotong)."""
    settings = settings or Settings()
    as_of = as_of or city_today()
    assessed = assess_completeness(read_mart("mart_submission_status", settings), as_of)
    return report_completeness(assessed, as_of)
