"""fetch_lookups: frames with exactly the Lookup schemas the validator joins."""

from __future__ import annotations

import datetime as dt

import polars as pl
from polars.testing import assert_frame_equal
from sqlalchemy.engine import Engine

from schemas import contract_for
from schemas.lookups import LOOKUPS
from tests.warehouse import builders as b
from warehouse.load import record_submission
from warehouse.lookups import fetch_lookups

DAILY = contract_for("childcare_daily")
HEALTH = contract_for("health_monthly")


def registry(engine: Engine, county: str = b.ZHAOYANG) -> pl.DataFrame | None:
    return fetch_lookups(engine, DAILY, county_code=county, period="2025-summer")["site_registry"]


def test_site_registry_is_none_until_a_registry_is_accepted(warehouse_engine: Engine) -> None:
    assert registry(warehouse_engine) is None
    rejected = b.ref("childcare_sites", "2025-summer")
    record_submission(warehouse_engine, rejected, b.rejected(2), None)
    assert registry(warehouse_engine) is None  # a rejected registry is no registry

    b.load(warehouse_engine, "childcare_sites", "2025-summer",
           [b.site("ZY-001", children=40), b.site("ZY-002", children=65)], name="v2.csv")
    frame = registry(warehouse_engine)
    assert frame is not None
    assert frame.schema == pl.Schema(LOOKUPS["site_registry"].schema)
    assert_frame_equal(frame.sort("site_code"), pl.DataFrame({
        "site_code": ["ZY-001", "ZY-002"],
        "ctx_site_known": [True, True],
        "ctx_site_start": [dt.date(2025, 7, 6)] * 2,
        "ctx_site_end": [dt.date(2025, 8, 15)] * 2,
        "ctx_site_children_enrolled": [40, 65],
    }))
    # another county, another season: still nothing there
    assert registry(warehouse_engine, county=b.SUIJIANG) is None
    other_season = fetch_lookups(warehouse_engine, DAILY, county_code=b.ZHAOYANG,
                                 period="2024-summer")
    assert other_season["site_registry"] is None


def test_site_registry_follows_supersession(warehouse_engine: Engine) -> None:
    b.load(warehouse_engine, "childcare_sites", "2025-summer", [b.site("ZY-001")])
    b.load(warehouse_engine, "childcare_sites", "2025-summer",
           [b.site("ZY-002"), b.site("ZY-003")], modified=b.T0 + dt.timedelta(hours=1),
           name="更正.csv")
    frame = registry(warehouse_engine)
    assert frame is not None
    assert sorted(frame["site_code"].to_list()) == ["ZY-002", "ZY-003"]


def test_surgery_history_median_over_previous_twelve_months(warehouse_engine: Engine) -> None:
    empty = fetch_lookups(warehouse_engine, HEALTH, county_code=b.ZHAOYANG, period="2025-07")
    assert empty["surgery_history"] is not None and empty["surgery_history"].height == 0
    assert empty["surgery_history"].schema == pl.Schema(LOOKUPS["surgery_history"].schema)

    history = {"2024-06": 1000, "2024-07": 10, "2024-12": 40, "2025-05": 20, "2025-07": 500}
    for month, surgeries in history.items():
        b.load(warehouse_engine, "health_monthly", month,
               [b.health("冠心病", surgeries=surgeries), b.health("心脏外科", surgeries=7)])
    frame = fetch_lookups(warehouse_engine, HEALTH, county_code=b.ZHAOYANG,
                          period="2025-07")["surgery_history"]
    assert frame is not None
    assert frame.schema == pl.Schema(LOOKUPS["surgery_history"].schema)
    # 2024-06 is 13 months back and 2025-07 is the period itself: both excluded
    assert_frame_equal(
        frame.sort("department"),
        pl.DataFrame({"facility_code": ["FAC530602"] * 2, "department": ["冠心病", "心脏外科"],
                      "ctx_surgeries_median_12m": [20.0, 7.0]}).sort("department"),
    )


def test_known_departments(warehouse_engine: Engine) -> None:
    b.load(warehouse_engine, "health_monthly", "2025-07", [b.health("新亚专业", surgeries=3)])
    frames = fetch_lookups(warehouse_engine, HEALTH, county_code=b.ZHAOYANG, period="2025-08")
    known = frames["known_departments"]
    assert known is not None
    assert known.schema == pl.Schema(LOOKUPS["known_departments"].schema)
    assert set(known["department"].to_list()) == {
        "冠心病", "心律失常", "心力衰竭", "高血压", "肺血管病", "结构性心脏病", "心脏外科",
        "大血管外科", "小儿心脏外科", "新亚专业"}
    assert known["ctx_department_known"].all()
    assert set(frames) == set(HEALTH.lookups)


def test_datasets_without_lookups_get_an_empty_dict(warehouse_engine: Engine) -> None:
    contract = contract_for("childcare_sites")
    assert fetch_lookups(warehouse_engine, contract, county_code=b.ZHAOYANG,
                         period="2025-summer") == {}
