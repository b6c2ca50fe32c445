"""Bring the warehouse up to date: migrations, static dimensions, calendar, mart views.

`ensure_warehouse` is idempotent and cheap enough to call at the start of every run (the
flow's prepare step does): in one transaction, under one advisory lock, it applies any
pending schema migration (`warehouse.migrate`), inserts dimension members that are
missing, refreshes reference data that may have changed (county names, department
groups, the calendar) and (re)creates the mart views when their definitions changed.

Reference data is synchronised here, not in migrations: it comes from
`countyflow/reference/*.csv`, and a change there (another prefecture, a new department
group) is a data change that must reach the warehouse without anyone writing a revision.
Mart views are derived objects and are likewise recreated from `warehouse.marts`, but only
when their fingerprint (`audit_derived_objects`) changed or one is missing: replacing a view
locks it exclusively (PostgreSQL), and a run that changes nothing must not queue behind BI
readers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from countyflow.periods import parse_period
from countyflow.reference import counties, reference_path
from countyflow.reference.calendar import submission_calendar
from schemas import contract_for
from warehouse import migrate
from warehouse.locking import lock_dimensions, lock_name, write_lock
from warehouse.marts import create_marts, marts_fingerprint, missing_views
from warehouse.models import (
    AuditDerivedObjects,
    DimCounty,
    DimDate,
    DimDepartment,
    DimPeriod,
    DimVocationalTrack,
    DimVolunteerSource,
    RefCalendar,
)
from warehouse.staging import staged

DATE_RANGE = (dt.date(2015, 1, 1), dt.date(2035, 12, 31))
PERIOD_YEARS = range(DATE_RANGE[0].year, DATE_RANGE[1].year + 1)


_SEEDED = (DimDate, DimPeriod, DimCounty, DimDepartment, DimVocationalTrack, DimVolunteerSource,
           RefCalendar)


def ensure_warehouse(engine: Engine) -> None:
    """Migrate to the current schema, seed static dimensions and the calendar, (re)create
    the mart views if they changed."""
    with write_lock(engine), engine.begin() as conn:
        lock_name(conn, "ensure_warehouse")
        migrate.upgrade(conn)
        sync_reference_data(conn)
        ensure_mart_views(conn)


MART_VIEWS = "mart_views"
"""`audit_derived_objects.name` of the mart views' fingerprint."""


def ensure_mart_views(conn: Connection) -> bool:
    """(Re)create the mart views unless the warehouse already has every one of them as
    `warehouse.marts` defines them now (`audit_derived_objects`); True when they were."""
    table = AuditDerivedObjects.__table__
    fingerprint = marts_fingerprint(conn.dialect.name)
    recorded = conn.execute(
        sa.select(table.c.fingerprint).where(table.c.name == MART_VIEWS)).scalar_one_or_none()
    if recorded == fingerprint and not missing_views(conn):
        return False
    create_marts(conn)
    conn.execute(sa.delete(table).where(table.c.name == MART_VIEWS))
    conn.execute(sa.insert(table).values(name=MART_VIEWS, fingerprint=fingerprint,
                                         created_at=dt.datetime.now(dt.UTC).replace(tzinfo=None)))
    return True


def sync_reference_data(conn: Connection) -> None:
    """Insert missing dates and periods, upsert counties, departments, tracks and volunteer
    sources, and replace the calendar, from the reference files."""
    lock_dimensions(conn, [model.__table__ for model in _SEEDED])
    seed_dates(conn, *DATE_RANGE)
    seed_periods(conn, _all_period_labels())
    _sync(conn, DimCounty.__table__, _county_frame(), keys=("county_code",))
    _sync(conn, DimDepartment.__table__, _department_frame(), keys=("department",))
    _sync(conn, DimVocationalTrack.__table__, _track_frame(), keys=("track",))
    _sync(conn, DimVolunteerSource.__table__, _source_frame(), keys=("source",))
    _refresh_calendar(conn)


# ------------------------------------------------------------------------------ frames


def date_frame(start: dt.date, end: dt.date) -> pl.DataFrame:
    """dim_date rows for start … end (grain: day)."""
    day = pl.col("date")
    month_day = day.dt.month().cast(pl.Int32) * 100 + day.dt.day().cast(pl.Int32)
    year = day.dt.year().cast(pl.Int32)
    return pl.DataFrame({"date": pl.date_range(start, end, eager=True)}).select(
        (year * 10_000 + month_day).alias("date_key"),
        day,
        year.alias("year"),
        day.dt.quarter().cast(pl.Int32).alias("quarter"),
        day.dt.month().cast(pl.Int32).alias("month"),
        day.dt.day().cast(pl.Int32).alias("day"),
        day.dt.weekday().cast(pl.Int32).alias("day_of_week"),
        (day.dt.weekday() >= 6).alias("is_weekend"),
        day.dt.strftime("%Y-%m").alias("month_label"),
        pl.when(day.dt.month() >= 9).then(year).otherwise(year - 1).alias("school_year"),
        # Season windows as in countyflow.periods (summer 06-15…09-15, winter 01-01…03-15).
        pl.when(month_day.is_between(615, 915))
        .then(pl.format("{}-summer", year))
        .when(month_day.is_between(101, 315))
        .then(pl.format("{}-winter", year))
        .otherwise(None)
        .alias("season"),
    )


def _all_period_labels() -> list[str]:
    labels: list[str] = []
    for year in PERIOD_YEARS:
        labels += [str(year), f"{year}-summer", f"{year}-winter"]
        labels += [f"{year}-{month:02d}" for month in range(1, 13)]
    return labels


def period_frame(labels: Sequence[str]) -> pl.DataFrame:
    """dim_period rows for the given labels (grain: period)."""
    periods = [parse_period(label) for label in labels]
    return pl.DataFrame(
        {
            "period": [p.label for p in periods],
            "kind": [p.kind.value for p in periods],
            "year": [p.year for p in periods],
            "start_date": [p.start for p in periods],
            "end_date": [p.end for p in periods],
            "prev_year_period": [
                f"{p.year - 1}{p.label[4:]}" for p in periods
            ],
        },
        schema={"period": pl.Utf8, "kind": pl.Utf8, "year": pl.Int32, "start_date": pl.Date,
                "end_date": pl.Date, "prev_year_period": pl.Utf8},
    )


def _county_frame() -> pl.DataFrame:
    return counties().select(
        "county_code",
        pl.col("name_zh").alias("county_name"),
        pl.col("short_zh").alias("short_name"),
        "pinyin",
        "city_code",
        pl.col("city_name_zh").alias("city_name"),
    )


def _department_frame() -> pl.DataFrame:
    return pl.read_csv(reference_path("departments.csv")).select(
        pl.col("department").cast(pl.Utf8),
        pl.col("group").cast(pl.Utf8).alias("department_group"),
        pl.lit(True).alias("is_reference"),
    )


def _vocabulary(dataset: str, column: str) -> dict[str, tuple[str, ...]]:
    vocabulary = contract_for(dataset).column(column).vocabulary
    if vocabulary is None:
        raise ValueError(f"{dataset}.{column} has no vocabulary")
    return dict(vocabulary)


def _track_frame() -> pl.DataFrame:
    tracks = _vocabulary("vocational_enrollment", "track")
    return pl.DataFrame(
        {"track": list(tracks), "label_zh": [aliases[0] for aliases in tracks.values()]}
    )


def _source_frame() -> pl.DataFrame:
    sources = _vocabulary("childcare_volunteers", "source")
    return pl.DataFrame(
        {
            "source": list(sources),
            "label_zh": [aliases[0] for aliases in sources.values()],
            "is_university": [name == "university_student" for name in sources],
        }
    )


# ------------------------------------------------------------------------------ writes


def seed_dates(conn: Connection, start: dt.date, end: dt.date) -> None:
    """Insert the dim_date rows of start … end that are missing."""
    existing = conn.execute(
        sa.select(sa.func.count())
        .select_from(DimDate.__table__)
        .where(DimDate.__table__.c.date.between(start, end))
    ).scalar_one()
    if existing < (end - start).days + 1:
        _sync(conn, DimDate.__table__, date_frame(start, end), keys=("date_key",), update=False)


def seed_periods(conn: Connection, labels: Sequence[str]) -> None:
    """Insert the dim_period rows of `labels` that are missing (and their days)."""
    frame = period_frame(labels)
    _sync(conn, DimPeriod.__table__, frame, keys=("period",), update=False)
    start, end = frame["start_date"].min(), frame["end_date"].max()
    if isinstance(start, dt.date) and isinstance(end, dt.date) and (
        start < DATE_RANGE[0] or end > DATE_RANGE[1]
    ):
        seed_dates(conn, start, end)


def _refresh_calendar(conn: Connection) -> None:
    calendar = submission_calendar()
    seed_periods(conn, calendar["period"].unique().to_list())
    conn.execute(sa.delete(RefCalendar.__table__))
    _sync(conn, RefCalendar.__table__, calendar, keys=("county_code", "dataset", "period"),
          update=False)


def _sync(
    conn: Connection,
    table: sa.Table,
    frame: pl.DataFrame,
    *,
    keys: Sequence[str],
    update: bool = True,
) -> None:
    """Upsert `frame` into `table` by `keys`, set-based: update rows whose other columns
    differ (if `update`), insert missing ones. Rows absent from `frame` are kept."""
    with staged(conn, "stg_sync", frame) as source:
        match = sa.and_(*(table.c[k] == source.c[k] for k in keys))
        others = [c for c in frame.columns if c not in keys]
        if update and others:
            conn.execute(
                sa.update(table)
                .values({c: source.c[c] for c in others})
                .where(match, sa.or_(*(table.c[c].is_distinct_from(source.c[c]) for c in others)))
            )
        conn.execute(
            sa.insert(table).from_select(
                list(frame.columns),
                sa.select(*(source.c[c] for c in frame.columns)).where(
                    ~sa.exists().where(match)
                ),
            )
        )


__all__ = ["date_frame", "ensure_warehouse", "period_frame", "seed_dates", "seed_periods",
           "sync_reference_data"]
