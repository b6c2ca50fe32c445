"""Reference data shipped with countyflow (counties, calendar).

Reference data is data, not code: another prefecture is a change to the CSV files
beside this module. Files are read once per process and cached.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

import polars as pl

COUNTY_COLUMNS = ("county_code", "name_zh", "short_zh", "pinyin", "city_code", "city_name_zh")


def reference_path(name: str) -> Path:
    """Path of a reference file shipped inside the package."""
    return Path(str(files(__name__).joinpath(name)))


@cache
def counties() -> pl.DataFrame:
    """The reporting units: one row per county-level unit (grain: county_code)."""
    return pl.read_csv(reference_path("counties.csv"), schema_overrides={c: pl.Utf8 for c in COUNTY_COLUMNS})


@cache
def county_aliases() -> pl.DataFrame:
    """Every accepted spelling of a county, lower-cased, mapped to its code.

    Grain: alias. Codes, full names, short names and pinyin are all accepted
    (SPEC §2); matching is case-insensitive, so aliases are stored lower-cased.
    """
    frame = counties()
    parts = [
        frame.select(pl.col(column).str.to_lowercase().alias("alias"), "county_code")
        for column in ("county_code", "name_zh", "short_zh", "pinyin")
    ]
    return pl.concat(parts).unique(subset="alias", keep="first")


def county_codes() -> frozenset[str]:
    return frozenset(counties()["county_code"].to_list())


def county_name(county_code: str) -> str | None:
    match = counties().filter(pl.col("county_code") == county_code)
    return match["name_zh"].item() if match.height else None
