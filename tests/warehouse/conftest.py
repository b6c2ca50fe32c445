"""Warehouse fixtures: every warehouse test runs on DuckDB and PostgreSQL."""

from tests.warehouse.backends import (  # noqa: F401  (fixtures)
    warehouse_engine,
    warehouse_templates,
    warehouse_url,
)
