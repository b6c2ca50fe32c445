"""Alembic environment: see `warehouse.migrate` (the connection is handed over in the
config by `ensure_warehouse`; from the `alembic` command line it comes from the settings)."""

from typing import cast

from alembic import context
from alembic.runtime.environment import EnvironmentContext

from warehouse.migrate import run_migrations

# `alembic.context` is a module whose functions proxy the running EnvironmentContext.
run_migrations(cast(EnvironmentContext, context))
