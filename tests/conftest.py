"""Shared fixtures: one Prefect test harness for the whole session.

Warehouse fixtures (DuckDB and PostgreSQL from one parametrised fixture) live in
tests/warehouse/backends.py and are imported by the conftest of the packages that use them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# Prefect's temporary server must never try to reach the internet from tests.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A temporary local Prefect server (~15 s to start), shared by every flow test."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
