"""One flow run per warehouse at a time: a Prefect global concurrency limit of one slot.

Scheduled ingests of one deployment are already serialised by its deployment concurrency
limit; this also covers a `countyflow run` from a terminal, other deployments on the same
warehouse, and DuckDB, whose file only one process may open. The limit is created on
first use (one slot); an operator can see, pause or raise it in the UI (Concurrency).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import ParamSpec, TypeVar

from prefect.client.orchestration import get_client
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
from prefect.logging import get_run_logger

from countyflow.locks import warehouse_lock_name
from countyflow.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")

WAREHOUSE_SLOTS = 1
WAIT_FOR_WAREHOUSE_SECONDS = 30 * 60
"""How long a run waits for another run on the same warehouse before it fails."""


def ensure_warehouse_limit(name: str, slots: int = WAREHOUSE_SLOTS) -> None:
    """Create the global concurrency limit if missing; an existing one is left as the
    operator configured it."""
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            with suppress(ObjectAlreadyExists):  # another run created it meanwhile
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=slots))


@contextmanager
def exclusive_warehouse(settings: Settings) -> Iterator[None]:
    """Hold the warehouse's slot for the duration of the block (waits for it first)."""
    name = warehouse_lock_name(settings.safe_warehouse_url(), _identity(settings))
    ensure_warehouse_limit(name)
    get_run_logger().info("Waiting for warehouse slot %s (%s)", name, settings.safe_warehouse_url())
    with concurrency(name, occupy=1, timeout_seconds=WAIT_FOR_WAREHOUSE_SECONDS):
        yield


def _identity(settings: Settings) -> str | None:
    """The warehouse's own identity (PostgreSQL); DuckDB is not opened here: its file lock
    is taken by the run itself, after the slot."""
    from sqlalchemy.engine import make_url

    if make_url(settings.safe_warehouse_url()).get_backend_name() == "duckdb":
        return None
    from tasks.resources import warehouse_engine
    from warehouse.engine import warehouse_identity

    return warehouse_identity(warehouse_engine(settings))


def one_run_per_warehouse(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorate a flow function taking `settings: Settings | None`: its body runs while
    holding its warehouse's slot. Settings are read from the environment when not given,
    before the slot is taken (the slot is keyed by the warehouse)."""
    # Annotations evaluated in the flow's own module: Prefect validates parameters against
    # the wrapper, whose module globals would not resolve `date`, `Settings`, ….
    signature = inspect.signature(fn, eval_str=True)

    @functools.wraps(fn)
    def holding_the_warehouse(*args: P.args, **kwargs: P.kwargs) -> R:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        settings = bound.arguments.get("settings") or Settings()
        bound.arguments["settings"] = settings
        with exclusive_warehouse(settings):
            return fn(*bound.args, **bound.kwargs)

    holding_the_warehouse.__signature__ = signature  # type: ignore[attr-defined]
    return holding_the_warehouse
