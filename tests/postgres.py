"""The tests' PostgreSQL: reachable at `COUNTYFLOW_TEST_PG_URL` (default
postgresql+psycopg://postgres@127.0.0.1:5432/postgres, a role allowed to create databases),
throw-away databases on it. Light on purpose (no project imports): the root conftest uses it
before collection, for the session's Prefect server."""

from __future__ import annotations

import os
import uuid
from functools import cache

import psycopg
import pytest
from sqlalchemy.engine import make_url

DEFAULT_PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def pg_admin_url() -> str:
    return os.environ.get("COUNTYFLOW_TEST_PG_URL", DEFAULT_PG_ADMIN_URL)


def _libpq(url: str) -> str:
    """A libpq connection string for psycopg from a SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@cache
def postgres_unavailable() -> str | None:
    """Why PostgreSQL cannot be used for tests, or None when it can."""
    try:
        with psycopg.connect(_libpq(pg_admin_url()), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any failure means "not available"; the reason says which
        safe = make_url(pg_admin_url()).render_as_string(hide_password=True)
        return f"PostgreSQL unreachable at {safe}: {type(exc).__name__}: {exc}".strip()
    return None


def require_postgres() -> None:
    """Skip (or, with CI=true, fail) the current test when PostgreSQL is unavailable."""
    reason = postgres_unavailable()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true requires PostgreSQL: {reason}")
    pytest.skip(reason)


def admin_execute(statement: str) -> None:
    """Run one statement as the tests' PostgreSQL admin role, outside a transaction."""
    with psycopg.connect(_libpq(pg_admin_url()), autocommit=True) as conn:
        conn.execute(statement)  # type: ignore[arg-type]  # static text built below


def create_pg_database(template: str | None = None) -> str:
    """Create an empty (or templated) database; returns its SQLAlchemy URL."""
    name = f"cf_test_{uuid.uuid4().hex[:16]}"
    suffix = f" TEMPLATE {template}" if template else ""
    admin_execute(f"CREATE DATABASE {name}{suffix}")
    return make_url(pg_admin_url()).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    name = make_url(url).database
    if name and name.startswith("cf_test_"):
        admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
