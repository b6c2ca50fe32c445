"""One flow run per warehouse at a time: a Prefect global concurrency limit of one slot.

Scheduled ingests of one deployment are already serialised by its deployment concurrency
limit; this also covers a `countyflow run` from a terminal, other deployments on the same
warehouse, and DuckDB, whose file only one process may open. The limit is created on
first use (one slot); an operator can see, pause or raise it in the UI (Concurrency).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ParamSpec, TypeVar
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import (
    GlobalConcurrencyLimitCreate,
    GlobalConcurrencyLimitUpdate,
    VariableCreate,
    VariableUpdate,
)
from prefect.client.schemas.objects import ConcurrencyLeaseHolder
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound, PrefectHTTPStatusError
from prefect.logging import get_run_logger
from prefect.runtime import flow_run
from prefect.settings import PREFECT_CLIENT_MAX_RETRIES, temporary_settings

from countyflow.locks import (
    HOLDER_BEAT_SECONDS,
    HolderWatch,
    SlotHolder,
    pid_alive,
)
from countyflow.settings import Settings
from tasks.resources import warehouse_engine
from warehouse.backends import backend_of, warehouse_key
from warehouse.engine import warehouse_identity

P = ParamSpec("P")
R = TypeVar("R")

if TYPE_CHECKING:
    from logging import Logger, LoggerAdapter

    from prefect.client.orchestration import SyncPrefectClient

    LoggerLike = Logger | LoggerAdapter[Logger]

LOCK_PREFIX = "countyflow-warehouse-"
WAREHOUSE_SLOTS = 1
WAIT_FOR_WAREHOUSE_SECONDS = 30 * 60
"""How long a run waits for another (live) run on the same warehouse before it fails."""
SLOT_POLL_SECONDS = 2.0
WAITING_NOTE_SECONDS = 30.0
"""How often a waiting run says again who it waits for."""
PREFECT_LEASE_SECONDS = 60.0
"""Prefect's shortest lease; the holder's own record (`countyflow.locks`) is what frees a
dead holder's slot quickly."""
HTTP_LOCKED = 423
HTTP_BUSY = 503


def ensure_warehouse_limit(name: str, slots: int = WAREHOUSE_SLOTS) -> None:
    """Create the global concurrency limit if missing; an existing one is left as the
    operator configured it."""
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            with suppress(ObjectAlreadyExists):  # another run created it meanwhile
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=slots))


@contextmanager
def exclusive_warehouse(settings: Settings) -> Iterator[None]:
    """Hold the warehouse's slot for the duration of the block (waits for it first).

    While waiting, the holder is named every `WAITING_NOTE_SECONDS`; a holder that is gone
    (`countyflow.locks.HolderWatch`) has its slot freed, so a killed run blocks the next
    one for about `HOLDER_SILENT_AFTER_SECONDS` at most (seconds when it ran on this host)."""
    name = warehouse_lock_name(settings.safe_warehouse_url(), _identity(settings))
    ensure_warehouse_limit(name)
    logger = get_run_logger()
    with get_client(sync_client=True) as client:
        lease_id = _wait_for_slot(client, name, settings.safe_warehouse_url(), logger)
    holder = SlotHolder(lease_id=str(lease_id), host=socket.gethostname(), pid=os.getpid(),
                        since=datetime.now(UTC).isoformat(timespec="seconds"),
                        flow_run_id=flow_run.get_id(), flow_run_name=flow_run.get_name())
    with _beating(name, holder, logger):
        yield


def _wait_for_slot(client: SyncPrefectClient, name: str, where: str, logger: LoggerLike) -> UUID:
    """Take the slot, or wait for it (naming its holder); free it when the holder is gone.

    An API that stays busy (HTTP 503 after the client's own retries) is waited for like a
    held slot, within the same budget: nothing has been done yet, so nothing is lost by
    waiting, and a run that gave up here would leave its landing zone to the next schedule."""
    watch = HolderWatch(this_host=socket.gethostname(), pid_alive=pid_alive)
    started = time.monotonic()
    next_note = started
    while True:
        try:
            lease_id = _try_slot(client, name)
            if lease_id is not None:
                return lease_id
            holder = _read_holder(client, name)
        except PrefectHTTPStatusError as exc:
            if exc.response.status_code != HTTP_BUSY:
                raise
            held_by = "the Prefect API, busy"
        else:
            gone = watch.gone(holder, time.monotonic())
            if gone is not None:
                logger.warning("Warehouse slot %s: its holder (%s) is gone: %s. Freeing the slot.",
                               name, holder.describe() if holder else "unrecorded", gone)
                _free_slot(client, name, holder)
                continue
            held_by = holder.describe() if holder else "a run that has not said who it is"
        now = time.monotonic()
        waited = now - started
        if waited >= WAIT_FOR_WAREHOUSE_SECONDS:
            raise TimeoutError(f"warehouse slot {name} ({where}) still held by {held_by} after {waited:.0f} s")
        if now >= next_note:
            logger.info("Waiting for warehouse slot %s (%s): held by %s; waited %.0f s",
                        name, where, held_by, waited)
            next_note = now + WAITING_NOTE_SECONDS
        time.sleep(SLOT_POLL_SECONDS)


def _try_slot(client: SyncPrefectClient, name: str) -> UUID | None:
    """The lease of the slot just taken, or None when it is held (HTTP 423)."""
    run_id = flow_run.get_id()
    holder = ConcurrencyLeaseHolder(type="flow_run", id=UUID(run_id)) if run_id else None
    try:
        response = client.increment_concurrency_slots_with_lease(
            names=[name], slots=1, mode="concurrency", lease_duration=PREFECT_LEASE_SECONDS, holder=holder)
    except PrefectHTTPStatusError as exc:
        if exc.response.status_code == HTTP_LOCKED:
            return None
        raise
    return UUID(response.json()["lease_id"])


def _free_slot(client: SyncPrefectClient, name: str, holder: SlotHolder | None) -> None:
    """Release a gone holder's lease (and its record). A slot nobody recorded is reset."""
    if holder is None:
        client.update_global_concurrency_limit(name, GlobalConcurrencyLimitUpdate(active_slots=0))
        return
    client.release_concurrency_slots_with_lease(UUID(holder.lease_id))
    _forget_holder(client, name, holder.lease_id)


@contextmanager
def _beating(name: str, holder: SlotHolder, logger: LoggerLike) -> Iterator[None]:
    """Publish the holder's record and renew it (and the Prefect lease) until the block
    ends; then release the slot and remove the record."""
    stop = threading.Event()

    def beat() -> None:
        current = holder
        # One try per beat, no client back-off (up to a minute on a busy server): a beat that
        # fails is tried again 5 s later, well inside the lease, and the thread always stops
        # when the run ends instead of sleeping in a retry past the end of the process.
        with temporary_settings(updates={PREFECT_CLIENT_MAX_RETRIES: 0}), \
                get_client(sync_client=True) as client:
            while not stop.wait(HOLDER_BEAT_SECONDS):
                current = replace(current, beat=current.beat + 1)
                try:
                    client.renew_concurrency_lease(UUID(holder.lease_id), PREFECT_LEASE_SECONDS)
                    _write_holder(client, name, current)
                except Exception as exc:  # the API is busy or away for a moment: next beat
                    if not stop.is_set():
                        logger.warning("Could not renew warehouse slot %s: %s", name, exc)

    try:
        with get_client(sync_client=True) as client:
            _write_holder(client, name, holder)
    except PrefectHTTPStatusError as exc:  # the first beat writes it 5 s later
        logger.warning("Could not record the holder of warehouse slot %s yet: %s", name, exc)
    beater = threading.Thread(target=beat, name=f"{name}-beat", daemon=True)
    beater.start()
    try:
        yield
    finally:
        stop.set()
        beater.join(timeout=HOLDER_BEAT_SECONDS * 2)
        _release(name, holder, logger)


def _release(name: str, holder: SlotHolder, logger: LoggerLike) -> None:
    """Give the slot back and remove the holder's record. The run's work is done and
    committed by now, so an API that cannot take the release (busy past the client's
    retries) costs a warning, not the run: the lease lapses by itself within
    `PREFECT_LEASE_SECONDS`, and a waiter frees the slot of a holder whose record stopped
    changing (`HolderWatch`)."""
    try:
        with get_client(sync_client=True) as client:
            client.release_concurrency_slots_with_lease(UUID(holder.lease_id))
            _forget_holder(client, name, holder.lease_id)
    except PrefectHTTPStatusError as exc:
        logger.warning("Could not release warehouse slot %s (%s); it frees itself within "
                       "%.0f s", name, exc, PREFECT_LEASE_SECONDS)


def _holder_variable(name: str) -> str:
    return f"{name}-holder"


def _read_holder(client: SyncPrefectClient, name: str) -> SlotHolder | None:
    variable = client.read_variable_by_name(_holder_variable(name))
    return SlotHolder.from_json(variable.value) if variable is not None else None


def _write_holder(client: SyncPrefectClient, name: str, holder: SlotHolder) -> None:
    """Create or overwrite the record (a waiter may have removed it meanwhile)."""
    variable = _holder_variable(name)
    if client.read_variable_by_name(variable) is None:
        with suppress(ObjectAlreadyExists):
            client.create_variable(VariableCreate(name=variable, value=holder.as_json()))
            return
    client.update_variable(VariableUpdate(name=variable, value=holder.as_json()))


def _forget_holder(client: SyncPrefectClient, name: str, lease_id: str) -> None:
    """Remove the record if it is still this lease's (a new holder may have written its own)."""
    current = _read_holder(client, name)
    if current is not None and current.lease_id == lease_id:
        with suppress(ObjectNotFound):
            _soon_again_when_busy(lambda: client.delete_variable_by_name(_holder_variable(name)))


QUICK_RETRY_SECONDS = (0.05, 0.1, 0.2, 0.4, 0.8)


def _soon_again_when_busy(call: Callable[[], R]) -> R:
    """`call`, tried again soon after a 503. A local Prefect server on SQLite answers 503
    when its services are writing the run's events at the same moment (nearly always at the
    end of a run); Prefect's client would wait ~2 s before its first retry. After these
    quick tries (1.5 s in all) the last try is Prefect's own, with its usual back-off: a
    server that stays busy longer gets as long as it always did."""
    for delay in QUICK_RETRY_SECONDS:
        with temporary_settings(updates={PREFECT_CLIENT_MAX_RETRIES: 0}):
            try:
                return call()
            except PrefectHTTPStatusError as exc:
                if exc.response.status_code != HTTP_BUSY:
                    raise
        time.sleep(delay)
    return call()


def warehouse_lock_name(safe_url: str, identity: str | None = None) -> str:
    """`countyflow-warehouse-<12 hex>`: the global concurrency limit of one warehouse,
    keyed by what the warehouse is (`warehouse.backends.warehouse_key`: a PostgreSQL
    server's system identifier and database, a DuckDB file's real path), never by how its
    URL is spelled. The password never reaches the Prefect API."""
    digest = hashlib.sha256(warehouse_key(safe_url, identity).encode("utf-8")).hexdigest()
    return f"{LOCK_PREFIX}{digest[:12]}"


def _identity(settings: Settings) -> str | None:
    """The warehouse's own identity (a server); a file is not opened here: its lock is
    taken by the run itself, after the slot."""
    if backend_of(settings.safe_warehouse_url()).is_file:
        return None

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
