"""Dimension maintenance: effective-dated SCD type 2, inferred members, key resolution.

All statements are set-based (`INSERT … SELECT`, `UPDATE … FROM`) over a staged source,
identical on DuckDB and PostgreSQL; one query first finds which of the steps below any
member needs, and only those run (usually none: members arrive as already known). A
version is valid on [valid_from, valid_to); the effective date of a submission is the
start of its period, so:

- the same period reporting different attributes is a correction: the version that
  starts on that date is updated in place (its facts were the superseded submission's);
- a later period reporting different attributes splits the covering version: it ends
  where the new one starts, and the new one inherits its end (and `is_current`);
- an earlier period than any known version (a late backfill) adds a version that ends
  where the first known one starts; a code never seen opens the current version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from warehouse.models import SCD2_OPEN_END, Base, DimDepartment, ScdVersion

UNKNOWN_GROUP = "unknown"
_VERSION_COLUMNS = frozenset({"valid_from", "valid_to", "is_current", "is_inferred"})


@dataclass(frozen=True)
class Scd2Dimension:
    """A versioned dimension: surrogate `key`, `natural_key`, tracked `attributes`."""

    table: sa.Table
    key: str
    natural_key: str
    attributes: tuple[str, ...]

    @classmethod
    def of(cls, table: sa.Table) -> Scd2Dimension:
        """The dimension as its model declares it: the surrogate key is the primary key,
        the natural key the other column of the unique (natural key, valid_from), the
        attributes every other column but the version columns."""
        key = next(iter(table.primary_key.columns)).name
        natural = next(
            column.name
            for constraint in table.constraints if isinstance(constraint, sa.UniqueConstraint)
            for column in constraint.columns
            if column.name != "valid_from" and "valid_from" in constraint.columns
        )
        attributes = tuple(c.name for c in table.columns
                           if c.name not in {key, natural} | _VERSION_COLUMNS)
        return cls(table, key, natural, attributes)


SCD2_DIMENSIONS: tuple[Scd2Dimension, ...] = tuple(
    Scd2Dimension.of(model.__table__)
    for model in Base.__subclasses__() if issubclass(model, ScdVersion)
)
"""Every SCD type 2 dimension, found by looking (models with the version columns)."""

_department = DimDepartment.__table__


def _changed(dim: Scd2Dimension, source: sa.FromClause) -> sa.ColumnElement[bool]:
    d = dim.table
    return sa.or_(*(d.c[a].is_distinct_from(source.c[a]) for a in dim.attributes))


def _pending(
    conn: Connection, dim: Scd2Dimension, source: sa.FromClause, effective: dt.date
) -> tuple[int, int, int]:
    """How many of `source`'s members each step of `upsert_versions` would touch:
    (corrections, splits, uncovered), from their covering versions, in one query. Most
    submissions report members exactly as known, and then no step needs to run."""
    d, nk = dim.table, dim.natural_key
    eff = sa.literal(effective, sa.Date)
    covering = source.outerjoin(
        d, sa.and_(d.c[nk] == source.c[nk], d.c.valid_from <= eff, d.c.valid_to > eff)
    )

    def count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    corrections, splits, uncovered = conn.execute(
        sa.select(
            count(sa.and_(d.c.valid_from == eff, sa.or_(_changed(dim, source), d.c.is_inferred))),
            count(sa.and_(d.c.valid_from < eff, _changed(dim, source))),
            count(d.c[dim.key].is_(None)),
        ).select_from(covering)
    ).one()
    return int(corrections), int(splits), int(uncovered)


def upsert_versions(
    conn: Connection, dim: Scd2Dimension, source: sa.FromClause, effective: dt.date
) -> None:
    """Apply one submission's members (one row per natural key in `source`, with every
    attribute) to `dim`, effective from `effective`. Only the steps some member needs
    are run (`_pending`)."""
    d, nk, attrs = dim.table, dim.natural_key, dim.attributes
    eff = sa.literal(effective, sa.Date)
    same_key = d.c[nk] == source.c[nk]
    corrections, splits, uncovered = _pending(conn, dim, source, effective)

    # 1. correction of the version starting on this date (also completes inferred members)
    if corrections:
        conn.execute(
            sa.update(d)
            .values({a: source.c[a] for a in attrs} | {"is_inferred": sa.false()})
            .where(same_key, d.c.valid_from == eff,
                   sa.or_(_changed(dim, source), d.c.is_inferred))
        )

    # 2. split the version covering the date when the attributes changed
    if splits:
        _split(conn, dim, source, effective)

    # 3. members with no version covering the date: new codes, or a period before the first
    if uncovered:
        _insert_uncovered(conn, dim, source, effective)


def _split(
    conn: Connection, dim: Scd2Dimension, source: sa.FromClause, effective: dt.date
) -> None:
    d, nk, attrs = dim.table, dim.natural_key, dim.attributes
    eff = sa.literal(effective, sa.Date)
    same_key = d.c[nk] == source.c[nk]
    strictly_covering = sa.and_(d.c.valid_from < eff, d.c.valid_to > eff)
    conn.execute(
        sa.insert(d).from_select(
            [nk, *attrs, "valid_from", "valid_to", "is_current", "is_inferred"],
            sa.select(
                source.c[nk],
                *(source.c[a] for a in attrs),
                eff,
                d.c.valid_to,
                d.c.is_current,
                sa.false(),
            )
            .select_from(source.join(d, sa.and_(same_key, strictly_covering)))
            .where(_changed(dim, source)),
        )
    )
    conn.execute(
        sa.update(d)
        .values(valid_to=eff, is_current=sa.false())
        .where(same_key, strictly_covering, _changed(dim, source))
    )


def ensure_members(
    conn: Connection, dim: Scd2Dimension, source: sa.FromClause, effective: dt.date
) -> None:
    """Inferred members for codes referenced by facts (`source`: natural key and
    county_code) that the dimension has never seen; their other attributes stay NULL
    until the registry reports them (step 1 of `upsert_versions` fills them in)."""
    d, nk = dim.table, dim.natural_key
    conn.execute(
        sa.insert(d).from_select(
            [nk, "county_code", "valid_from", "valid_to", "is_current", "is_inferred"],
            sa.select(
                source.c[nk],
                source.c.county_code,
                sa.literal(effective, sa.Date),
                sa.literal(SCD2_OPEN_END, sa.Date),
                sa.true(),
                sa.true(),
            ).where(~sa.exists().where(d.c[nk] == source.c[nk])),
        )
    )


def _insert_uncovered(
    conn: Connection,
    dim: Scd2Dimension,
    source: sa.FromClause,
    effective: dt.date,
) -> None:
    d, nk, attrs = dim.table, dim.natural_key, dim.attributes
    eff = sa.literal(effective, sa.Date)
    first = (
        sa.select(d.c[nk].label("nk"), sa.func.min(d.c.valid_from).label("first_from"))
        .group_by(d.c[nk])
        .subquery("first_version")
    )
    covered = sa.exists().where(d.c[nk] == source.c[nk], d.c.valid_from <= eff, d.c.valid_to > eff)
    conn.execute(
        sa.insert(d).from_select(
            [nk, *attrs, "valid_from", "valid_to", "is_current", "is_inferred"],
            sa.select(
                source.c[nk],
                *(source.c[a] for a in attrs),
                eff,
                sa.func.coalesce(first.c.first_from, sa.literal(SCD2_OPEN_END, sa.Date)),
                first.c.first_from.is_(None),
                sa.false(),
            )
            .select_from(source.outerjoin(first, first.c.nk == source.c[nk]))
            .where(~covered),
        )
    )


def key_map(
    dim: Scd2Dimension, codes: sa.FromClause | Sequence[str], effective: dt.date
) -> sa.Subquery:
    """(nk, key) for every code in `codes` (a staged source's natural-key column, or the
    codes themselves, bound as one array parameter rather than one parameter each): the
    version covering `effective`, or, for a code first known later, its earliest
    version. A code the dimension has never seen has no row."""
    d, nk = dim.table, dim.natural_key
    eff = sa.literal(effective, sa.Date)
    covering_first = sa.case(
        (sa.and_(d.c.valid_from <= eff, d.c.valid_to > eff), 0), else_=1
    )
    ranked = (
        sa.select(
            d.c[nk].label("nk"),
            d.c[dim.key].label("key"),
            sa.func.row_number()
            .over(partition_by=d.c[nk], order_by=(covering_first, d.c.valid_from))
            .label("rank"),
        )
        .where(d.c[nk].in_(
            sa.select(sa.func.unnest(sa.bindparam("codes", list(codes), type_=sa.ARRAY(sa.String))))
            if isinstance(codes, Sequence) else sa.select(codes.c[nk])
        ))
        .subquery(f"{dim.table.name}_ranked")
    )
    return (
        sa.select(ranked.c.nk, ranked.c.key)
        .where(ranked.c.rank == 1)
        .subquery(f"{dim.table.name}_keys")
    )


def ensure_departments(conn: Connection, source: sa.FromClause) -> None:
    """Add departments never seen before (`source.department`) with group 'unknown'."""
    conn.execute(
        sa.insert(_department).from_select(
            ["department", "department_group", "is_reference"],
            sa.select(source.c.department, sa.literal(UNKNOWN_GROUP), sa.false())
            .where(~sa.exists().where(_department.c.department == source.c.department))
            .distinct(),
        )
    )

