"""Where the warehouse's objects live: three schemas on PostgreSQL, one on DuckDB.

PostgreSQL (production) separates
- `dw`: conformed dimensions, facts and reference data (the star schema);
- `marts`: the BI views of SPEC §6, the only schema BI users are granted;
- `audit`: the submission ledger and its issues.
Schemas are what access control is granted by (`warehouse.access`), and BI tools list
them separately.

DuckDB keeps every object in its default schema `main`, on purpose:
- DuckDB cannot declare a foreign key across schemas (facts reference the ledger);
- DuckDB cannot persist a search path in the database file, so every client that opens
  it (the DuckDB CLI, a BI tool's DuckDB driver, the quality gate's own connection)
  would have to qualify every name, although SPEC §6 makes the bare mart names the
  contract;
- an embedded file has no roles to grant schemas to: its access control is the file's
  permissions, so schemas would only rename things.

The code stays single-path: every model names its schema once (`warehouse.models`), and
on DuckDB the engine's `schema_translate_map` folds the three schemas into `main` for
every Core statement and every DDL statement, migrations included. The few statements
written as text (the mart views) qualify names through `qualify`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from warehouse.backends import backend_named

DW = "dw"
MARTS_SCHEMA = "marts"
AUDIT = "audit"
SCHEMAS: tuple[str, ...] = (DW, MARTS_SCHEMA, AUDIT)

SCHEMA_COMMENTS: Mapping[str, str] = {
    DW: "countyflow star schema: conformed dimensions (dim_*), facts (fact_*), reference data (ref_*)",
    MARTS_SCHEMA: "countyflow BI marts (SPEC §6): the public contract for Superset, Metabase and SQL clients",
    AUDIT: "countyflow submission ledger (audit_submission), the issues found (audit_issue) and "
    "what the mart views were built from (audit_derived_objects)",
}

def folds_schemas(dialect_name: str) -> bool:
    """True when the backend keeps every warehouse object in its default schema."""
    return backend_named(dialect_name).folds_schemas


def schema_translate_map(dialect_name: str) -> dict[str | None, str | None]:
    """The engine's `schema_translate_map` for `dialect_name` (empty: schemas as declared)."""
    if folds_schemas(dialect_name):
        return {schema: None for schema in SCHEMAS}
    return {}


def qualify(dialect_name: str, schema: str, name: str) -> str:
    """`schema.name` where the backend has the schema, `name` where it folds it away.

    Only for names chosen by warehouse code (tables, views): nothing is quoted.
    """
    if schema not in SCHEMAS:
        raise ValueError(f"unknown warehouse schema {schema!r}")
    return name if folds_schemas(dialect_name) else f"{schema}.{name}"


def physical_schemas(dialect_name: str) -> tuple[str, ...]:
    """The schemas that hold warehouse objects on this backend."""
    return ("main",) if folds_schemas(dialect_name) else SCHEMAS


SEARCH_PATH: tuple[str, ...] = ("public", DW, MARTS_SCHEMA, AUDIT)
"""PostgreSQL search path of countyflow's own connections: bare table and mart names keep
resolving (for SQL written before the schemas existed, for tools handed the engine's URL,
for people at a SQL prompt); countyflow's own SQL is qualified and does not depend on it.
`public` stays first, so it remains the default schema (where Alembic keeps its version
table) and an unqualified CREATE never lands among the warehouse's tables."""


_QUALIFIER = re.compile(r"\b(?:" + "|".join(SCHEMAS) + r")\.(?=[a-z_]+\b)")


def unqualify(sql: str) -> str:
    """`sql` without the warehouse schemas in front of names (`dw.dim_date` → `dim_date`).

    For SQL written by warehouse code, whose aliases are never named like a schema.
    """
    return _QUALIFIER.sub("", sql)
