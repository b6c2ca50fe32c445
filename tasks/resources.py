"""Process-wide resources the tasks share: one SQLAlchemy Engine per warehouse URL."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy.engine import Engine

from countyflow.settings import Settings


@lru_cache(maxsize=4)
def _engine_for(url: str, lock_timeout: float) -> Engine:
    from warehouse.engine import make_engine

    return make_engine(url, lock_timeout=lock_timeout)


def warehouse_engine(settings: Settings) -> Engine:
    """The warehouse Engine for these settings, created on first use (never at import)."""
    return _engine_for(settings.sqlalchemy_url(), settings.warehouse_lock_timeout)
