"""Context frames the validator joins onto a submission (see `schemas.lookups`).

Each frame has exactly the `Lookup.schema` of its name. Facts hold only current accepted
submissions, so the site registry here is always the registry after supersession.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from countyflow.periods import PeriodKind, parse_period
from schemas.contract import Contract
from schemas.lookups import LOOKUPS
from warehouse.ledger import has_accepted
from warehouse.models import (
    DimChildcareSite,
    DimDepartment,
    DimHealthFacility,
    FactChildcareSiteSeason,
    FactHealthMonthly,
)

HISTORY_MONTHS = 12


def fetch_lookups(
    engine: Engine, contract: Contract, *, county_code: str, period: str
) -> dict[str, pl.DataFrame | None]:
    """One frame per name in `contract.lookups` for the partition (county, period);
    None means "not available" (the validator then holds or skips, per the contract)."""
    unknown = [name for name in contract.lookups if name not in _FETCHERS]
    if unknown:
        raise KeyError(f"no warehouse lookup named {unknown}")
    with engine.connect() as conn:
        return {
            name: _typed(name, _FETCHERS[name](conn, county_code, period))
            for name in contract.lookups
        }


def _typed(name: str, frame: pl.DataFrame | None) -> pl.DataFrame | None:
    if frame is None:
        return None
    schema = LOOKUPS[name].schema
    return frame.select(pl.col(column).cast(dtype) for column, dtype in schema.items())


def _frame(rows: list[tuple[object, ...]], schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=dict(schema), orient="row")


def _site_registry(conn: Connection, county_code: str, period: str) -> pl.DataFrame | None:
    """Sites of the county's current accepted childcare_sites submission for the season;
    None when no childcare_sites submission of that partition has been accepted."""
    if not has_accepted(conn, county_code=county_code, dataset="childcare_sites", period=period):
        return None
    fact, site = FactChildcareSiteSeason.__table__, DimChildcareSite.__table__
    rows = conn.execute(
        sa.select(site.c.site_code, fact.c.start_date, fact.c.end_date, fact.c.children_enrolled)
        .select_from(fact.join(site, site.c.site_key == fact.c.site_key))
        .where(fact.c.county_code == county_code, fact.c.period == period)
    ).all()
    return _frame(
        [tuple(row) for row in rows],
        {"site_code": pl.Utf8(), "ctx_site_start": pl.Date(), "ctx_site_end": pl.Date(),
         "ctx_site_children_enrolled": pl.Int64()},
    ).with_columns(pl.lit(True).alias("ctx_site_known"))


def _previous_months(period: str, count: int) -> list[str]:
    current = parse_period(period)
    if current.kind is not PeriodKind.MONTH:
        raise ValueError(f"surgery history needs a month period, not {period!r}")
    labels, month = [], current.start
    for _ in range(count):
        month = (month - dt.timedelta(days=1)).replace(day=1)
        labels.append(f"{month.year:04d}-{month.month:02d}")
    return labels


def _surgery_history(conn: Connection, county_code: str, period: str) -> pl.DataFrame:
    """Per facility × department, the median of monthly surgeries over the 12 months
    before `period` (all counties: the history belongs to the facility). Empty when
    there is no history, which leaves the spike rule without a reference (it passes)."""
    fact = FactHealthMonthly.__table__
    facility, department = DimHealthFacility.__table__, DimDepartment.__table__
    rows = conn.execute(
        sa.select(facility.c.facility_code, department.c.department, fact.c.surgeries)
        .select_from(
            fact.join(facility, facility.c.facility_key == fact.c.facility_key).join(
                department, department.c.department_key == fact.c.department_key
            )
        )
        .where(fact.c.period.in_(_previous_months(period, HISTORY_MONTHS)))
    ).all()
    history = _frame(
        [tuple(row) for row in rows],
        {"facility_code": pl.Utf8(), "department": pl.Utf8(), "surgeries": pl.Int64()},
    )
    return history.group_by("facility_code", "department").agg(
        pl.col("surgeries").median().alias("ctx_surgeries_median_12m")
    )


def _known_departments(conn: Connection, county_code: str, period: str) -> pl.DataFrame:
    """Every department in dim_department (reference ones and those seen before)."""
    department = DimDepartment.__table__
    rows = conn.execute(sa.select(department.c.department)).all()
    return _frame([tuple(row) for row in rows], {"department": pl.Utf8()}).with_columns(
        pl.lit(True).alias("ctx_department_known")
    )


_FETCHERS: Mapping[str, Callable[[Connection, str, str], pl.DataFrame | None]] = {
    "site_registry": _site_registry,
    "surgery_history": _surgery_history,
    "known_departments": _known_departments,
}
