"""Health facilities at large scales: one code and one name per facility, all distinct."""

from __future__ import annotations

import polars as pl

from countyflow.demo import DEFAULT_SEED, demo_targets
from countyflow.demo.health import build_health


def test_scale_100_facilities_have_unique_codes_and_names() -> None:
    frame = build_health(DEFAULT_SEED, demo_targets(100))
    facilities = frame.select("facility_code", "facility_name").unique()
    assert facilities.height == 100
    assert facilities["facility_code"].n_unique() == 100
    assert facilities["facility_name"].n_unique() == 100
    # schemas/health_monthly.py: facility_code_format
    assert facilities["facility_code"].str.contains(r"^[0-9A-Z]{6,18}$").all()
    assert frame.group_by("period", "facility_code", "department").len()["len"].max() == 1
    assert frame.filter(pl.col("facility_code").is_null() | pl.col("facility_name").is_null()).is_empty()
