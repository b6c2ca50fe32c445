"""Bulk staging: put a Polars frame where set-based SQL can read it, inside the caller's
transaction, never row by row.

- DuckDB: the frame's Arrow table is registered as a view on the raw DuckDB connection
  that backs the SQLAlchemy connection (same connection, so same transaction); SQL then
  reads it with `INSERT … SELECT`.
- PostgreSQL: a temporary table (`ON COMMIT DROP`) is created and filled with
  `COPY … FROM STDIN (FORMAT csv)` through psycopg 3 on the same driver connection; the
  frame is written as CSV by Polars, not row by row.

Either way the caller gets a `TableClause` to use in SQLAlchemy Core statements, so the
statements that read staged data are identical on both backends.

`append_rows` is for rows that need nothing joined: they go straight into their table
(DuckDB: `INSERT … SELECT` from the registered Arrow table; PostgreSQL: `COPY table FROM
STDIN`, or through a stage where row-level security applies), with columns that are
constant for the whole frame added as parameters or as literal columns of the CSV.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from warehouse.backends import backend_of

_STAGE_NAME = re.compile(r"^stg_[a-z_]+$")


def _sql_type(dtype: pl.DataType) -> sa.types.TypeEngine[Any]:
    if dtype == pl.Utf8 or dtype == pl.Categorical or dtype == pl.Null:
        return sa.String()
    if dtype.is_integer():
        return sa.BigInteger()
    if dtype.is_float():
        return sa.Double()
    if dtype == pl.Date:
        return sa.Date()
    if isinstance(dtype, pl.Datetime):
        return sa.DateTime()
    if dtype == pl.Boolean:
        return sa.Boolean()
    raise TypeError(f"cannot stage a column of type {dtype}")


@contextmanager
def staged(conn: Connection, name: str, frame: pl.DataFrame) -> Iterator[sa.TableClause]:
    """Make `frame` readable as table `name` for the duration of the block.

    `name` is chosen by warehouse code (checked against `stg_[a-z_]+`), never taken from
    input; the frame's column names come from the transforms' declared schemas.
    """
    if not _STAGE_NAME.match(name):
        raise ValueError(f"invalid staging name {name!r}")
    frame = frame.with_columns(
        pl.col(column).cast(pl.Utf8) for column, dtype in frame.schema.items() if dtype == pl.Null
    )
    table = sa.table(name, *(sa.column(c, _sql_type(t)) for c, t in frame.schema.items()))
    if backend_of(conn).registers_arrow:
        raw = conn.connection.driver_connection
        assert raw is not None  # None only once the connection is closed or invalidated
        raw.register(name, frame.to_arrow())
        try:
            yield table
        except BaseException:
            # After an error DuckDB refuses even this until rollback; `register` replaces
            # a leftover view of the same name, so a failed cleanup is harmless.
            with suppress(Exception):
                raw.unregister(name)
            raise
        raw.unregister(name)
        return

    preparer = conn.dialect.identifier_preparer
    quoted = preparer.quote(name)
    columns = ", ".join(
        f"{preparer.quote(c)} {_sql_type(t).compile(dialect=conn.dialect)}"
        for c, t in frame.schema.items()
    )
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {quoted} ({columns}) ON COMMIT DROP")
    if frame.height:
        copy_into(conn, name, frame)
    yield table
    # Dropped only on success: after an error the transaction is aborted, and its
    # rollback discards the temporary table anyway.
    conn.exec_driver_sql(f"DROP TABLE {quoted}")


def append_rows(
    conn: Connection, table: sa.Table, frame: pl.DataFrame, constants: Mapping[str, Any]
) -> int:
    """Append `frame`'s rows to `table`, each with the `constants` columns, in bulk and in
    the caller's transaction; returns the number of rows appended (-1: the driver cannot
    say). Nothing is joined or looked up: the frame's columns are `table`'s columns.

    PostgreSQL copies straight into `table`, unless row-level security applies to it for
    this role (`warehouse.access` forces it on the owner): COPY FROM refuses such a table,
    so the rows are staged and inserted from the stage, where the policy is checked."""
    unknown = [c for c in (*frame.columns, *constants) if c not in table.c]
    if unknown:
        raise ValueError(f"{table.name} has no columns {unknown}")
    backend = backend_of(conn)
    if not backend.registers_arrow and not (backend.roles and _row_security_active(conn, table)):
        if not frame.height:
            return 0
        return copy_into(conn, table, frame.with_columns(
            pl.lit(v).alias(c) for c, v in constants.items()
        ))
    with staged(conn, "stg_rows", frame) as source:
        values: list[sa.ColumnElement[Any]] = [source.c[c] for c in frame.columns]
        values += [sa.literal(v, table.c[c].type) for c, v in constants.items()]
        return conn.execute(
            sa.insert(table).from_select([*frame.columns, *constants], sa.select(*values)),
            execution_options={"preserve_rowcount": True},
        ).rowcount


def _row_security_active(conn: Connection, table: sa.Table) -> bool:
    return bool(conn.execute(
        sa.select(sa.func.row_security_active(sa.literal(_table_name(conn, table))))
    ).scalar_one())


def _table_name(conn: Connection, table: sa.Table) -> str:
    """`table`'s quoted name in SQL written as text, in the schema the connection's
    `schema_translate_map` puts it (`warehouse.layout`; a migration test's old layout)."""
    preparer = conn.dialect.identifier_preparer
    translate = conn.get_execution_options().get("schema_translate_map") or {}
    schema = translate.get(table.schema, table.schema)
    name = preparer.quote(table.name)
    return f"{preparer.quote_schema(schema)}.{name}" if schema else name


def copy_into(conn: Connection, target: str | sa.Table, frame: pl.DataFrame) -> int:
    """PostgreSQL: `COPY target (columns) FROM STDIN` with the frame written as CSV by
    Polars; returns the rows copied. `target`: a temporary table's name, or a table.

    Nulls are written unquoted-empty and empty strings quoted (`""`), which PostgreSQL's
    CSV format reads back as NULL and '' respectively.
    """
    preparer = conn.dialect.identifier_preparer
    name = preparer.quote(target) if isinstance(target, str) else _table_name(conn, target)
    columns = ", ".join(preparer.quote(c) for c in frame.columns)
    statement = f"COPY {name} ({columns}) FROM STDIN WITH (FORMAT csv, HEADER true)"
    payload = frame.write_csv(null_value="", date_format="%Y-%m-%d")
    raw = conn.connection.driver_connection
    assert raw is not None  # None only once the connection is closed or invalidated
    with raw.cursor() as cursor:
        with cursor.copy(statement) as copy:
            copy.write(payload)
        return int(cursor.rowcount)
