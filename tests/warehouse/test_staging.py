"""Bulk appends (`warehouse.staging.append_rows`): the rows read back are the rows given,
whichever way they travel (PostgreSQL: binary COPY, or CSV COPY when a string column
varies; DuckDB: the registered Arrow table)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import polars as pl
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from warehouse.staging import _binary_copy, append_rows

_metadata = sa.MetaData()
_rows = sa.Table(
    "append_check", _metadata,
    sa.Column("tag", sa.String(64), nullable=False),
    sa.Column("k", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("small", sa.Integer),
    sa.Column("day", sa.Date),
    sa.Column("share", sa.Double),
    sa.Column("flag", sa.Boolean),
    sa.Column("label", sa.String),
)

FRAME = pl.DataFrame({
    "k": [1, 2, 3, 4],
    "small": [20250701, None, -7, 5],
    "day": [dt.date(2025, 7, 1), dt.date(1999, 12, 31), None, dt.date(2035, 12, 31)],
    "share": [1.5, None, -0.25, 1e300],
    "flag": [True, False, None, True],
    "label": [None, "", None, ""],  # one value: constant, null and '' kept apart
})


@pytest.fixture
def rows_table(warehouse_engine: Engine) -> Iterator[sa.Table]:
    _metadata.create_all(warehouse_engine)
    yield _rows
    _metadata.drop_all(warehouse_engine)


@pytest.mark.parametrize("frame", [
    FRAME,
    FRAME.with_columns(pl.Series("label", ["a", None, "b", ""])),  # varies: CSV on PostgreSQL
], ids=["constant-strings", "varying-strings"])
def test_appended_rows_read_back_unchanged(
    warehouse_engine: Engine, rows_table: sa.Table, frame: pl.DataFrame
) -> None:
    with warehouse_engine.begin() as conn:
        appended = append_rows(conn, rows_table, frame, {"tag": "x" * 64})
    assert appended in (frame.height, -1)
    with warehouse_engine.connect() as conn:
        got = pl.DataFrame(
            conn.execute(sa.select(rows_table).order_by(rows_table.c.k)).mappings().all(),
            schema=frame.schema | {"tag": pl.String},
        )
    expected = frame.with_columns(pl.lit("x" * 64).alias("tag")).select(got.columns)
    assert got.equals(expected, null_equal=True)


def test_binary_copy_takes_only_constant_strings() -> None:
    types = [_rows.c[c].type for c in FRAME.columns]
    assert _binary_copy(FRAME, types) is not None
    varying = FRAME.with_columns(pl.Series("label", ["a", None, "b", ""]))
    assert _binary_copy(varying, types) is None
