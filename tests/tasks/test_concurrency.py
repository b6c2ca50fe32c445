"""tasks.concurrency: the flow body runs while holding its warehouse's slot."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

import httpx
import pytest
from prefect.exceptions import PrefectHTTPStatusError

import tasks.concurrency as module
from countyflow.settings import Settings
from tasks.concurrency import one_run_per_warehouse


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    events: list[str] = []

    @contextmanager
    def fake(settings: Settings) -> Iterator[None]:
        events.append(f"acquire {settings.safe_warehouse_url()}")
        try:
            yield
        finally:
            events.append("release")

    monkeypatch.setattr(module, "exclusive_warehouse", fake)
    return events


def test_settings_are_resolved_then_the_slot_held_around_the_body(
    held: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COUNTYFLOW_WAREHOUSE_URL", "postgresql+psycopg://cf:pw@db/env")

    @one_run_per_warehouse
    def body(settings: Settings | None = None, month: str | None = None) -> tuple[str, str | None]:
        held.append("body")
        assert settings is not None
        return settings.safe_warehouse_url(), month

    assert body(month="2025-07") == ("postgresql+psycopg://cf:***@db/env", "2025-07")
    assert held == ["acquire postgresql+psycopg://cf:***@db/env", "body", "release"]

    given = Settings(warehouse_url="duckdb:////srv/wh.duckdb")
    assert body(given)[0] == "duckdb:////srv/wh.duckdb"
    assert held[-3:] == ["acquire duckdb:////srv/wh.duckdb", "body", "release"]


def test_the_slot_is_released_when_the_body_fails(held: list[str]) -> None:
    @one_run_per_warehouse
    def failing(settings: Settings | None = None) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        failing(Settings(warehouse_url="duckdb:////srv/wh.duckdb"))
    assert held == ["acquire duckdb:////srv/wh.duckdb", "release"]


def test_the_wrapper_keeps_the_flow_signature() -> None:
    import inspect

    from flows.completeness import check_completeness

    assert list(inspect.signature(check_completeness.fn).parameters) == ["settings", "as_of"]
    assert check_completeness.fn.__name__ == "check_completeness"


def _http_error(status: int, url: str) -> PrefectHTTPStatusError:
    """What Prefect's client raises when the API answers `status`."""
    request = httpx.Request("POST", url)
    response = httpx.Response(status, request=request, json={"exception_message": "…"})
    return PrefectHTTPStatusError.from_httpx_error(
        httpx.HTTPStatusError(str(status), request=request, response=response))


INCREMENT_URL = "http://api/v2/concurrency_limits/increment-with-lease"


class BusyThenFreeApi:
    """A Prefect client whose API answers 503 (busy) `busy_answers` times, then grants the slot."""

    def __init__(self, busy_answers: int) -> None:
        self.busy_answers = busy_answers
        self.tries = 0

    def increment_concurrency_slots_with_lease(self, **_: object) -> httpx.Response:
        self.tries += 1
        if self.tries <= self.busy_answers:
            raise _http_error(503, INCREMENT_URL)
        return httpx.Response(200, json={"lease_id": str(LEASE)})

    def read_variable_by_name(self, name: str) -> None:
        return None


LEASE = UUID("00000000-0000-4000-8000-000000000001")


def test_a_busy_api_is_waited_for_like_a_held_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 503 that outlasts the client's own retries does not fail the run before it starts."""
    monkeypatch.setattr(module.time, "sleep", lambda _: None)
    api = BusyThenFreeApi(busy_answers=3)
    notes: list[str] = []
    logger = logging.getLogger("test-slot")
    monkeypatch.setattr(logger, "info", lambda message, *args: notes.append(message % args))

    lease = module._wait_for_slot(api, "countyflow-warehouse-abc", "duckdb:///wh", logger)  # type: ignore[arg-type]

    assert lease == LEASE
    assert api.tries == 4
    assert notes and "held by the Prefect API, busy" in notes[0]


def test_another_api_error_still_fails_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken(BusyThenFreeApi):
        def increment_concurrency_slots_with_lease(self, **_: object) -> httpx.Response:
            raise _http_error(500, INCREMENT_URL)

    monkeypatch.setattr(module.time, "sleep", lambda _: None)
    with pytest.raises(PrefectHTTPStatusError) as raised:
        module._wait_for_slot(Broken(0), "countyflow-warehouse-abc", "duckdb:///wh",  # type: ignore[arg-type]
                              logging.getLogger("test-slot"))
    assert raised.value.response.status_code == 500


class BusyAtBothEnds:
    """A Prefect client whose API is busy when the holder is first recorded and when the
    slot is given back."""

    def __init__(self) -> None:
        self.released = 0

    def __enter__(self) -> BusyAtBothEnds:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def read_variable_by_name(self, name: str) -> None:
        return None

    def create_variable(self, variable: object) -> None:
        raise _http_error(503, "http://api/variables/")

    def release_concurrency_slots_with_lease(self, lease_id: UUID) -> None:
        self.released += 1
        raise _http_error(503, "http://api/v2/concurrency_limits/leases/release")


def test_a_busy_api_at_either_end_of_the_run_costs_a_warning_not_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The run's work is committed when the slot is given back: a release the API cannot
    take (the lease then lapses by itself) must not fail it."""
    api = BusyAtBothEnds()
    monkeypatch.setattr(module, "get_client", lambda sync_client: api)
    warnings: list[str] = []
    logger = logging.getLogger("test-slot")
    monkeypatch.setattr(logger, "warning", lambda message, *args: warnings.append(message % args))
    holder = module.SlotHolder(lease_id=str(LEASE), host="here", pid=1, since="2026-12-07T00:00:00+00:00",
                               flow_run_id=None, flow_run_name=None)
    ran = []

    with module._beating("countyflow-warehouse-abc", holder, logger):
        ran.append("body")

    assert ran == ["body"] and api.released == 1
    assert any("Could not record the holder" in w for w in warnings)
    assert any("Could not release warehouse slot countyflow-warehouse-abc" in w for w in warnings)
