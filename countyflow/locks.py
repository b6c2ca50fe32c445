"""Names of the Prefect global concurrency limits that keep runs from overlapping.

A limit is keyed by the warehouse it protects, as the warehouse itself says who it is
when it can: a PostgreSQL server's system identifier and the database name (so
`postgresql+psycopg://…:5432/db` and `postgresql://…/db`, or a host name and its
address, are one warehouse), a DuckDB file's real path (symlinks resolved; so
`data/warehouse.duckdb` from two working directories are two warehouses, and one file
reached by two spellings is one). Without an identity (the server cannot be asked), the
URL with its password masked, driver dropped and default port filled in is the key. The
password never reaches the Prefect API, and changing it does not change the key.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy.engine import make_url

LOCK_PREFIX = "countyflow-warehouse-"


_DEFAULT_PORTS = {"postgresql": 5432}


def canonical_warehouse(safe_url: str, identity: str | None = None) -> str:
    """What the warehouse's slot is keyed by (see the module docstring)."""
    url = make_url(safe_url)
    backend = url.get_backend_name()
    if backend == "duckdb":
        if url.database in (None, "", ":memory:"):
            return url.render_as_string(hide_password=True)
        return f"duckdb:{Path(url.database).resolve()}"
    if identity is not None:
        return f"{backend}:{identity}"
    url = url.set(drivername=backend, password=None, query={},
                  port=url.port or _DEFAULT_PORTS.get(backend),
                  host=(url.host or "").lower() or None)
    return url.render_as_string(hide_password=True)


def warehouse_lock_name(safe_url: str, identity: str | None = None) -> str:
    """`countyflow-warehouse-<12 hex>`: the global concurrency limit of one warehouse."""
    digest = hashlib.sha256(canonical_warehouse(safe_url, identity).encode("utf-8")).hexdigest()
    return f"{LOCK_PREFIX}{digest[:12]}"
