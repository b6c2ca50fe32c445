"""childcare_daily → fact_childcare_daily (grain: site × date)."""

from __future__ import annotations

import polars as pl

from countyflow.ingest.model import SubmissionRef
from countyflow.transform._common import PARTITION_SCHEMA, conform, date_key, finish, partition

DATASET = "childcare_daily"

SCHEMA: dict[str, pl.DataType] = {
    **PARTITION_SCHEMA,
    "site_code": pl.Utf8(),
    "date": pl.Date(),
    "date_key": pl.Int64(),
    "children_present": pl.Int64(),
    "volunteers_on_duty": pl.Int64(),
    "meals_served": pl.Int64(),
}


def to_facts(valid: pl.DataFrame, ref: SubmissionRef) -> pl.DataFrame:
    frame = conform(valid, DATASET)
    # The row's own county (optional here) is checked against the path by the
    # validator; the partition's county is the one that owns the fact.
    return finish(frame.with_columns(*partition(ref), date_key("date").alias("date_key")), SCHEMA)
