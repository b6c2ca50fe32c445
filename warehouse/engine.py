"""Engine factory: the one place a warehouse URL becomes a SQLAlchemy Engine.

Nothing connects here (SQLAlchemy connects lazily). The URL may carry a password: it is
never logged, and `hide_parameters=True` keeps bound values out of error messages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

_POSTGRES_DRIVER = "postgresql+psycopg"


def normalise_url(url: str | URL) -> URL:
    """The URL countyflow connects with: PostgreSQL always through psycopg 3."""
    parsed = make_url(url)
    backend, _, driver = parsed.drivername.partition("+")
    if backend in ("postgresql", "postgres"):
        if driver not in ("", "psycopg"):
            raise ValueError(
                f"PostgreSQL warehouses need the psycopg (3) driver, not {driver!r}: "
                f"use postgresql:// or postgresql+psycopg://"
            )
        return parsed.set(drivername=_POSTGRES_DRIVER)
    if backend == "duckdb":
        return parsed
    raise ValueError(f"unsupported warehouse backend {backend!r}: use duckdb:// or postgresql://")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An Engine for a DuckDB file (its folder is created) or PostgreSQL (psycopg 3)."""
    parsed = normalise_url(url)
    options: dict[str, Any] = {"hide_parameters": True}
    if parsed.get_backend_name() == "duckdb":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith(":memory:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    else:
        options["pool_pre_ping"] = True
    options.update(kwargs)
    return sa.create_engine(parsed, **options)


def safe_url(engine_or_url: Engine | str | URL) -> str:
    """The URL with any password masked, for logs and the UI."""
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.render_as_string(hide_password=True)
