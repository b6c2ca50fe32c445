"""Alembic environment: see `warehouse.migrate` (the connection is handed over in the
config by `ensure_warehouse`; from the `alembic` command line it comes from the settings)."""

from alembic import context

from warehouse.migrate import run_migrations

run_migrations(context)
