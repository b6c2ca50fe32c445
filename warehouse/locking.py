"""Serialising writers that would otherwise race.

Two submissions of one partition recorded concurrently (Prefect runs tasks in threads;
two `countyflow run` processes on one PostgreSQL warehouse) could both see "no current
accepted submission" and both load facts; two submissions of different partitions that
report the same school, site or facility could both open a "current" SCD2 version of it.
PostgreSQL: transaction-scoped advisory locks, taken before anything is read: one per
partition, then one per dimension the transaction writes, always in the same order (by
name), so two transactions never wait for each other in a cycle.
DuckDB: one process owns the file (`warehouse.engine` makes a second process wait for
it), and its optimistic concurrency would fail one of two conflicting writers rather than
wait, so writes are serialised by a process-wide lock.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from warehouse.backends import backend_of

_DUCKDB_WRITES = threading.RLock()


@contextmanager
def write_lock(engine: Engine) -> Iterator[None]:
    """Hold the process-wide writer lock when `engine` is DuckDB (no-op otherwise)."""
    if backend_of(engine).is_file:  # one writer per file: threads of this process take turns
        with _DUCKDB_WRITES:
            yield
    else:
        yield


def _lock_id(name: str) -> int:
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_names(conn: Connection, names: Sequence[str]) -> None:
    """PostgreSQL: block until this transaction holds the advisory locks `names`, taken
    one after the other in the given order, in one round trip (PostgreSQL evaluates a
    select list from left to right)."""
    if backend_of(conn).advisory_locks and names:
        conn.execute(sa.select(*(
            sa.func.pg_advisory_xact_lock(_lock_id(f"countyflow:{name}")) for name in names
        )))


def lock_name(conn: Connection, name: str) -> None:
    """PostgreSQL: block until this transaction holds the advisory lock `name`."""
    lock_names(conn, [name])


def dimension_locks(tables: Iterable[sa.Table]) -> list[str]:
    """The lock names of dimension (or reference) tables, in the order to take them."""
    return [f"dimension:{name}" for name in sorted({table.name for table in tables})]


def lock_dimensions(conn: Connection, tables: Iterable[sa.Table]) -> None:
    """PostgreSQL: lock every dimension (or reference) table this transaction writes,
    in name order. Readers are never blocked: these locks only exclude other writers."""
    lock_names(conn, dimension_locks(tables))
