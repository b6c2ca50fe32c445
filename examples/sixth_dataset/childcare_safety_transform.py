"""childcare_safety → fact_childcare_safety (grain: site × inspection date).

The worked example of adding a dataset: this file goes to
`countyflow/transform/childcare_safety.py`."""

from __future__ import annotations

import polars as pl

from countyflow.ingest.model import SubmissionRef
from countyflow.transform._common import PARTITION_SCHEMA, conform, date_key, finish, partition

DATASET = "childcare_safety"

SCHEMA: dict[str, pl.DataType] = {
    **PARTITION_SCHEMA,
    "site_code": pl.Utf8(),
    "inspection_date": pl.Date(),
    "inspection_date_key": pl.Int64(),
    "hazards_found": pl.Int64(),
    "hazards_fixed": pl.Int64(),
}


def to_facts(valid: pl.DataFrame, ref: SubmissionRef) -> pl.DataFrame:
    frame = conform(valid, DATASET)
    return finish(frame.with_columns(
        *partition(ref), date_key("inspection_date").alias("inspection_date_key")), SCHEMA)
