"""health_monthly → fact_health_monthly (grain: facility × department × month).

The month is the period; its first day is the fact's dim_date key. Carries
facility_name for dim_health_facility (SCD2).
"""

from __future__ import annotations

import polars as pl

from countyflow.ingest.model import SubmissionRef
from countyflow.periods import parse_period
from countyflow.transform._common import (
    PARTITION_SCHEMA,
    conform,
    date_key,
    finish,
    first_per,
    partition,
)
from schemas import contract_for
from schemas.contract import ColumnType

DATASET = "health_monthly"

MEASURES: tuple[str, ...] = tuple(
    column.name for column in contract_for(DATASET).columns if column.type is ColumnType.COUNT)
"""The contract's counts, in its order."""

SCHEMA: dict[str, pl.DataType] = {
    **PARTITION_SCHEMA,
    "facility_code": pl.Utf8(),
    "facility_name": pl.Utf8(),
    "department": pl.Utf8(),
    "month_date_key": pl.Int64(),
    **{measure: pl.Int64() for measure in MEASURES},
}


def to_facts(valid: pl.DataFrame, ref: SubmissionRef) -> pl.DataFrame:
    frame = conform(valid, DATASET)
    month_start = parse_period(ref.period).start
    return finish(
        frame.with_columns(
            *partition(ref),
            first_per("facility_name", "facility_code"),
            date_key(pl.lit(month_start, pl.Date)).alias("month_date_key"),
        ),
        SCHEMA,
    )
