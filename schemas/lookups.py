"""Context a rule may need beyond the submission itself.

Always present (from the submission's path): `ctx_path_county`, `ctx_period_start`,
`ctx_period_end`. Named lookups are frames the warehouse provides (see
`warehouse.lookups`) and the validator left-joins on their keys; a rule that `requires`
a lookup column is skipped when that lookup is unavailable (e.g. `countyflow check`
without a warehouse), unless the lookup has a default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import polars as pl

from countyflow.reference import reference_path

PATH_CONTEXT: Mapping[str, type[pl.DataType]] = {
    "ctx_path_county": pl.Utf8,
    "ctx_period_start": pl.Date,
    "ctx_period_end": pl.Date,
}


@dataclass(frozen=True)
class Lookup:
    """A frame joined onto a submission: `keys` plus the `ctx_*` columns it provides.

    `flag` is a boolean column set true on every lookup row, so after the left join a
    null flag means "no match" (filled with false).
    """

    name: str
    keys: tuple[str, ...]
    columns: Mapping[str, type[pl.DataType]]
    flag: str | None = None
    default: Callable[[], pl.DataFrame] | None = None

    @property
    def schema(self) -> dict[str, type[pl.DataType]]:
        return {**{key: pl.Utf8 for key in self.keys}, **self.columns}


def _canonical_departments() -> pl.DataFrame:
    departments = pl.read_csv(reference_path("departments.csv"))
    return departments.select("department", pl.lit(True).alias("ctx_department_known"))


LOOKUPS: Mapping[str, Lookup] = {
    lookup.name: lookup
    for lookup in (
        Lookup(
            "site_registry",
            keys=("site_code",),
            columns={
                "ctx_site_known": pl.Boolean,
                "ctx_site_start": pl.Date,
                "ctx_site_end": pl.Date,
                "ctx_site_children_enrolled": pl.Int64,
            },
            flag="ctx_site_known",
        ),
        Lookup(
            "surgery_history",
            keys=("facility_code", "department"),
            columns={"ctx_surgeries_median_12m": pl.Float64},
        ),
        Lookup(
            "known_departments",
            keys=("department",),
            columns={"ctx_department_known": pl.Boolean},
            flag="ctx_department_known",
            default=_canonical_departments,
        ),
    )
}
