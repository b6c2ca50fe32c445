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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import numpy as np
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
    conn: Connection, table: sa.Table, frame: pl.DataFrame, constants: Mapping[str, Any],
    *, row_security: bool | None = None,
) -> int:
    """Append `frame`'s rows to `table`, each with the `constants` columns, in bulk and in
    the caller's transaction; returns the number of rows appended (-1: the driver cannot
    say). Nothing is joined or looked up: the frame's columns are `table`'s columns.

    PostgreSQL copies straight into `table`, unless row-level security applies to it for
    this role (`warehouse.access` forces it on the owner): COPY FROM refuses such a table,
    so the rows are staged and inserted from the stage, where the policy is checked.
    `row_security`: whether it applies, when the caller asked already
    (`row_security_active`, selected with its own checks); None: ask here."""
    unknown = [c for c in (*frame.columns, *constants) if c not in table.c]
    if unknown:
        raise ValueError(f"{table.name} has no columns {unknown}")
    backend = backend_of(conn)
    if row_security is None and not backend.registers_arrow:
        row_security = bool(conn.execute(sa.select(row_security_active(conn, table))).scalar_one())
    if not backend.registers_arrow and not row_security:
        if not frame.height:
            return 0
        rows = frame.with_columns(pl.lit(v).alias(c) for c, v in constants.items())
        payload = _binary_copy(rows, [table.c[c].type for c in rows.columns])
        if payload is None:
            return copy_into(conn, table, rows)
        return _copy(conn, table, rows.columns, "binary", payload)
    with staged(conn, "stg_rows", frame) as source:
        values: list[sa.ColumnElement[Any]] = [source.c[c] for c in frame.columns]
        values += [sa.literal(v, table.c[c].type) for c, v in constants.items()]
        return conn.execute(
            sa.insert(table).from_select([*frame.columns, *constants], sa.select(*values)),
            execution_options={"preserve_rowcount": True},
        ).rowcount


def row_security_active(conn: Connection, table: sa.Table) -> sa.ColumnElement[bool]:
    """Whether row-level security applies to `table` in this session, as an expression to
    select along with other checks (false where the backend has none)."""
    if not backend_of(conn).roles:
        return sa.false()
    return sa.func.row_security_active(sa.literal(_table_name(conn, table)), type_=sa.Boolean)


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
    payload = frame.write_csv(null_value="", date_format="%Y-%m-%d")
    return _copy(conn, target, frame.columns, "csv, HEADER true", payload)


def _copy(
    conn: Connection, target: str | sa.Table, columns: Sequence[str], options: str,
    payload: str | Iterable[bytes | memoryview],
) -> int:
    preparer = conn.dialect.identifier_preparer
    name = preparer.quote(target) if isinstance(target, str) else _table_name(conn, target)
    listed = ", ".join(preparer.quote(c) for c in columns)
    statement = f"COPY {name} ({listed}) FROM STDIN WITH (FORMAT {options})"
    raw = conn.connection.driver_connection
    assert raw is not None  # None only once the connection is closed or invalidated
    with raw.cursor() as cursor:
        with cursor.copy(statement) as copy:
            if isinstance(payload, str):
                copy.write(payload)
            else:
                for part in payload:
                    copy.write(part)
        return int(cursor.rowcount)


_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, no extension
_BINARY_TRAILER = b"\xff\xff"
_PG_EPOCH_DAYS = 10_957  # 2000-01-01, PostgreSQL's day 0, in days since 1970-01-01
_NULL_FIELD = np.array([0xFF] * 4, dtype=np.uint8)


def _binary_field(values: pl.Series, type_: sa.types.TypeEngine[Any]) -> np.ndarray | None:
    """One column's non-null values as PostgreSQL binary fields' payloads, one row of
    bytes per value (n × width); None when the type has no fixed-width encoding here."""
    if isinstance(type_, sa.Date):
        data = (values.to_physical().to_numpy() - _PG_EPOCH_DAYS).astype(">i4")
    elif isinstance(type_, sa.BigInteger):
        data = values.cast(pl.Int64, strict=True).to_numpy().astype(">i8")
    elif isinstance(type_, sa.SmallInteger):
        data = values.cast(pl.Int16, strict=True).to_numpy().astype(">i2")
    elif isinstance(type_, sa.Integer):
        data = values.cast(pl.Int32, strict=True).to_numpy().astype(">i4")
    elif isinstance(type_, sa.Float):
        data = values.cast(pl.Float64, strict=True).to_numpy().astype(">f8")
    elif isinstance(type_, sa.Boolean):
        data = values.cast(pl.UInt8).to_numpy().astype(">u1")
    else:
        return None
    return data.view(np.uint8).reshape(len(values), data.dtype.itemsize)


def _binary_copy(frame: pl.DataFrame, types: Sequence[sa.types.TypeEngine[Any]]) -> list[bytes | memoryview] | None:
    """`frame` in PostgreSQL's binary COPY format for columns of `types`, built a column
    at a time (no Python per row), or None when a column cannot be encoded so: a string
    column with more than one value (only constant strings have a fixed width here).

    Rows are grouped by which columns are null (every row of a group has the same width,
    so a group is one n × width byte matrix filled a column at a time); COPY does not
    keep an order anyway."""
    strings: dict[str, np.ndarray] = {}
    for (name, dtype), type_ in zip(frame.schema.items(), types, strict=True):
        if dtype == pl.String or dtype == pl.Null:
            distinct = frame[name].drop_nulls().unique()
            if len(distinct) > 1 or not isinstance(type_, sa.String):
                return None
            strings[name] = np.frombuffer(
                (distinct[0] if len(distinct) else "").encode(), dtype=np.uint8)
        elif _binary_field(frame[name].head(0), type_) is None:
            return None
    nullable = [name for name in frame.columns if frame[name].null_count()]
    pattern = pl.sum_horizontal(
        pl.col(name).is_null().cast(pl.UInt64) * (1 << i) for i, name in enumerate(nullable)
    ) if nullable else pl.lit(0, pl.UInt64)
    count = np.array([len(frame.columns)], dtype=">i2").view(np.uint8)
    parts: list[bytes | memoryview] = [_BINARY_HEADER]
    for group in frame.with_columns(pattern.alias("__nulls")).partition_by(
        "__nulls", include_key=False, maintain_order=True
    ):
        n = group.height
        fields: list[tuple[np.ndarray, np.ndarray | None]] = []
        for name, type_ in zip(group.columns, types, strict=True):
            values = group[name]
            if values.null_count():  # null on every row of the group
                fields.append((_NULL_FIELD, None))
                continue
            data = strings[name] if name in strings else _binary_field(values, type_)
            assert data is not None
            width = data.shape[-1]
            fields.append((np.array([width], dtype=">i4").view(np.uint8), data))
        row = 2 + sum(4 + (0 if data is None else data.shape[-1]) for _, data in fields)
        matrix = np.empty((n, row), dtype=np.uint8)
        matrix[:, :2] = count
        at = 2
        for prefix, data in fields:
            matrix[:, at:at + 4] = prefix
            at += 4
            if data is not None:
                matrix[:, at:at + data.shape[-1]] = data
                at += data.shape[-1]
        parts.append(matrix.reshape(-1).data)
    parts.append(_BINARY_TRAILER)
    return parts
