"""Process-wide resources the tasks share: one SQLAlchemy Engine per warehouse URL.

Created on first use (never at import) and kept for the process: on DuckDB the pooled
connection is what holds the warehouse file for the run. `dispose_engines` closes them
all (tests, and a process that must let another open the DuckDB file)."""

from __future__ import annotations

from threading import Lock

from sqlalchemy.engine import Engine

from countyflow.settings import Settings
from warehouse.engine import make_engine

_engines: dict[tuple[str, float], Engine] = {}
_lock = Lock()  # tasks run in threads: two must never build two engines for one file


def warehouse_engine(settings: Settings) -> Engine:
    """The warehouse Engine for these settings, created on first use (never at import)."""
    key = (settings.sqlalchemy_url(), settings.warehouse_lock_timeout)
    with _lock:
        if key not in _engines:
            _engines[key] = make_engine(key[0], lock_timeout=key[1])
        return _engines[key]


def dispose_engines() -> None:
    """Close every engine this process made (their pooled connections with them)."""
    with _lock:
        engines = list(_engines.values())
        _engines.clear()
    for engine in engines:
        engine.dispose()
