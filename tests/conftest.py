"""Shared fixtures. Warehouse fixtures live in tests/warehouse/conftest.py; the Prefect
harness in tests/flows/conftest.py (one per session)."""

from __future__ import annotations

import os

# Prefect's temporary server must never try to reach the internet from tests.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
