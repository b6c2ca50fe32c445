"""Recording submissions: ledger, issues, dimensions and facts, one transaction each.

`record_submission` is the only writer of facts. The ledger rows and issues it writes are
written by `warehouse.ledger`, within its transaction. Per submission, atomically:

1. the ledger row is inserted (or, for a submission that was `waiting`, updated);
2. its issues replace any recorded before (at most N per rule × column, then one summary
   issue `and K more rows (rows a–b)`; see `record_submission`);
3. if it is accepted: the dimension members it reports are applied (SCD2), then, if it
   is newer (`SubmissionRef.sort_key`) than the partition's current accepted submission,
   that one's facts are deleted and it is marked `superseded`, and the new facts are
   inserted in bulk; if it is older, it is recorded `superseded` directly and nothing
   else is touched. A rejected or waiting submission never touches facts.

Facts therefore only ever hold the current accepted submission of each partition.

Fact rows name their submission by its ledger key (`submission_key`, assigned by the
database when the ledger row is first inserted; `warehouse.ledger.record` returns it), not
by the hash the transforms tie their rows to (`submission_id`): the loader checks the
frame's hash against the submission being recorded, then writes the key on every row.

Facts have no FOREIGN KEY constraints (per-row checks were most of the cost of a bulk
insert on PostgreSQL; see `warehouse.models`), so this module guarantees every reference
itself, inside the transaction, before any fact row is written: only the distinct members
and codes are staged (for the SCD2 upserts), the (natural key → surrogate key) map of the
submission's codes and the departments' keys are fetched and joined to the facts in
Polars, and the distinct dates, tracks and volunteer sources the facts name are counted in
their tables; a row whose member is missing refuses the whole submission. The
partition's references (ledger row, period, county) are checked once per submission, in
the same query, the period being seeded only when it was never seen. The resolved rows
then go straight into the fact table (`warehouse.staging.append_rows`: COPY on
PostgreSQL, an insert from the registered Arrow table on DuckDB), joined to nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from countyflow.ingest.model import SubmissionRef, SubmissionStatus, Verdict
from countyflow.periods import parse_period
from countyflow.settings import MAX_ISSUE_ROWS_PER_RULE
from countyflow.transform import FACT_SCHEMAS
from warehouse import ledger
from warehouse.dimensions import (
    SCD2_DIMENSIONS,
    Scd2Dimension,
    ensure_departments,
    ensure_members,
    key_map,
    upsert_versions,
)
from warehouse.locking import dimension_locks, lock_names, write_lock
from warehouse.models import (
    ACCEPTED_STATUSES,
    FACT_MODELS,
    DimCounty,
    DimDate,
    DimDepartment,
    DimPeriod,
    referenced_column,
)
from warehouse.schema import seed_periods
from warehouse.staging import append_rows, row_security_active, staged

_departments: sa.Table = DimDepartment.__table__
_periods: sa.Table = DimPeriod.__table__
_counties: sa.Table = DimCounty.__table__


@dataclass(frozen=True)
class FactLoad:
    """How one dataset's fact frame reaches its fact table.

    `versioned`: dimensions whose attributes the frame reports (SCD2 upsert);
    `referenced`: dimensions the frame only names by code (inferred members if unseen).
    """

    table: sa.Table
    versioned: tuple[Scd2Dimension, ...] = ()
    referenced: tuple[Scd2Dimension, ...] = ()
    departments: bool = False

    @classmethod
    def of(cls, dataset: str, table: sa.Table) -> FactLoad:
        """How `dataset`'s facts load, read from its fact table and its transform's output:
        a fact column holding an SCD2 dimension's key names that dimension; the facts
        version it when the transform reports every attribute of its members, and only
        reference it (inferred members) when they carry the code alone."""
        reported = set(FACT_SCHEMAS[dataset])
        versioned, referenced = [], []
        for dim in SCD2_DIMENSIONS:
            if dim.key not in table.c:
                continue
            carried = reported & set(dim.attributes)
            if carried == set(dim.attributes):
                versioned.append(dim)
            elif carried - {"county_code"}:  # the partition's county is on every fact row
                raise ValueError(
                    f"{dataset}: facts carry {sorted(carried)} of {dim.table.name}'s "
                    f"attributes {list(dim.attributes)}: all of them, or only its code"
                )
            else:
                referenced.append(dim)
        departments = any(
            (target := referenced_column(column)) is not None and target.table is _departments
            for column in table.columns
        )
        return cls(table, tuple(versioned), tuple(referenced), departments)


FACT_LOADS: Mapping[str, FactLoad] = {
    dataset: FactLoad.of(dataset, model.__table__) for dataset, model in FACT_MODELS.items()
}
"""Every dataset's load, derived from its fact model (`warehouse.models.FACT_MODELS`)."""


def _dimensions_written(spec: FactLoad) -> list[sa.Table]:
    """The dimension tables loading `spec`'s facts may insert into or update."""
    tables = [dim.table for dim in (*spec.versioned, *spec.referenced)]
    tables += [DimPeriod.__table__, DimDate.__table__]  # seed_periods, for an unseen period
    if spec.departments:
        tables.append(_departments)
    return tables


# ---------------------------------------------------------------------------- public API


def record_submission(
    engine: Engine,
    ref: SubmissionRef,
    result: Verdict,
    facts: pl.DataFrame | None,
    *,
    report_path: str | None = None,
    max_issue_rows: int | None = MAX_ISSUE_ROWS_PER_RULE,
) -> str:
    """Record one processed submission (see the module docstring); returns its final
    ledger status. Recording a submission already in the ledger (other than `waiting`)
    changes nothing and returns the recorded status.

    `max_issue_rows` (COUNTYFLOW_MAX_ISSUE_ROWS_PER_RULE) caps the issues stored per rule ×
    column (`countyflow.ingest.limits.cap_issues`; None stores every one); the ledger's
    `errors` and `warnings` count every issue of `result` all the same."""
    if result.status is SubmissionStatus.SUPERSEDED:
        raise ValueError("supersession is decided by the warehouse, not the validator")
    accepted = result.status.value in ACCEPTED_STATUSES
    frame = _checked_facts(ref, result, facts) if accepted else None
    now = dt.datetime.now(dt.UTC)

    with write_lock(engine), engine.begin() as conn:
        partition = f"partition:{ref.county_code}/{ref.dataset}/{ref.period}"
        dimensions = [] if frame is None else _dimensions_written(FACT_LOADS[ref.dataset])
        lock_names(conn, [partition, *dimension_locks(dimensions)])
        recorded = ledger.recorded_status(conn, ref.submission_id)
        if recorded is not None and recorded != SubmissionStatus.WAITING.value:
            return recorded

        decision = ledger.decide(conn, ref, result)
        key = ledger.record(conn, ref, result, decision, held=recorded is not None,
                            processed_at=now, report_path=report_path,
                            max_issue_rows=max_issue_rows)
        if frame is not None and decision.status in ACCEPTED_STATUSES:
            _load_facts(conn, ref, key, frame, decision)
        return decision.status


# ------------------------------------------------------------------------------- facts


def _checked_facts(
    ref: SubmissionRef, result: Verdict, facts: pl.DataFrame | None
) -> pl.DataFrame:
    """The fact frame in its declared schema, after checks that keep the ledger honest."""
    if ref.dataset not in FACT_LOADS:
        raise ValueError(f"no fact table for dataset {ref.dataset!r}")
    if facts is None:
        raise ValueError(f"{ref.submission_id}: an accepted submission needs its fact frame")
    schema = FACT_SCHEMAS[ref.dataset]
    missing = [c for c in schema if c not in facts.columns]
    if missing:
        raise ValueError(f"{ref.dataset} facts lack columns {missing}")
    frame = facts.select(pl.col(name).cast(dtype) for name, dtype in schema.items())
    if frame.height != result.counts.rows_loaded:
        raise ValueError(f"{ref.submission_id}: {frame.height} fact rows but rows_loaded = "
                         f"{result.counts.rows_loaded}")
    foreign = frame.filter(
        pl.col("submission_id").ne_missing(ref.submission_id)
        | pl.col("county_code").ne_missing(ref.county_code)
        | pl.col("period").ne_missing(ref.period)
    ).height
    if foreign:
        raise ValueError(f"{ref.submission_id}: {foreign} fact rows belong to another partition")
    spec = FACT_LOADS[ref.dataset]
    for dim in spec.versioned:
        members = frame.select(dim.natural_key, *dim.attributes).unique()
        if members.height != frame[dim.natural_key].n_unique():
            raise ValueError(
                f"{ref.submission_id}: {dim.natural_key} with conflicting "
                f"{', '.join(dim.attributes)} in one submission"
            )
    return frame


_PARTITION_COLUMNS = ("submission_key", "county_code", "period")
"""Fact columns with one value per submission (`_checked_facts`): their references are
checked once (`_ensure_references`), not per row."""


def _referenced_values(fact: sa.Table, frame: pl.DataFrame) -> dict[sa.Column[Any], list[str]]:
    """The referenced columns the frame's own columns name (partition columns aside),
    each with the fact columns that name it (e.g. dim_date.date_key: start and end)."""
    naming: dict[sa.Column[Any], list[str]] = {}
    for column in fact.columns:
        referenced = referenced_column(column)
        if (referenced is not None and column.name in frame.columns
                and column.name not in _PARTITION_COLUMNS):
            naming.setdefault(referenced, []).append(column.name)
    return naming


def _ensure_references(
    conn: Connection, ref: SubmissionRef, fact: sa.Table, frame: pl.DataFrame,
    naming: Mapping[sa.Column[Any], list[str]],
) -> tuple[dict[str, pl.Expr], bool]:
    """The partition's references exist before its facts name them: the ledger row is
    written in this transaction, the period is seeded when unseen, an unknown county
    refuses the submission. In the same query, how many of the distinct values the frame
    names in each referenced column (dates, tracks, sources) exist: one query when all
    are known (the usual case). Returns, per fact column naming a referenced column,
    which of its rows name an existing value (`_resolved` refuses a frame with others),
    and whether row-level security applies to `fact` (asked in the same query, for
    `append_rows`)."""
    wanted = {
        referenced: pl.concat([frame[c] for c in columns]).drop_nulls().unique().to_list()
        for referenced, columns in naming.items()
    }
    found_counts = [
        sa.select(sa.func.count()).where(referenced.in_(values)).scalar_subquery()
        for referenced, values in wanted.items()
    ]
    period_known, county_known, row_security, *counts = conn.execute(
        sa.select(
            sa.exists().where(_periods.c.period == ref.period),
            sa.exists().where(_counties.c.county_code == ref.county_code),
            row_security_active(conn, fact),
            *found_counts,
        )
    ).one()
    if not period_known:
        seed_periods(conn, [ref.period])  # with its days: count the dates again
        counts = list(conn.execute(sa.select(*found_counts)).one()) if found_counts else []
    if not county_known:
        raise RuntimeError(
            f"{ref.submission_id}: county {ref.county_code!r} is not in dim_county; rolled back"
        )
    present = {c: pl.col(c).is_not_null() for columns in naming.values() for c in columns}
    for (referenced, values), count in zip(wanted.items(), counts, strict=True):
        if count == len(values):
            continue
        found = conn.execute(sa.select(referenced).where(referenced.in_(values))).scalars().all()
        for column in naming[referenced]:
            present[column] = pl.col(column).is_in(
                pl.Series(found, dtype=frame.schema[column]).implode()
            ).fill_null(False)
    return present, bool(row_security)


def _load_facts(
    conn: Connection, ref: SubmissionRef, key: int, frame: pl.DataFrame,
    decision: ledger.Decision,
) -> None:
    """Insert `frame`, the facts of `ref` (recorded in the ledger as `key`), in place of
    those of the submission `decision` replaces, if any."""
    spec = FACT_LOADS[ref.dataset]
    fact = spec.table
    effective = parse_period(ref.period).start
    present, row_security = _ensure_references(
        conn, ref, fact, frame, _referenced_values(fact, frame))
    keys = [_versioned_keys(conn, dim, frame, effective) for dim in spec.versioned]
    keys += [_referenced_keys(conn, dim, frame, effective) for dim in spec.referenced]
    if spec.departments:
        keys.append(_department_keys(conn, frame))
    rows = _resolved(ref, fact, frame, keys, present)

    if decision.replaces is not None:
        conn.execute(sa.delete(fact).where(fact.c.submission_key == decision.replaces_key))
        ledger.mark_superseded(conn, decision.replaces, by=ref.submission_id)

    # The partition's identifiers are the same on every row (`_checked_facts`): they are
    # added to the rows by `append_rows` (a parameter on DuckDB, a constant column of the
    # COPY on PostgreSQL), not carried through the frame's own columns. The frame never
    # had `submission_key`: it ties its rows to the hash, no fact column, which
    # `_resolved` left out.
    constants = {"submission_key": key, "period": ref.period}
    inserted = append_rows(
        conn, fact, rows.drop(list(constants), strict=False), constants,
        row_security=row_security)
    # The submission had no facts before (a recorded submission is never loaded twice), so
    # the rows inserted are its rows; count them where the driver cannot say.
    loaded = inserted if inserted >= 0 else conn.execute(
        sa.select(sa.func.count()).select_from(fact).where(fact.c.submission_key == key)
    ).scalar_one()
    if loaded != frame.height:
        raise RuntimeError(
            f"{ref.submission_id}: inserted {loaded} of {frame.height} fact rows; rolled back"
        )


def _fetch_keys(conn: Connection, statement: sa.Select[Any], code: str, key: str) -> pl.DataFrame:
    """(code, key) pairs selected by `statement`: a few rows per submission."""
    return pl.DataFrame(
        conn.execute(statement).all(), schema={code: pl.Utf8, key: pl.Int64}, orient="row"
    )


def _scd2_keys(
    conn: Connection, dim: Scd2Dimension, codes: sa.FromClause | list[str], effective: dt.date
) -> pl.DataFrame:
    keys = key_map(dim, codes, effective)
    return _fetch_keys(conn, sa.select(keys.c.nk, keys.c.key), dim.natural_key, dim.key)


def _versioned_keys(
    conn: Connection, dim: Scd2Dimension, frame: pl.DataFrame, effective: dt.date
) -> pl.DataFrame:
    """Apply the members `frame` reports to `dim` (SCD2), then their keys."""
    members = frame.select(dim.natural_key, *dim.attributes).unique()
    with staged(conn, "stg_members", members) as source:
        upsert_versions(conn, dim, source, effective)
        return _scd2_keys(conn, dim, source, effective)


def _keys_adding_unseen(
    conn: Connection, wanted: pl.DataFrame, code: str, fetch: Callable[[], pl.DataFrame],
    add: Callable[[sa.FromClause], None],
) -> pl.DataFrame:
    """The (code, key) pairs of `wanted`'s codes (`fetch`); the codes without one are staged
    and added first (`add`), which is rare, so the known codes' keys are fetched first."""
    keys = fetch()
    unseen = wanted.join(keys, on=code, how="anti")
    if unseen.height:
        with staged(conn, "stg_unseen", unseen) as source:
            add(source)
        keys = fetch()
    return keys


def _referenced_keys(
    conn: Connection, dim: Scd2Dimension, frame: pl.DataFrame, effective: dt.date
) -> pl.DataFrame:
    """The keys of the codes `frame` names; codes never seen become inferred members
    (`ensure_members`)."""
    nk = dim.natural_key
    codes = frame.select(nk, "county_code").unique()
    listed = codes[nk].drop_nulls().unique().to_list()
    return _keys_adding_unseen(
        conn, codes, nk, lambda: _scd2_keys(conn, dim, listed, effective),
        lambda source: ensure_members(conn, dim, source, effective))


def _department_keys(conn: Connection, frame: pl.DataFrame) -> pl.DataFrame:
    """The keys of the departments `frame` names; unseen ones are added with group
    'unknown' (`ensure_departments`)."""
    d = _departments
    names = frame.select("department").unique()
    statement = sa.select(d.c.department, d.c.department_key).where(
        d.c.department.in_(names["department"].drop_nulls().to_list())
    )
    return _keys_adding_unseen(
        conn, names, "department",
        lambda: _fetch_keys(conn, statement, "department", "department_key"),
        lambda source: ensure_departments(conn, source))


def _resolved(
    ref: SubmissionRef, fact: sa.Table, frame: pl.DataFrame, keys: list[pl.DataFrame],
    present: Mapping[str, pl.Expr],
) -> pl.DataFrame:
    """`frame` with its dimension keys (each of `keys`: natural key, surrogate key), in
    `fact`'s columns, once every row is known to name existing members.

    Facts have no foreign keys (warehouse.models): a row whose member is missing (no key
    for its code; a date outside dim_date, an unknown track or source: `present` says
    which rows name existing ones) refuses the whole submission before anything is
    inserted, and the transaction rolls back."""
    resolved = frame
    checks = dict(present)
    for pair in keys:
        code, key = pair.columns
        resolved = resolved.join(pair, on=code, how="left", maintain_order="left")
        checks[key] = pl.col(key).is_not_null()
    if checks:
        counts = resolved.select(
            pl.all_horizontal(checks.values()).sum().alias("kept"),
            *((~check).sum().alias(name) for name, check in checks.items()),
        ).row(0, named=True)
        kept = counts.pop("kept")
        if kept != frame.height:  # a fact row without a referenced row: never lose rows
            missing = ", ".join(f"{name} {n}" for name, n in counts.items() if n)
            raise RuntimeError(
                f"{ref.submission_id}: inserted {kept} of {frame.height} fact rows; rolled "
                f"back (rows naming a missing member: {missing})"
            )
    return resolved.select(c.name for c in fact.columns if c.name in resolved.columns)
