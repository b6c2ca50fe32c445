"""ensure_warehouse: idempotent creation and seeding; every model states its grain."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from countyflow.reference import counties
from countyflow.reference.calendar import submission_calendar
from warehouse.engine import make_engine
from warehouse.marts import MARTS
from warehouse.models import Base
from warehouse.schema import date_frame, ensure_warehouse

COUNTED = ("dim_date", "dim_period", "dim_county", "dim_department", "dim_vocational_track",
           "dim_volunteer_source", "ref_calendar")


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                for t in COUNTED}


def test_ensure_warehouse_is_idempotent(warehouse_url: str) -> None:
    engine = make_engine(warehouse_url)
    try:
        ensure_warehouse(engine)
        first = counts(engine)
        ensure_warehouse(engine)
        assert counts(engine) == first
        inspector = sa.inspect(engine)
        assert set(Base.metadata.tables) <= set(inspector.get_table_names())
        assert set(MARTS) <= set(inspector.get_view_names())
        assert first["dim_county"] == counties().height == 11
        assert first["dim_department"] == 9
        assert first["dim_vocational_track"] == 5
        assert first["dim_volunteer_source"] == 6
        assert first["ref_calendar"] == submission_calendar().height
        with engine.connect() as conn:
            span = conn.execute(sa.text("SELECT MIN(date), MAX(date) FROM dim_date")).one()
            assert span[0] == dt.date(2015, 1, 1) and span[1] >= dt.date(2035, 12, 31)
            assert conn.execute(sa.text(
                "SELECT county_name FROM dim_county WHERE county_code = '530626'"
            )).scalar_one() == "绥江县"
            assert conn.execute(sa.text(
                "SELECT COUNT(*) FROM dim_department WHERE department_group = 'surgical'"
            )).scalar_one() == 3
    finally:
        engine.dispose()


def test_date_dimension_attributes() -> None:
    days = date_frame(dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    by_day = {row["date"]: row for row in days.iter_rows(named=True)}
    assert by_day[dt.date(2025, 7, 6)] == {
        "date_key": 20250706, "date": dt.date(2025, 7, 6), "year": 2025, "quarter": 3,
        "month": 7, "day": 6, "day_of_week": 7, "is_weekend": True, "month_label": "2025-07",
        "school_year": 2024, "season": "2025-summer"}
    assert by_day[dt.date(2025, 3, 15)]["season"] == "2025-winter"
    assert by_day[dt.date(2025, 3, 16)]["season"] is None
    assert by_day[dt.date(2025, 9, 1)]["school_year"] == 2025


@pytest.mark.parametrize("table", sorted(Base.metadata.tables))
def test_every_table_states_its_grain(table: str) -> None:
    model = next(m for m in Base.registry.mappers if m.local_table.name == table).class_
    assert model.__doc__ and "grain" in model.__doc__.lower(), table
