"""Transforms: pure, typed, one fact row per valid row, derived measures."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from countyflow.transform import FACT_SCHEMAS, TRANSFORMS, transform_submission
from tests.warehouse import builders as b

SAMPLES = {
    "vocational_enrollment": ("2024", [
        b.enrollment("5306020001", "护理", 1, enrolled=10, new_intake=10, name="昭阳职中"),
        b.enrollment("5306020001", "汽修", 2, enrolled=8, new_intake=0, name="昭阳职中（旧名）"),
    ]),
    "childcare_sites": ("2025-summer", [
        b.site("ZY-001", start=dt.date(2025, 7, 6), end=dt.date(2025, 8, 15)),
        b.site("ZY-002", start=dt.date(2025, 7, 1), end=dt.date(2025, 7, 1), meal_subsidy=None),
    ]),
    "childcare_daily": ("2025-summer", [b.attendance("ZY-001", dt.date(2025, 7, 7), 30)]),
    "childcare_volunteers": ("2025-summer", [b.volunteer("ZY-001", "other", 2)]),
    "health_monthly": ("2025-07", [
        b.health("冠心病", surgeries=3, name="中心医院"),
        b.health("心脏外科", surgeries=1, name="中心医院（别名）"),
    ]),
}


def test_every_dataset_has_a_transform() -> None:
    assert set(TRANSFORMS) == set(SAMPLES) == set(FACT_SCHEMAS)


@pytest.mark.parametrize("dataset", list(SAMPLES))
def test_transform_is_pure_and_typed(dataset: str) -> None:
    period, data = SAMPLES[dataset]
    ref = b.ref(dataset, period)
    valid = b.valid_frame(dataset, data)
    before = valid.clone()
    facts = transform_submission(dataset, valid, ref)
    assert valid.equals(before)  # input untouched
    assert facts.schema == pl.Schema(FACT_SCHEMAS[dataset])
    assert facts.height == valid.height
    assert facts["submission_id"].unique().to_list() == [ref.submission_id]
    assert facts["county_code"].unique().to_list() == [ref.county_code]
    assert facts["period"].unique().to_list() == [period]
    assert facts["source_row"].to_list() == valid["source_row"].to_list()
    assert facts.equals(transform_submission(dataset, valid, ref))  # deterministic
    for personal in ("reporter_name", "reporter_phone", "remarks"):
        assert personal not in facts.columns


def test_service_days_and_date_keys() -> None:
    period, data = SAMPLES["childcare_sites"]
    facts = transform_submission("childcare_sites", b.valid_frame("childcare_sites", data),
                                 b.ref("childcare_sites", period))
    assert facts.select("service_days", "start_date_key", "end_date_key").rows() == [
        (41, 20250706, 20250815), (1, 20250701, 20250701)]


def test_month_key_of_health_facts() -> None:
    period, data = SAMPLES["health_monthly"]
    facts = transform_submission("health_monthly", b.valid_frame("health_monthly", data),
                                 b.ref("health_monthly", period))
    assert facts["month_date_key"].to_list() == [20250701, 20250701]


def test_dimension_attributes_are_single_valued_per_member() -> None:
    period, data = SAMPLES["vocational_enrollment"]
    facts = transform_submission(
        "vocational_enrollment", b.valid_frame("vocational_enrollment", data),
        b.ref("vocational_enrollment", period))
    assert facts["school_name"].to_list() == ["昭阳职中", "昭阳职中"]  # first in file order
    period, data = SAMPLES["health_monthly"]
    facts = transform_submission("health_monthly", b.valid_frame("health_monthly", data),
                                 b.ref("health_monthly", period))
    assert facts["facility_name"].unique().to_list() == ["中心医院"]


def test_missing_optional_columns_become_typed_nulls() -> None:
    period, data = SAMPLES["childcare_daily"]
    valid = b.valid_frame("childcare_daily", data).drop("volunteers_on_duty", "meals_served",
                                                        "county_code")
    facts = transform_submission("childcare_daily", valid, b.ref("childcare_daily", period))
    assert facts.schema == pl.Schema(FACT_SCHEMAS["childcare_daily"])
    assert facts["meals_served"].to_list() == [None]
    assert facts["county_code"].to_list() == [b.ZHAOYANG]  # the partition's county


def test_missing_required_column_or_unknown_dataset_raise() -> None:
    period, data = SAMPLES["childcare_daily"]
    valid = b.valid_frame("childcare_daily", data).drop("children_present")
    with pytest.raises(ValueError, match="children_present"):
        transform_submission("childcare_daily", valid, b.ref("childcare_daily", period))
    with pytest.raises(KeyError):
        transform_submission("weather", valid, b.ref("childcare_daily", period))


def test_empty_frame_gives_empty_facts() -> None:
    valid = b.valid_frame("childcare_volunteers", [])
    facts = transform_submission("childcare_volunteers", valid,
                                 b.ref("childcare_volunteers", "2025-summer"))
    assert facts.height == 0
    assert facts.schema == pl.Schema(FACT_SCHEMAS["childcare_volunteers"])


def test_every_contract_measure_reaches_the_transform_schema_and_the_fact_table() -> None:
    """Counts and decimals are declared once, in the contract: a measure added there and
    forgotten in the transform or the fact model fails here, not in a run."""
    from schemas import CONTRACTS
    from schemas.contract import ColumnType
    from warehouse.models import FACT_MODELS

    for dataset, contract in CONTRACTS.items():
        measures = {c.name for c in contract.columns if c.type in (ColumnType.COUNT, ColumnType.DECIMAL)}
        assert measures <= set(FACT_SCHEMAS[dataset]), dataset
        assert measures <= set(FACT_MODELS[dataset].__table__.columns.keys()), dataset
    assert set(TRANSFORMS) == set(CONTRACTS) == set(FACT_MODELS)
