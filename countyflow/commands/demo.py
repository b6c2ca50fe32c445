"""`countyflow demo`: write the demo landing zone, run the pipeline, print the city KPIs.

The figures printed here are read back from `mart_city_kpi` and the county marts; this
module chooses which metrics to show, never their values.
"""

from __future__ import annotations

import polars as pl

from countyflow.commands.console import console, frame_table
from countyflow.commands.run import run_pipeline
from countyflow.demo.generate import write_demo_landing
from countyflow.settings import Settings
from tasks.resources import warehouse_engine
from warehouse.marts import read_mart

CHILDCARE_METRICS = (
    "sites", "children_enrolled", "children_yoy_change", "children_yoy_pct",
    "volunteers_university", "volunteers_other", "avg_service_days",
)
VOCATIONAL_METRICS = ("schools", "enrolled", "new_intake", "new_intake_yoy_change", "dropout_rate")
HEALTH_METRICS = (
    "surgeries_cumulative", "beds_open", "experts_dispatched_cumulative",
    "visiting_experts_cumulative", "resident_experts", "local_surgeons_independent",
    "departments_internal", "departments_surgical",
)


def run_demo(settings: Settings, *, scale: int = 1) -> int:
    """`scale` > 1 writes a larger landing zone (SPEC §8 figures then scale with it)."""
    manifest = write_demo_landing(settings.landing, scale=scale)
    console.print(f"Demo landing zone written to [bold]{settings.landing}[/] ({len(manifest.files)} files).")
    exit_code = run_pipeline(settings)
    if exit_code != 0:
        return exit_code
    print_city_kpis(settings)
    return 0


def kpi_table(kpis: pl.DataFrame, domain: str, metrics: tuple[str, ...]) -> pl.DataFrame:
    """Periods as rows, the chosen metrics as columns (grain: period)."""
    selected = kpis.filter((pl.col("domain") == domain) & pl.col("metric").is_in(metrics))
    if selected.is_empty():
        return pl.DataFrame({"period": []}, schema={"period": pl.Utf8})
    wide = selected.pivot(on="metric", index="period", values="value").sort("period")
    return wide.select("period", *[metric for metric in metrics if metric in wide.columns])


def print_city_kpis(settings: Settings) -> None:
    engine = warehouse_engine(settings)
    kpis = read_mart(engine, "mart_city_kpi")
    console.print(frame_table(kpi_table(kpis, "childcare", CHILDCARE_METRICS), "Holiday childcare (city)"))
    console.print(frame_table(kpi_table(kpis, "vocational", VOCATIONAL_METRICS), "Vocational education (city)"))
    health = kpi_table(kpis, "health", HEALTH_METRICS)
    if health.height:
        health = pl.concat([health.head(1), health.tail(1)]).unique(maintain_order=True)
    console.print(frame_table(health, "Cardiovascular centre (first and latest month)"))
    counties = read_mart(engine, "mart_childcare_county_season")
    latest = counties.sort("season_start")["season"][-1] if counties.height else None
    console.print(frame_table(
        counties.filter(pl.col("season") == latest).select(
            "county_code", "county_name", "sites", "children_enrolled", "volunteers_university",
            "volunteers_total", "children_yoy_pct",
        ),
        f"Childcare by county, {latest}",
    ))
