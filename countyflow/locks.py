"""Names of the Prefect global concurrency limits that keep runs from overlapping.

A limit is keyed by the warehouse it protects: a hash of the warehouse URL with its
password masked (the password never reaches the Prefect API, and changing it does not
change the key). A DuckDB file is named by its absolute path, so `data/warehouse.duckdb`
from two working directories are two warehouses, and the same file reached by two
spellings is one.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy.engine import make_url

LOCK_PREFIX = "countyflow-warehouse-"


def canonical_warehouse(safe_url: str) -> str:
    """The masked URL, with a DuckDB file path made absolute."""
    url = make_url(safe_url)
    if url.get_backend_name() == "duckdb" and url.database not in (None, "", ":memory:"):
        url = url.set(database=str(Path(url.database).absolute()))
    return url.render_as_string(hide_password=True)


def warehouse_lock_name(safe_url: str) -> str:
    """`countyflow-warehouse-<12 hex>`: the global concurrency limit of one warehouse."""
    digest = hashlib.sha256(canonical_warehouse(safe_url).encode("utf-8")).hexdigest()
    return f"{LOCK_PREFIX}{digest[:12]}"
