"""Pandera schemas built from the dataset contracts (nothing here is written per dataset).

`build_schema` turns a `Contract` into a `pandera.polars.DataFrameSchema`: one column per
contract column (dtype, nullable unless required) and one named check per contract rule,
plus `county_mismatch` for county columns. Each check is the rule's own Polars expression,
with null counted as passing (see `Rule`). A rule reading only its own column (and context)
is a column check; a rule comparing several contract columns is a DataFrame-level check. Checks are named by rule id, so
a failure case maps back to its rule.

Validate collected DataFrames only: on a LazyFrame Pandera checks the schema, not the data.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

import pandera.errors
import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData
from pandera.config import ValidationDepth, config_context

from schemas.contract import COMMON_RULES, ColumnType, Contract, Rule, Severity

COUNTY_MISMATCH = "county_mismatch"
PATH_COUNTY = "ctx_path_county"


@dataclass(frozen=True)
class SchemaCheck:
    """One check of a built schema: which rule it is and which column it reports on."""

    rule: str
    column: str
    severity: Severity
    message_zh: str
    message_en: str
    passes: Callable[[], pl.Expr]

    @property
    def inputs(self) -> frozenset[str]:
        """Every column (contract or context) the check reads."""
        return frozenset(self.passes().meta.root_names()) | {self.column}


def referenced_columns(expr: pl.Expr) -> frozenset[str]:
    return frozenset(expr.meta.root_names())


def _needed_context(rule: Rule) -> frozenset[str]:
    """Context a rule needs: what it declares, plus any `ctx_*` column its expression reads."""
    names = referenced_columns(rule.passes())
    return frozenset(rule.requires) | {name for name in names if name.startswith("ctx_")}


def schema_checks(contract: Contract, available_context: Collection[str]) -> tuple[SchemaCheck, ...]:
    """The checks a schema built with this context runs: contract rules whose context is
    available, then `county_mismatch` for each county column (needs `ctx_path_county`)."""
    available = frozenset(available_context)
    checks = [
        SchemaCheck(rule.id, rule.column, rule.severity, rule.message_zh, rule.message_en,
                    rule.passes)
        for rule in contract.rules if _needed_context(rule) <= available
    ]
    if PATH_COUNTY in available:
        text = COMMON_RULES[COUNTY_MISMATCH]
        for column in contract.columns:
            if column.type is ColumnType.COUNTY:
                checks.append(SchemaCheck(
                    COUNTY_MISMATCH, column.name, text.severity, text.message_zh,
                    text.message_en, _matches_path_county(column.name),
                ))
    return tuple(checks)


def is_column_check(check: SchemaCheck, contract: Contract) -> bool:
    """A check reading no contract column but its own (context aside) is a column check;
    one comparing several contract columns is a DataFrame-level check."""
    read = referenced_columns(check.passes()) & set(contract.column_names)
    return read <= {check.column}


def _matches_path_county(name: str) -> Callable[[], pl.Expr]:
    return lambda: pl.col(name) == pl.col(PATH_COUNTY)


def _check_fn(passes: Callable[[], pl.Expr]) -> Callable[[PolarsData], pl.LazyFrame]:
    def check(data: PolarsData) -> pl.LazyFrame:
        # A null result passes: missing values are the `value_required` rule's business.
        return data.lazyframe.select(passes().fill_null(True).alias("check_output"))

    return check


def _pandera_check(check: SchemaCheck) -> pa.Check:
    return pa.Check(_check_fn(check.passes), name=check.rule)


def build_schema(contract: Contract, available_context: set[str]) -> pa.DataFrameSchema:
    """A Pandera schema for a normalised frame of `contract` joined with its context.

    Rules needing context outside `available_context` are left out. Extra columns (the
    `ctx_*` context, `source_row`) are allowed; dtypes are checked, never coerced.
    """
    column_checks: dict[str, list[pa.Check]] = {column.name: [] for column in contract.columns}
    frame_checks: list[pa.Check] = []
    for check in schema_checks(contract, available_context):
        if is_column_check(check, contract):
            column_checks[check.column].append(_pandera_check(check))
        else:
            frame_checks.append(_pandera_check(check))
    columns = {
        column.name: pa.Column(column.dtype, nullable=not column.required,
                               checks=column_checks[column.name], coerce=False)
        for column in contract.columns
    }
    return pa.DataFrameSchema(columns, checks=frame_checks, strict=False, coerce=False,
                              name=contract.dataset)


def failure_cases(schema: pa.DataFrameSchema, frame: pl.DataFrame) -> pl.DataFrame | None:
    """Validate a collected frame lazily (every failure); Pandera's failure cases, or None.

    Data checks always run, whatever `PANDERA_VALIDATION_*` says in the environment: a
    submission must never pass because validation was switched off.
    """
    with config_context(validation_enabled=True,
                        validation_depth=ValidationDepth.SCHEMA_AND_DATA):
        try:
            schema.validate(frame, lazy=True)
        except pandera.errors.SchemaErrors as exc:
            return exc.failure_cases
    return None
