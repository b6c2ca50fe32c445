"""childcare_volunteers → fact_childcare_volunteers (grain: site × source × institution)."""

from __future__ import annotations

import polars as pl

from countyflow.ingest.model import SubmissionRef
from countyflow.transform._common import PARTITION_SCHEMA, conform, finish, partition

DATASET = "childcare_volunteers"

SCHEMA: dict[str, pl.DataType] = {
    **PARTITION_SCHEMA,
    "site_code": pl.Utf8(),
    "source": pl.Utf8(),
    "institution": pl.Utf8(),
    "volunteers": pl.Int64(),
}


def to_facts(valid: pl.DataFrame, ref: SubmissionRef) -> pl.DataFrame:
    frame = conform(valid, DATASET)
    return finish(frame.with_columns(*partition(ref)), SCHEMA)
