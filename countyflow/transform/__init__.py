"""Transforms: one pure function per dataset, validated frame → fact frame (Polars only).

`valid` is the validator's typed frame (the contract's canonical columns + `source_row`);
the result carries the partition (`submission_id`, `county_code`, `period`, `source_row`),
the natural keys and dimension attributes the loader resolves into dimension keys, and
the measures, including derived ones. Output columns and dtypes are fixed per dataset
(`FACT_SCHEMAS`), so the loader never guesses. The submission is the file's hash here; the
fact rows carry the warehouse's number for it instead (`submission_key`, written by the
loader, which checks the hash first).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from pkgutil import iter_modules
from types import ModuleType

import polars as pl

from countyflow.ingest.model import SubmissionRef


def _discover_transforms() -> tuple[ModuleType, ...]:
    """Every module of this package that names a `DATASET` (found by looking, as the
    contracts are: adding a dataset adds a module, not a line here)."""
    found = []
    for info in sorted(iter_modules(__path__), key=lambda info: info.name):
        module = import_module(f"{__name__}.{info.name}")
        if not info.name.startswith("_") and hasattr(module, "DATASET"):
            if info.name != module.DATASET:
                raise ValueError(f"countyflow/transform/{info.name}.py transforms {module.DATASET!r}")
            found.append(module)
    return tuple(found)


_MODULES = _discover_transforms()

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
