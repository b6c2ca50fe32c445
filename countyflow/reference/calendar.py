"""The submission calendar: which county owes which dataset for which period, and by when.

Reference data (`calendar.csv`), not code. `county_code` may be `*` (every county of
`counties.csv`); a row naming a county overrides a `*` row of the same dataset and
period. Due dates are inclusive.
"""

from __future__ import annotations

from functools import cache

import polars as pl

from countyflow.reference import counties, reference_path

ALL_COUNTIES = "*"

CALENDAR_SCHEMA: dict[str, pl.DataType] = {
    "county_code": pl.Utf8(),
    "dataset": pl.Utf8(),
    "period": pl.Utf8(),
    "due_date": pl.Date(),
}


@cache
def submission_calendar() -> pl.DataFrame:
    """One row per expected partition (grain: county × dataset × period) with its due date."""
    raw = pl.read_csv(
        reference_path("calendar.csv"),
        schema_overrides={"county_code": pl.Utf8, "dataset": pl.Utf8, "period": pl.Utf8},
        try_parse_dates=False,
    ).with_columns(pl.col("due_date").str.to_date("%Y-%m-%d"))
    codes = counties().select("county_code")
    wildcard = (
        raw.filter(pl.col("county_code") == ALL_COUNTIES)
        .drop("county_code")
        .join(codes, how="cross")
        .with_columns(pl.lit(0).alias("_explicit"))
    )
    explicit = raw.filter(pl.col("county_code") != ALL_COUNTIES).with_columns(
        pl.lit(1).alias("_explicit")
    )
    return (
        pl.concat([wildcard.select(explicit.columns), explicit])
        .sort("_explicit")
        .unique(subset=["county_code", "dataset", "period"], keep="last", maintain_order=True)
        .select(pl.col(name).cast(dtype) for name, dtype in CALENDAR_SCHEMA.items())
        .sort("dataset", "period", "county_code")
    )
