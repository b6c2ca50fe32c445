"""What a flow test compares between two warehouses: every mart, the ledger, fact counts."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from polars.testing import assert_frame_equal
from sqlalchemy import text

from tests.warehouse.backends import SqlNames
from warehouse.engine import make_engine
from warehouse.marts import MARTS, read_mart
from warehouse.models import Base


@dataclass
class Warehouse:
    backend: str
    url: str
    marts: dict[str, pl.DataFrame]
    ledger: pl.DataFrame
    facts: dict[str, int]


def snapshot(backend: str, url: str) -> Warehouse:
    engine = make_engine(url)
    try:
        marts = {name: read_mart(engine, name) for name in MARTS}
        names = SqlNames(engine)
        with engine.connect() as conn:
            result = conn.execute(text(
                "SELECT submission_id, county_code, dataset, period, status, superseded_by, "
                f"rows_in, rows_loaded, rows_rejected, rows_held FROM {names['audit_submission']}"
            ))
            ledger = pl.DataFrame([tuple(r) for r in result], schema=list(result.keys()),
                                  orient="row").sort("submission_id")
            facts = {t.name: conn.execute(text(f"SELECT COUNT(*) FROM {names[t.name]}")).scalar_one()
                     for t in Base.metadata.tables.values() if t.name.startswith("fact_")}
    finally:
        engine.dispose()
    return Warehouse(backend, url, marts, ledger, facts)


def assert_same_warehouse(actual: Warehouse, expected: Warehouse) -> None:
    for name in MARTS:
        assert_frame_equal(actual.marts[name], expected.marts[name], check_exact=True), name
    assert actual.facts == expected.facts
    assert_frame_equal(actual.ledger, expected.ledger)
    assert actual.ledger["submission_id"].is_unique().all()  # one ledger entry per file
