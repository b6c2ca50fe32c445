"""Schema migrations: Alembic, run programmatically on the caller's connection.

`ensure_warehouse` calls `upgrade(conn)` at the start of every run, inside its own
transaction and after taking its advisory lock, so two processes never migrate at once
and a failed migration leaves nothing half-done (DDL is transactional on both backends).
Revisions live in `warehouse/migrations/versions`:

- `0001_baseline`: the warehouse as first released, every table in the default schema
  (what `Base.metadata.create_all` built before migrations existed);
- `0002_schemas`: PostgreSQL moves the tables into `dw` and `audit` (data kept; DuckDB
  keeps one schema, see `warehouse.layout`);
- `0003_fact_references`: the fact tables lose their FOREIGN KEY constraints (declared
  references, guaranteed by the loader and checked by the quality gate; see
  `warehouse.models`); DuckDB, which cannot drop a constraint, rebuilds them;
- `0004_derived_objects`: `audit_derived_objects`, the fingerprint of the mart views as
  last created (they are recreated only when it changes; `warehouse.schema`);
- `0005_submission_key`: the ledger numbers each submission (`submission_key`, from a
  sequence) and facts carry that number instead of the file's hash, keyed
  (submission_key, source_row); DuckDB rebuilds the ledger and the fact tables.

A warehouse built before migrations existed (its tables are there, the version table is
not) is adopted: it is stamped `0001_baseline` and upgraded from there.

Alembic has no DuckDB support of its own: `DuckDBImpl` below registers a plain one (DuckDB
DDL is transactional). Autogenerate cannot compare a DuckDB database (duckdb-engine's
column reflection fails with SQLAlchemy >= 2.0.45, duckdb_engine issue #1391), so new
revisions are generated against PostgreSQL (`alembic -c warehouse/migrations/alembic.ini
revision --autogenerate -m ...` with COUNTYFLOW_WAREHOUSE_URL set), and
`compare_with_models` is PostgreSQL-only; the tests check DuckDB by comparing its catalog
after migrations with the catalog `create_all` builds from the models.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.ddl.impl import DefaultImpl
from alembic.migration import MigrationContext
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from countyflow.settings import Settings
from warehouse.backends import backend_named, backend_of
from warehouse.engine import make_engine
from warehouse.layout import SCHEMAS, folds_schemas
from warehouse.models import Base

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
BASELINE = "0001_baseline"
VERSION_TABLE = "alembic_version"


class DuckDBImpl(DefaultImpl):
    """Alembic's operations on DuckDB (registered by being defined)."""

    __dialect__ = "duckdb"
    transactional_ddl = True


class MigrationError(RuntimeError):
    """The database cannot be brought to the current schema safely."""


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic Config for the migrations in this package (no ini file needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def default_schema(dialect_name: str) -> str | None:
    """Where the version table and the baseline's tables live: `public` on PostgreSQL
    (named, not left to whatever search path a URL sets), DuckDB's default."""
    return backend_named(dialect_name).version_table_schema


def _include_name(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
    if type_ == "schema":
        return name in SCHEMAS
    if type_ == "table":
        return name != VERSION_TABLE
    return True


def context_options(dialect_name: str) -> dict[str, Any]:
    """`EnvironmentContext.configure` options for this warehouse on `dialect_name`."""
    return {
        "target_metadata": Base.metadata,
        "version_table": VERSION_TABLE,
        "version_table_schema": default_schema(dialect_name),
        "include_schemas": not folds_schemas(dialect_name),
        "include_name": _include_name,
        "compare_type": True,
        "transaction_per_migration": False,
    }


def run_migrations(context: EnvironmentContext) -> None:
    """The body of `migrations/env.py`: migrate the connection handed over in the config,
    or, from the `alembic` command line, the warehouse of the current settings."""
    if context.is_offline_mode():
        raise MigrationError("countyflow migrations run online only (no --sql mode)")
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(context, connection)
        return

    engine = make_engine(Settings().sqlalchemy_url())
    try:
        with engine.begin() as connection:
            _run(context, connection)
    finally:
        engine.dispose()


def _run(context: EnvironmentContext, connection: Connection) -> None:
    with _reflection_search_path(connection):
        context.configure(connection=connection, **context_options(connection.dialect.name))
        with context.begin_transaction():
            context.run_migrations()


@contextmanager
def _reflection_search_path(conn: Connection) -> Iterator[None]:
    """PostgreSQL: search path `public` while Alembic works. PostgreSQL leaves the schema out
    of a referenced table that is on the search path, and autogenerate would then read the
    facts' foreign keys to `audit` as pointing at the wrong schema. Revisions name every
    schema, so they do not care; the session's own path is restored afterwards."""
    if backend_of(conn).folds_schemas:  # one schema: no search path to mislead reflection
        yield
        return
    saved = conn.exec_driver_sql("SELECT current_setting('search_path')").scalar_one()
    conn.exec_driver_sql("SELECT set_config('search_path', 'public', true)")
    try:
        yield
    finally:
        conn.execute(sa.text("SELECT set_config('search_path', :path, true)"), {"path": saved})


# ------------------------------------------------------------------------------ public API


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package ships its revisions
        raise MigrationError("no migration revisions found")
    return head


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at; None when it has never been migrated."""
    context = MigrationContext.configure(conn, opts={
        "version_table": VERSION_TABLE,
        "version_table_schema": default_schema(conn.dialect.name),
    })
    return context.get_current_revision()


def upgrade(conn: Connection, revision: str = "head") -> None:
    """Apply every pending migration up to `revision`, in the caller's transaction."""
    _adopt_unversioned(conn)
    command.upgrade(alembic_config(conn), revision)


def downgrade(conn: Connection, revision: str) -> None:
    command.downgrade(alembic_config(conn), revision)


def compare_with_models(conn: Connection) -> list[Any]:
    """Differences between the database and the models, as Alembic autogenerate sees
    them (empty when migrations and models agree). PostgreSQL only (see above)."""
    if folds_schemas(conn.dialect.name):
        raise NotImplementedError("autogenerate cannot reflect DuckDB (duckdb_engine #1391)")
    options = context_options(conn.dialect.name)
    metadata = options.pop("target_metadata")
    with _reflection_search_path(conn):
        context = MigrationContext.configure(conn, opts=options)
        return list(compare_metadata(context, metadata))


# --------------------------------------------------------------- warehouses before Alembic

BASELINE_TABLES: tuple[str, ...] = (
    "dim_date", "dim_county", "dim_period", "dim_school", "dim_childcare_site",
    "dim_health_facility", "dim_department", "dim_vocational_track", "dim_volunteer_source",
    "ref_calendar", "audit_submission", "audit_issue", "fact_vocational_enrollment",
    "fact_childcare_site_season", "fact_childcare_daily", "fact_childcare_volunteers",
    "fact_health_monthly",
)
"""The tables `create_all` built before migrations (frozen: the baseline's tables)."""


def _adopt_unversioned(conn: Connection) -> None:
    """Stamp a pre-Alembic warehouse as the baseline; refuse a partial one."""
    if current_revision(conn) is not None:
        return
    inspector = sa.inspect(conn)
    existing = set(inspector.get_table_names(schema=default_schema(conn.dialect.name)))
    found = existing & set(BASELINE_TABLES)
    if not found:
        return  # an empty database: the baseline creates everything
    missing = sorted(set(BASELINE_TABLES) - found)
    if missing:
        raise MigrationError(
            "this database has some countyflow tables but no migration history and lacks "
            f"{', '.join(missing)}: refusing to guess its state. Point countyflow at an empty "
            "database, or restore the missing tables."
        )
    command.stamp(alembic_config(conn), BASELINE)


__all__ = [
    "BASELINE",
    "MigrationError",
    "alembic_config",
    "compare_with_models",
    "current_revision",
    "downgrade",
    "head_revision",
    "upgrade",
]
