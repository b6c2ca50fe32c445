"""Helpers shared by the per-dataset transforms (pure Polars, no I/O)."""

from __future__ import annotations

import polars as pl

from countyflow.ingest.model import SOURCE_ROW, SubmissionRef
from schemas import contract_for

PARTITION_SCHEMA: dict[str, pl.DataType] = {
    "submission_id": pl.Utf8(),
    "county_code": pl.Utf8(),
    "period": pl.Utf8(),
    SOURCE_ROW: pl.Int64(),
}


def conform(valid: pl.DataFrame, dataset: str) -> pl.DataFrame:
    """The contract's columns (and `source_row`) typed per contract, in file order.

    Optional columns a file did not carry are added as typed nulls, so every transform
    sees one shape; a missing required column is a bug upstream and raises.
    """
    contract = contract_for(dataset)
    missing = [c for c in (*contract.required_columns, SOURCE_ROW) if c not in valid.columns]
    if missing:
        raise ValueError(f"{dataset}: validated frame lacks required columns {missing}")
    exprs = [
        (pl.col(column.name) if column.name in valid.columns else pl.lit(None))
        .cast(column.dtype)
        .alias(column.name)
        for column in contract.columns
    ]
    return valid.select(*exprs, pl.col(SOURCE_ROW).cast(pl.Int64)).sort(SOURCE_ROW)


def partition(ref: SubmissionRef) -> list[pl.Expr]:
    """Columns that tie every fact row to its submission and partition."""
    return [
        pl.lit(ref.submission_id, pl.Utf8).alias("submission_id"),
        pl.lit(ref.county_code, pl.Utf8).alias("county_code"),
        pl.lit(ref.period, pl.Utf8).alias("period"),
        pl.col(SOURCE_ROW),
    ]


def date_key(column: str | pl.Expr) -> pl.Expr:
    """The `dim_date` key of a date: yyyymmdd as an integer (deterministic, no lookup)."""
    expr = pl.col(column) if isinstance(column, str) else column
    return (
        expr.dt.year().cast(pl.Int64) * 10_000
        + expr.dt.month().cast(pl.Int64) * 100
        + expr.dt.day().cast(pl.Int64)
    )


def first_per(column: str, key: str) -> pl.Expr:
    """One value of `column` per `key` (the first in file order).

    A dimension attribute (a school's name) must be single-valued within one
    submission, or one file would open two SCD2 versions of the same member at once.
    """
    return pl.col(column).first().over(key).alias(column)


def finish(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Select and cast to the transform's declared output schema."""
    return frame.select(pl.col(name).cast(dtype) for name, dtype in schema.items())
