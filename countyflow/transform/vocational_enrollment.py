"""vocational_enrollment → fact_vocational_enrollment (grain: school × program × track × grade
per school year). Carries school_name so the loader can keep dim_school (SCD2) current."""

from __future__ import annotations

import polars as pl

from countyflow.ingest.model import SubmissionRef
from countyflow.transform._common import PARTITION_SCHEMA, conform, finish, first_per, partition

DATASET = "vocational_enrollment"

SCHEMA: dict[str, pl.DataType] = {
    **PARTITION_SCHEMA,
    "school_code": pl.Utf8(),
    "school_name": pl.Utf8(),
    "program": pl.Utf8(),
    "track": pl.Utf8(),
    "grade": pl.Int64(),
    "enrolled": pl.Int64(),
    "new_intake": pl.Int64(),
    "dropouts": pl.Int64(),
}


def to_facts(valid: pl.DataFrame, ref: SubmissionRef) -> pl.DataFrame:
    frame = conform(valid, DATASET)
    return finish(
        frame.with_columns(*partition(ref), first_per("school_name", "school_code")),
        SCHEMA,
    )
