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


HARNESS_ATTEMPTS = 2
"""A temporary server that does not come up (a busy machine) is started once more before
the flow tests are given up on."""


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A temporary local Prefect server (~15 s to start), shared by every flow test.

    Started at most `HARNESS_ATTEMPTS` times; if it never answers, every flow test fails
    with the same one-line reason instead of a traceback each."""
    from contextlib import ExitStack

    from prefect.testing.utilities import prefect_test_harness

    failures: list[str] = []
    for _ in range(HARNESS_ATTEMPTS):
        with ExitStack() as stack:
            try:
                stack.enter_context(prefect_test_harness(server_startup_timeout=120))
            except Exception as exc:  # Prefect raises RuntimeError (timeout) or its own errors
                failures.append(f"{type(exc).__name__}: {exc}")
                continue
            yield
            return
    pytest.fail(f"the Prefect test server did not start in {HARNESS_ATTEMPTS} attempts: "
                + " | ".join(failures), pytrace=False)
