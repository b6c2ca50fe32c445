"""What validation should say about a demo file: the contract's own rules on its canonical rows.

The demo knows each file's intended (canonical, typed) rows, so it evaluates every row rule
of the dataset contract on them, with the context the warehouse would provide (the site
registry of the season, the department's surgery history, the known departments). The
result is the expected set of rule ids per file, recorded in the manifest; it does not use
the project's readers, so it states what a correct pipeline must find.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from countyflow.periods import parse_period
from schemas import contract_for
from schemas.contract import Severity
from schemas.lookups import LOOKUPS


@dataclass(frozen=True)
class RuleHits:
    errors: Mapping[str, int]
    warnings: Mapping[str, int]


def rule_hits(dataset: str, frame: pl.DataFrame, *, county_code: str, period: str,
              lookups: Mapping[str, pl.DataFrame]) -> RuleHits:
    """Rows failing each rule of the dataset's contract (rules whose context is missing are skipped)."""
    contract = contract_for(dataset)
    window = parse_period(period)
    work = frame.with_columns(
        pl.lit(county_code).alias("ctx_path_county"),
        pl.lit(window.start).alias("ctx_period_start"),
        pl.lit(window.end).alias("ctx_period_end"),
    )
    for name in contract.lookups:
        lookup = LOOKUPS[name]
        table = lookups.get(name)
        if table is None and lookup.default is not None:
            table = lookup.default()
        if table is None:
            continue
        work = work.join(table.select(*lookup.keys, *lookup.columns), on=list(lookup.keys), how="left")
        if lookup.flag:
            work = work.with_columns(pl.col(lookup.flag).fill_null(False))
    errors: dict[str, int] = {}
    warnings: dict[str, int] = {}
    for rule in contract.rules:
        if not all(column in work.columns for column in rule.requires):
            continue
        failing = int(work.select((~rule.passes().fill_null(True)).sum()).item())
        if failing:
            (errors if rule.severity is Severity.ERROR else warnings)[rule.id] = failing
    return RuleHits(errors, warnings)


def site_registry(sites: pl.DataFrame) -> pl.DataFrame:
    """The `site_registry` lookup from a season's accepted sites of one county."""
    return sites.select(
        "site_code",
        pl.lit(True).alias("ctx_site_known"),
        pl.col("start_date").alias("ctx_site_start"),
        pl.col("end_date").alias("ctx_site_end"),
        pl.col("children_enrolled").alias("ctx_site_children_enrolled"),
    )


def surgery_history(health: pl.DataFrame) -> pl.DataFrame:
    """Per facility × department × month: the median surgeries of the previous 12 months."""
    return (
        health.sort("period")
        .with_columns(
            pl.col("surgeries").rolling_median(window_size=12, min_samples=1).shift(1)
            .over("facility_code", "department").alias("ctx_surgeries_median_12m"))
        .select("period", "facility_code", "department", "ctx_surgeries_median_12m")
    )
