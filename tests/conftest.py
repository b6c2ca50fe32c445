"""Shared fixtures: one Prefect server for the whole test session, shared by every worker.

The server is started in the background when pytest starts (before collection), so its
start-up overlaps with the fast tests; with pytest-xdist the controller starts it and the
workers inherit its URL (`PREFECT_API_URL`), so there is one server, not one per worker. A
developer who already runs a server sets `PREFECT_API_URL` and none is started.

Warehouse fixtures (DuckDB and PostgreSQL from one parametrised fixture) live in
tests/warehouse/backends.py and are imported by the conftest of the packages that use them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from countyflow.commands.prefect_server import PrefectServer, api_answers
from tests.postgres import create_pg_database, drop_pg_database, postgres_unavailable

# Prefect's server must never try to reach the internet from tests.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

SERVER_WAIT_SECONDS = 300
"""How long the flow tests wait for the session's server to answer: a first start migrates
a fresh SQLite database, which takes over a minute on a busy 2-core machine."""
SERVER_ATTEMPTS = 2
"""A server process that dies before answering is started once more (by the process that
owns it) before the flow tests are given up on."""


class SessionServer(PrefectServer):
    """The Prefect server `countyflow run` starts for itself (`PrefectServer`), owned by the
    pytest controller, with a throw-away Prefect home and database: what
    `prefect_test_harness` starts.

    Its database is a throw-away PostgreSQL database when the tests' PostgreSQL answers (CI
    always), SQLite otherwise: with three workers' flow runs and their `countyflow run`
    subprocesses writing at once, SQLite's single writer lock kept the API answering 503
    for minutes on a busy machine."""

    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="countyflow-prefect-"))
        super().__init__(log=self.home / "server.log")
        self._pg_database: str | None = None

    def _database_url(self) -> str:
        if postgres_unavailable() is not None:
            return f"sqlite+aiosqlite:///{self.home / 'prefect.db'}"
        if self._pg_database is None:
            self._pg_database = create_pg_database()
        return make_url(self._pg_database).set(drivername="postgresql+asyncpg").render_as_string(
            hide_password=False)

    def start(self) -> None:
        self.environment = {"PREFECT_HOME": str(self.home),
                            "PREFECT_SERVER_DATABASE_CONNECTION_URL": self._database_url()}
        super().start()

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.home, ignore_errors=True)
        if self._pg_database is not None:
            drop_pg_database(self._pg_database)


_SERVER = pytest.StashKey[SessionServer]()

SLOWEST_FIRST = (
    "tests/benchmarks/test_harness.py",
    "tests/flows/test_ingest_flow.py",
    "tests/hostile/test_run.py",
    "tests/flows/test_concurrency.py",
    "tests/test_adding_a_dataset.py",
    "tests/flows/test_dask_runner.py",
    "tests/commands/test_slot_holder.py",
    "tests/commands/test_run_and_status.py",
    "tests/flows/test_lifecycle.py",
    "tests/flows/test_isolation_flow.py",
    "tests/flows/test_secrets.py",
    "tests/flows/test_hostile_paths.py",
    "tests/tasks/test_check.py",
    "tests/flows/test_operations.py",
)
"""Modules whose end-to-end runs take a minute or more, longest first (from `--durations`).
pytest-xdist hands whole modules to its workers in this order (`--dist loadscope
--no-loadscope-reorder`), two each to begin with: the long ones start at once on different
workers and the many short ones fill in, instead of a long one starting last."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {module: position for position, module in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or os.environ.get("PREFECT_API_URL"):
        return  # an xdist worker (its controller's server) or the developer's own server
    server = SessionServer()
    server.start()
    config.stash[_SERVER] = server
    os.environ["PREFECT_API_URL"] = server.api_url  # inherited by xdist workers and subprocesses


def pytest_unconfigure(config: pytest.Config) -> None:
    server = config.stash.get(_SERVER, None)
    if server is not None:
        server.stop()


@pytest.fixture(scope="session")
def prefect_harness(pytestconfig: pytest.Config) -> Iterator[None]:
    """The session's Prefect server, once it answers; every flow test runs against it.

    If it never answers, every flow test fails with the same one-line reason (pytest caches
    a session fixture's failure) instead of a traceback each."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    api_url = os.environ["PREFECT_API_URL"]
    server = pytestconfig.stash.get(_SERVER, None)
    failures: list[str] = []
    deadline = time.monotonic() + SERVER_WAIT_SECONDS
    while not api_answers(api_url):
        why = server.died() if server is not None else None
        if why is not None and server is not None and server.starts < SERVER_ATTEMPTS:
            failures.append(why)
            server.start()
        elif why is not None or time.monotonic() > deadline:
            failures.append(why or f"no answer at {api_url} within {SERVER_WAIT_SECONDS} s")
            pytest.fail("the session's Prefect server did not start: " + " | ".join(failures),
                        pytrace=False)
        time.sleep(0.2)
    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        yield
