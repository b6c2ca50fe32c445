"""Transforms: one pure function per dataset, validated frame → fact frame (Polars only).

`valid` is the validator's typed frame (the contract's canonical columns + `source_row`);
the result carries the partition (`submission_id`, `county_code`, `period`, `source_row`),
the natural keys and dimension attributes the loader resolves into dimension keys, and
the measures, including derived ones. Output columns and dtypes are fixed per dataset
(`FACT_SCHEMAS`), so the loader never guesses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import ModuleType

import polars as pl

from countyflow.ingest.model import SubmissionRef
from countyflow.transform import (
    childcare_daily,
    childcare_sites,
    childcare_volunteers,
    health_monthly,
    vocational_enrollment,
)

_MODULES: tuple[ModuleType, ...] = (
    vocational_enrollment,
    childcare_sites,
    childcare_daily,
    childcare_volunteers,
    health_monthly,
)

Transform = Callable[[pl.DataFrame, SubmissionRef], pl.DataFrame]

TRANSFORMS: Mapping[str, Transform] = {module.DATASET: module.to_facts for module in _MODULES}
FACT_SCHEMAS: Mapping[str, Mapping[str, pl.DataType]] = {
    module.DATASET: module.SCHEMA for module in _MODULES
}


def transform_submission(dataset: str, valid: pl.DataFrame, ref: SubmissionRef) -> pl.DataFrame:
    """The fact frame of one validated submission of `dataset`."""
    try:
        transform = TRANSFORMS[dataset]
    except KeyError:
        raise KeyError(f"no transform for dataset {dataset!r}") from None
    return transform(valid, ref)


__all__ = ["FACT_SCHEMAS", "TRANSFORMS", "transform_submission"]
