"""The monthly cardiovascular-centre roll-up: the heart-centre KPIs of the latest month.

It only composes: read `mart_city_kpi` and `mart_health_facility_month`, publish the
roll-up artifact (`countyflow-heart-centre`); the figures come from the marts.
"""

from __future__ import annotations

import polars as pl
from prefect import flow

from countyflow.settings import Settings
from tasks.concurrency import one_run_per_warehouse
from tasks.load import read_marts
from tasks.publish import publish_heart_centre_rollup

ROLLUP_MARTS = ("mart_city_kpi", "mart_health_facility_month")


@flow(name="countyflow-health-rollup", log_prints=False)
@one_run_per_warehouse  # DuckDB: one process at a time may open the warehouse file
def health_rollup(settings: Settings | None = None, month: str | None = None) -> pl.DataFrame:
    """Publish the centre's KPIs for `month` (YYYY-MM; default: the latest loaded month)."""
    settings = settings or Settings()
    marts = read_marts(ROLLUP_MARTS, settings)
    return publish_heart_centre_rollup(marts["mart_city_kpi"], marts["mart_health_facility_month"], month)
