"""Engine factory: the one place a warehouse URL becomes a SQLAlchemy Engine.

Nothing connects here (SQLAlchemy connects lazily). The URL may carry a password: it is
never logged, and `hide_parameters=True` keeps bound values out of error messages.

Per backend:
- PostgreSQL, always through psycopg 3. The URL gets the warehouse search path
  (`options=-c search_path=public,dw,marts,audit`, unless it sets one) so that bare table
  and mart names resolve on every connection made from it, including those other tools
  open from `engine.url` (the quality gate's). countyflow's own SQL is qualified.
- DuckDB: the engine folds the warehouse schemas into `main` (`warehouse.layout`), and
  waits for the database file when another process holds it: DuckDB lets one process
  open a file for writing, so a second `countyflow run` retries with backoff for up to
  `lock_timeout` seconds, then fails with `WarehouseBusyError`.
"""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url

from warehouse.backends import backend_named, backend_of
from warehouse.layout import SEARCH_PATH, schema_translate_map

log = logging.getLogger(__name__)

DEFAULT_LOCK_TIMEOUT = 30 * 60.0
"""Seconds a process waits for a DuckDB file another process holds (as long as a run
waits for the warehouse's Prefect concurrency slot)."""

_LOCK_CONFLICT = re.compile(
    r"Could not set lock on file .*?Conflicting lock is held in (?P<holder>.*?\(PID \d+\))",
    re.DOTALL,
)


class WarehouseBusyError(RuntimeError):
    """Another process held the (DuckDB) warehouse for longer than the lock timeout."""


def normalise_url(url: str | URL) -> URL:
    """The URL countyflow connects with: PostgreSQL always through psycopg 3, with the
    warehouse search path."""
    parsed = make_url(url)
    name, _, driver = parsed.drivername.partition("+")
    backend = backend_named(name)  # an unsupported backend is a ValueError naming it
    if backend.driver is not None:
        if driver not in ("", backend.driver):
            raise ValueError(
                f"PostgreSQL warehouses need the psycopg (3) driver, not {driver!r}: "
                f"use postgresql:// or postgresql+psycopg://"
            )
        parsed = parsed.set(drivername=f"{backend.name}+{backend.driver}")
    return parsed if backend.folds_schemas else _with_search_path(parsed)


def _with_search_path(url: URL) -> URL:
    options = url.query.get("options", "")
    if isinstance(options, tuple):  # given twice: libpq would take the last one
        options = options[-1]
    if "search_path" in options:
        return url
    option = "-csearch_path=" + ",".join(SEARCH_PATH)
    return url.update_query_dict({"options": f"{options} {option}".strip()})


def make_engine(url: str, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT, **kwargs: Any) -> Engine:
    """An Engine for a DuckDB file (its folder is created) or PostgreSQL (psycopg 3)."""
    parsed = normalise_url(url)
    backend = backend_of(parsed)
    options: dict[str, Any] = {"hide_parameters": True}
    translate = schema_translate_map(backend.name)
    if translate:
        options["execution_options"] = {"schema_translate_map": translate}
    path = backend.file_path(parsed)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    if not backend.is_file:
        options["pool_pre_ping"] = True  # a server may have dropped an idle connection
    options.update(kwargs)
    engine = sa.create_engine(parsed, **options)
    if backend.is_file:
        _wait_for_file_lock(engine, lock_timeout)
    return engine


def _wait_for_file_lock(engine: Engine, timeout: float) -> None:
    """Retry a DuckDB connect refused because another process holds the file."""

    @event.listens_for(engine, "do_connect")
    def connect(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
        deadline = time.monotonic() + timeout
        delay, announced = 0.05, False
        while True:
            try:
                # a copy each time: duckdb-engine pops its own options out of the mapping
                return dialect.connect(*cargs, **dict(cparams))
            except dialect.loaded_dbapi.Error as exc:
                holder = lock_holder(exc)
                if holder is None:
                    raise
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WarehouseBusyError(
                        f"the warehouse file {engine.url.database} is still in use by another "
                        f"process ({holder}) after waiting {timeout:.0f} s: DuckDB lets one "
                        "process write a file at a time. Try again when that run has finished, "
                        "or raise COUNTYFLOW_WAREHOUSE_LOCK_TIMEOUT."
                    ) from None
                if not announced:
                    log.warning("warehouse file %s is in use by %s; waiting up to %.0f s",
                                engine.url.database, holder, timeout)
                    announced = True
                time.sleep(min(delay, remaining))
                delay = min(delay * 2, 2.0)


def lock_holder(exc: BaseException) -> str | None:
    """Who holds the DuckDB file, when `exc` is DuckDB's "file is locked" error."""
    match = _LOCK_CONFLICT.search(str(exc))
    return match.group("holder") if match else None


def wait_for_warehouse(engine: Engine) -> None:
    """Open (and pool) one connection now. On DuckDB this is where a process waits for a
    file another process holds, and keeps it for the rest of its run."""
    with engine.connect():
        pass


# What a server says when retrying cannot help (psycopg's messages, lower-cased).
_PERMANENT_CONNECT_ERRORS = (
    ("password authentication failed", "authentication failed (wrong user or password)"),
    ("no password supplied", "the server wants a password and none was given"),
    ("does not exist", "the role or database does not exist"),
    ("no pg_hba.conf entry", "the server does not accept this user/database from this host"),
)


def permanent_problem(url: str, *, connect: bool) -> str | None:
    """Why the warehouse URL can never work, or None (it may still fail transiently).

    A malformed URL, an unknown backend or driver, a DuckDB path whose folder cannot be
    made or written, and (with `connect`) a PostgreSQL server that refuses the login are
    the user's to fix: retrying them only delays the answer. A refused or timed-out
    connection is not decided here — the run retries those. Messages never hold the
    password.
    """
    try:
        written = make_url(url)
    except Exception:  # sqlalchemy's ArgumentError for text that is no URL at all
        return ("the warehouse URL is malformed; expected duckdb:///path/file.duckdb or "
                "postgresql+psycopg://user@host:5432/db")
    safe = written.render_as_string(hide_password=True)
    try:
        parsed = normalise_url(written)
        parsed.get_dialect()
    except Exception:
        return (f"unknown warehouse backend or driver {written.drivername!r} in {safe}; "
                "use duckdb:/// or postgresql+psycopg://")
    backend = backend_of(parsed)
    if backend.is_file:
        path = backend.file_path(parsed)
        return _duckdb_path_problem(path, safe) if path is not None else None
    if not connect:
        return None
    engine = sa.create_engine(parsed, poolclass=sa.pool.NullPool, hide_parameters=True,
                              connect_args={"connect_timeout": 10})
    try:
        with engine.connect():
            return None
    except sa.exc.OperationalError as exc:
        text = str(exc.orig if exc.orig is not None else exc).lower()
        for marker, meaning in _PERMANENT_CONNECT_ERRORS:
            if marker in text:
                return f"the warehouse refused the connection: {meaning} ({safe})"
        return None
    except sa.exc.SQLAlchemyError:
        return None
    finally:
        engine.dispose()


def _duckdb_path_problem(path: Path, safe: str) -> str | None:
    """The DuckDB warehouse file cannot be created or written where the URL says. Tried
    for real (the folder is made, as the engine would, and a scratch file written in it):
    permission bits say nothing to root, and /proc or a read-only mount say no only then."""
    if path.exists() and path.is_dir():
        return f"the DuckDB warehouse path is a folder, not a file: {path} ({safe})"
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".countyflow-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return (f"the DuckDB warehouse file cannot be created in {folder}: "
                f"{exc.strerror or type(exc).__name__} ({safe})")
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return f"the DuckDB warehouse file cannot be read and written: {path} ({safe})"
    return None


def warehouse_identity(engine: Engine) -> str | None:
    """Who the warehouse is, as the server says it (PostgreSQL: system identifier and
    database; falls back to the server's address and port when the role may not read the
    control data), so two spellings of one URL are one warehouse. None for DuckDB (its
    file path is its identity) or when the server cannot be asked."""
    for query in backend_of(engine).identity_queries:
        try:
            with engine.connect() as connection:
                value = connection.exec_driver_sql(query).scalar()
        except sa.exc.SQLAlchemyError:
            continue
        if value:
            return str(value)
    return None


def checkpoint(engine: Engine) -> None:
    """DuckDB: write the WAL into the database file, so after a run the `.duckdb` file
    alone is the whole warehouse (a copy or backup of it is complete). PostgreSQL needs
    nothing: its WAL is its own business."""
    statement = backend_of(engine).checkpoint_sql
    if statement is None:
        return
    with engine.connect() as connection:
        connection.exec_driver_sql(statement)


def safe_url(engine_or_url: Engine | str | URL) -> str:
    """The URL with any password masked, for logs and the UI."""
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.render_as_string(hide_password=True)
