"""childcare_sites → fact_childcare_site_season (grain: site × season).

Derives service_days = end_date − start_date + 1 and the dim_date keys of both dates;
carries the site's attributes for dim_childcare_site (SCD2).
"""

from __future__ import annotations

import polars as pl

from countyflow.ingest.model import SubmissionRef
from countyflow.transform._common import PARTITION_SCHEMA, conform, date_key, finish, partition

DATASET = "childcare_sites"

SCHEMA: dict[str, pl.DataType] = {
    **PARTITION_SCHEMA,
    "site_code": pl.Utf8(),
    "site_name": pl.Utf8(),
    "township": pl.Utf8(),
    "host_type": pl.Utf8(),
    "start_date": pl.Date(),
    "end_date": pl.Date(),
    "start_date_key": pl.Int64(),
    "end_date_key": pl.Int64(),
    "service_days": pl.Int64(),
    "hours_per_day": pl.Float64(),
    "meal_subsidy_yuan": pl.Float64(),
    "children_enrolled": pl.Int64(),
    "left_behind_children": pl.Int64(),
    "relocated_children": pl.Int64(),
    "service_person_times": pl.Int64(),
}


def to_facts(valid: pl.DataFrame, ref: SubmissionRef) -> pl.DataFrame:
    frame = conform(valid, DATASET)
    return finish(
        frame.with_columns(
            *partition(ref),
            date_key("start_date").alias("start_date_key"),
            date_key("end_date").alias("end_date_key"),
            ((pl.col("end_date") - pl.col("start_date")).dt.total_days() + 1)
            .cast(pl.Int64)
            .alias("service_days"),
        ),
        SCHEMA,
    )
