"""tasks.concurrency: the flow body runs while holding its warehouse's slot."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

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
