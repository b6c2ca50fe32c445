"""Marts: SPEC §6 columns, values on a hand-made dataset, identical on both backends."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy.engine import Engine

from tests.warehouse import builders as b
from tests.warehouse.backends import WarehouseTemplates, drop_pg_database, sql_name
from tests.warehouse.sample import load_sample
from warehouse.engine import make_engine
from warehouse.marts import MARTS, METRICS, UNITS, VIEWS, read_mart

SPEC_COLUMNS: dict[str, list[str]] = {
    "mart_childcare_county_season": [
        "county_code", "county_name", "season", "sites", "children_enrolled",
        "left_behind_children", "relocated_children", "volunteers_total", "volunteers_university",
        "avg_service_days", "children_enrolled_prev_year", "children_yoy_change",
        "children_yoy_pct"],
    "mart_vocational_county_year": [
        "county_code", "county_name", "school_year", "schools", "enrolled", "new_intake",
        "dropouts", "dropout_rate", "new_intake_prev_year", "new_intake_yoy_change"],
    "mart_health_facility_month": [
        "facility_code", "facility_name", "county_code", "month", "beds_open", "surgeries",
        "interventional_procedures", "outpatient_visits", "inpatient_admissions",
        "resident_experts", "experts_dispatched", "visiting_experts",
        "local_surgeons_independent", "returned_patients"],
    "mart_city_kpi": ["domain", "metric", "period", "value"],
    "mart_submission_status": [
        "county_code", "dataset", "period", "status", "current_submission_id", "received_at",
        "due_date", "on_time", "rows_loaded", "rows_rejected", "warnings",
        "submissions_received"],
}


def test_registry_covers_the_spec() -> None:
    assert set(SPEC_COLUMNS) <= set(MARTS)
    for name, mart in MARTS.items():
        assert mart.grain and mart.doc
        missing = [c for c in SPEC_COLUMNS.get(name, []) if c not in mart.columns]
        assert not missing, (name, missing)


def test_mart_columns_on_the_backend(warehouse_engine: Engine) -> None:
    for name in VIEWS:
        with warehouse_engine.connect() as conn:
            result = conn.exec_driver_sql(f"SELECT * FROM {sql_name(conn, name)} WHERE 1 = 0")
            actual = list(result.keys())
        assert actual == list(VIEWS[name].columns), name
        frame = read_mart(warehouse_engine, name)
        assert frame.schema == pl.Schema(VIEWS[name].columns)


def test_every_view_and_column_is_documented_in_its_sidecar() -> None:
    for name, view in VIEWS.items():
        assert view.grain and view.grain_zh and view.doc and view.doc_zh, name
        assert [c.name for c in view.column_docs] == list(view.columns), name
        for column in view.column_docs:
            assert column.en.strip() and column.zh.strip(), (name, column.name)
            assert column.unit in UNITS and column.unit, (name, column.name)


def _comments(engine: Engine) -> tuple[dict[str, str | None], dict[tuple[str, str], str | None]]:
    """View and column comments as the backend's catalogue holds them."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            views = dict(conn.exec_driver_sql(
                "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'marts' AND c.relkind = 'v'").all())
            columns = conn.exec_driver_sql(
                "SELECT c.relname, a.attname, col_description(c.oid, a.attnum) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 "
                "WHERE n.nspname = 'marts' AND c.relkind = 'v'").all()
        else:
            views = dict(conn.exec_driver_sql(
                "SELECT view_name, comment FROM duckdb_views() WHERE NOT internal").all())
            columns = conn.exec_driver_sql(
                "SELECT c.table_name, c.column_name, c.comment FROM duckdb_columns() c "
                "JOIN duckdb_views() v ON v.view_name = c.table_name "
                "AND v.schema_name = c.schema_name WHERE NOT v.internal").all()
    return views, {(view, column): comment for view, column, comment in columns}


def test_every_view_column_has_a_description_in_the_catalogue(warehouse_engine: Engine) -> None:
    """Read back from the database: what Superset and SQL clients show (issue 13)."""
    views, columns = _comments(warehouse_engine)
    assert set(VIEWS) <= set(views)
    for name, view in VIEWS.items():
        assert views[name] == view.comment(), name
        for column in view.column_docs:
            comment = columns[(name, column.name)]
            assert comment and comment == column.comment(), (name, column.name)
    undocumented = sorted(k for k, comment in columns.items() if k[0] in VIEWS and not comment)
    assert undocumented == []


def test_read_mart_rejects_unknown_names(warehouse_engine: Engine) -> None:
    with pytest.raises(ValueError, match="unknown mart"):
        read_mart(warehouse_engine, "audit_submission; DROP TABLE dim_date")


def kpi(frame: pl.DataFrame, domain: str, metric: str, period: str) -> float | None:
    match = frame.filter(domain=domain, metric=metric, period=period)
    assert match.height == 1, (domain, metric, period)
    return match["value"].item()


def test_childcare_mart_values(warehouse_engine: Engine) -> None:
    load_sample(warehouse_engine)
    mart = read_mart(warehouse_engine, "mart_childcare_county_season")
    zy = mart.filter(county_code=b.ZHAOYANG, season="2025-summer").row(0, named=True)
    assert zy == {
        "county_code": b.ZHAOYANG, "county_name": "昭阳区", "season": "2025-summer",
        "season_kind": "summer", "year": 2025, "season_start": dt.date(2025, 6, 15), "sites": 3, "children_enrolled": 150,
        "left_behind_children": 90, "relocated_children": 6, "volunteers_total": 12,
        "volunteers_university": 9, "volunteers_other": 3, "avg_service_days": 36.0,
        "children_enrolled_prev_year": 100, "children_yoy_change": 50, "children_yoy_pct": 50.0,
        "county_order": 1, "season_label_zh": "2025年暑期",
    }
    sj = mart.filter(county_code=b.SUIJIANG, season="2025-summer").row(0, named=True)
    assert sj["county_name"] == "绥江县"
    assert (sj["children_enrolled_prev_year"], sj["children_yoy_change"]) == (0, 30)
    assert sj["children_yoy_pct"] is None  # denominator 0 → NULL, not an error
    assert sj["volunteers_total"] is None and sj["relocated_children"] is None
    first = mart.filter(county_code=b.ZHAOYANG, season="2024-summer").row(0, named=True)
    assert first["children_enrolled_prev_year"] is None and first["children_yoy_pct"] is None


def test_childcare_site_mart_values(warehouse_engine: Engine) -> None:
    load_sample(warehouse_engine)
    mart = read_mart(warehouse_engine, "mart_childcare_site_season").filter(
        season="2025-summer", county_code=b.ZHAOYANG)
    assert mart.select("site_code", "site_name", "meal_subsidy_yuan", "service_days",
                       "volunteers_total", "volunteers_university", "days_reported",
                       "avg_children_present", "attendance_rate").rows() == [
        ("ZY-001", "ZY-001托管点", 8.0, 41, 9, 9, 1, 38.0, 38 / 40),
        ("ZY-002", "ZY-002托管点", 8.0, 41, 3, 0, None, None, None),
        ("ZY-003", "ZY-003托管点", 8.0, 26, None, None, None, None, None),
    ]


def test_vocational_mart_values(warehouse_engine: Engine) -> None:
    load_sample(warehouse_engine)
    mart = read_mart(warehouse_engine, "mart_vocational_county_year")
    assert mart.select("county_code", "school_year", "schools", "enrolled", "new_intake",
                       "dropouts", "dropout_rate", "new_intake_prev_year",
                       "new_intake_yoy_change", "new_intake_yoy_pct").rows() == [
        (b.ZHAOYANG, 2023, 1, 180, 100, 8, 8 / 180, None, None, None),
        (b.ZHAOYANG, 2024, 2, 200, 200, 0, 0.0, 100, 100, 100.0),
        (b.SUIJIANG, 2024, 1, 0, 0, 0, None, None, None, None),
    ]


def test_health_mart_values(warehouse_engine: Engine) -> None:
    load_sample(warehouse_engine)
    mart = read_mart(warehouse_engine, "mart_health_facility_month")
    assert mart.select("facility_code", "facility_name", "county_name", "month", "month_start",
                       "departments", "beds_open", "surgeries", "experts_dispatched",
                       "visiting_experts", "local_surgeons_independent",
                       "returned_patients").rows() == [
        ("FAC530602", "滇东北中心医院", "昭阳区", "2025-06", dt.date(2025, 6, 1), 2, 60, 120, 3,
         10, 3, None),
        ("FAC530602", "滇东北中心医院", "昭阳区", "2025-07", dt.date(2025, 7, 1), 3, 72, 140, 0,
         5, 5, None),
    ]


def test_city_kpi_values(warehouse_engine: Engine) -> None:
    load_sample(warehouse_engine)
    kpis = read_mart(warehouse_engine, "mart_city_kpi")
    expected = {
        ("childcare", "sites", "2025-summer"): 4,
        ("childcare", "counties_reporting", "2025-summer"): 2,
        ("childcare", "children_enrolled", "2025-summer"): 180,
        ("childcare", "children_enrolled", "2024-summer"): 100,
        ("childcare", "children_enrolled_prev_year", "2025-summer"): 100,
        ("childcare", "children_yoy_change", "2025-summer"): 80,
        ("childcare", "children_yoy_pct", "2025-summer"): 80.0,
        ("childcare", "children_yoy_pct", "2024-summer"): None,
        ("childcare", "left_behind_children", "2025-summer"): 115,
        ("childcare", "volunteers_university", "2025-summer"): 9,
        ("childcare", "volunteers_other", "2025-summer"): 3,
        ("childcare", "volunteers_total", "2025-summer"): 12,
        ("childcare", "avg_service_days", "2025-summer"): (41 * 3 + 26) / 4,
        ("vocational", "new_intake", "2024"): 200,
        ("vocational", "new_intake_yoy_change", "2024"): 100,
        ("vocational", "new_intake_yoy_pct", "2024"): 100.0,
        ("vocational", "new_intake_yoy_change", "2023"): None,
        ("vocational", "enrolled", "2024"): 200,
        ("vocational", "schools", "2024"): 3,
        ("vocational", "dropout_rate", "2023"): 8 / 180,
        ("health", "surgeries", "2025-06"): 120,
        ("health", "surgeries", "2025-07"): 140,
        ("health", "surgeries_cumulative", "2025-07"): 260,
        ("health", "beds_open", "2025-07"): 72,
        ("health", "experts_dispatched_cumulative", "2025-07"): 3,
        ("health", "visiting_experts", "2025-07"): 5,
        ("health", "visiting_experts_cumulative", "2025-07"): 15,
        ("health", "local_surgeons_independent", "2025-06"): 3,
        ("health", "local_surgeons_independent", "2025-07"): 5,
        ("health", "departments_internal", "2025-07"): 1,
        ("health", "departments_surgical", "2025-07"): 2,
        ("health", "departments_total", "2025-06"): 2,
        ("health", "facilities_reporting", "2025-07"): 1,
    }
    actual = {key: kpi(kpis, *key) for key in expected}
    assert actual == expected
    assert kpis.filter(pl.struct("domain", "metric", "period").is_duplicated()).height == 0
    children = kpis.filter(domain="childcare", metric="children_enrolled", period="2025-summer")
    assert children.select("value_integer", "unit", "label_zh", "label_en", "period_kind",
                           "period_start", "period_label_zh", "scope").row(0) == (
        180, "persons", "托管儿童数", "Children in care", "summer", dt.date(2025, 6, 15),
        "2025年暑期", "city")
    school = kpis.filter(domain="vocational", metric="dropout_rate", period="2023")
    assert school.select("value_integer", "unit", "period_start").row(0) == (
        None, "fraction", dt.date(2023, 9, 1))
    integral = {m.metric for m in METRICS if m.integral}
    counts = kpis.filter(pl.col("metric").is_in(integral) & pl.col("value").is_not_null())
    assert counts.height > 0
    assert (counts["value_integer"].cast(pl.Float64) == counts["value"]).all()
    assert kpis.filter(~pl.col("metric").is_in(integral))["value_integer"].null_count() == \
        kpis.filter(~pl.col("metric").is_in(integral)).height
    assert kpis["period_start"].null_count() == 0 and set(kpis["scope"]) == {"city"}


def test_the_metric_catalogue_is_the_city_kpi_mart(warehouse_engine: Engine) -> None:
    """One definition per KPI: the catalogue mart lists them, mart_city_kpi has exactly them."""
    load_sample(warehouse_engine)
    definitions = read_mart(warehouse_engine, "mart_metric_definitions")
    assert definitions.select("domain", "metric").rows() == [(m.domain, m.metric) for m in METRICS]
    for row in definitions.iter_rows(named=True):
        assert row["label_zh"] and row["label_en"] and row["formula"] and row["description"]
        assert row["unit"] in UNITS and row["source_mart"] and row["grain"]
        assert row["source_mart"] in VIEWS or row["source_mart"].startswith("fact_")
    kpis = read_mart(warehouse_engine, "mart_city_kpi")
    assert set(kpis.select("domain", "metric").unique().rows()) == {
        (m.domain, m.metric) for m in METRICS}
    labelled = kpis.join(definitions, on=["domain", "metric"], suffix="_def")
    assert (labelled["unit"] == labelled["unit_def"]).all()
    assert (labelled["label_zh"] == labelled["label_zh_def"]).all()


def test_submission_status_values(warehouse_engine: Engine) -> None:
    refs = load_sample(warehouse_engine)
    status = read_mart(warehouse_engine, "mart_submission_status")

    def partition(county: str, dataset: str, period: str) -> dict[str, object]:
        match = status.filter(county_code=county, dataset=dataset, period=period)
        assert match.height == 1
        return match.row(0, named=True)

    sites = partition(b.ZHAOYANG, "childcare_sites", "2025-summer")
    assert sites["status"] == "accepted"
    assert sites["current_submission_id"] == refs["zy_sites_2025"].submission_id
    assert (sites["rows_loaded"], sites["rows_rejected"], sites["warnings"]) == (3, 0, 0)
    assert sites["received_at"] == b.T0.replace(tzinfo=None)
    assert (sites["due_date"], sites["on_time"], sites["expected"]) == (
        dt.date(2025, 9, 30), True, True)

    daily = partition(b.ZHAOYANG, "childcare_daily", "2025-summer")
    assert daily["status"] == "rejected"
    assert daily["current_submission_id"] is not None
    assert daily["current_submission_id"] != refs["zy_daily_rejected"].submission_id
    assert (daily["rows_loaded"], daily["rows_rejected"], daily["submissions_received"]) == (
        0, 4, 2)
    assert daily["current_rows_loaded"] == 1

    late = partition(b.SUIJIANG, "childcare_sites", "2024-summer")
    assert (late["status"], late["on_time"]) == ("accepted", False)  # 10-20 > due 09-30

    missing = partition("530681", "childcare_sites", "2024-summer")  # 水富市 never sent it
    assert missing["status"] == "missing"
    assert missing["current_submission_id"] is None and missing["submissions_received"] == 0
    assert missing["on_time"] is False  # due date long past

    health_on_time = partition(b.ZHAOYANG, "health_monthly", "2025-06")
    assert (health_on_time["due_date"], health_on_time["on_time"]) == (dt.date(2025, 7, 10), True)
    health_late = partition(b.ZHAOYANG, "health_monthly", "2025-07")
    assert health_late["on_time"] is False  # 08-12 > due 08-10

    assert (sites["received_date"], sites["first_usable_date"], sites["days_late"]) == (
        dt.date(2025, 7, 1), dt.date(2025, 7, 1), 0)  # T0 08:00 UTC = 16:00 in the city
    assert (late["days_late"], late["first_usable_date"]) == (20, dt.date(2024, 10, 20))
    assert late["received_date"] == dt.date(2024, 10, 20)
    assert health_on_time["days_late"] == 0
    assert health_late["days_late"] == 2  # 08-12 against 08-10
    today = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    assert missing["days_late"] == (today - dt.date(2024, 9, 30)).days  # still counting
    assert missing["received_date"] is None and missing["first_usable_date"] is None

    # health is owed by 530602 only; other counties have no health partitions
    assert status.filter(dataset="health_monthly", county_code=b.SUIJIANG).height == 0
    statuses = set(status["status"].to_list())
    assert statuses <= {"missing", "accepted", "accepted_with_warnings", "rejected", "waiting"}


def test_duckdb_and_postgresql_give_identical_marts(
    tmp_path: Path, warehouse_templates: WarehouseTemplates
) -> None:
    frames: dict[str, dict[str, pl.DataFrame]] = {}
    for backend in ("duckdb", "postgresql"):
        folder = tmp_path / backend
        folder.mkdir()
        url = warehouse_templates.clone(backend, folder)  # skips/fails without PostgreSQL
        engine = make_engine(url)
        try:
            load_sample(engine)
            frames[backend] = {name: read_mart(engine, name) for name in VIEWS}
        finally:
            engine.dispose()
            if backend == "postgresql":
                drop_pg_database(url)
    for name in VIEWS:
        duck, pg = frames["duckdb"][name], frames["postgresql"][name]
        assert duck.height > 0, name
        assert_frame_equal(duck, pg, check_exact=True)


def test_on_time_compares_city_dates_not_utc_dates(warehouse_engine: Engine) -> None:
    """Due dates are Zhaotong dates (UTC+8); the ledger keeps UTC."""
    due_evening_utc = dt.datetime(2025, 7, 10, 15, 30, tzinfo=dt.UTC)  # 07-10 23:30 in the city
    next_day_city = dt.datetime(2025, 8, 10, 16, 30, tzinfo=dt.UTC)  # 08-11 00:30 in the city
    b.load(warehouse_engine, "health_monthly", "2025-06", [b.health("冠心病", surgeries=1)],
           modified=due_evening_utc)
    b.load(warehouse_engine, "health_monthly", "2025-07", [b.health("冠心病", surgeries=1)],
           modified=next_day_city)
    status = read_mart(warehouse_engine, "mart_submission_status").filter(
        county_code=b.ZHAOYANG, dataset="health_monthly")
    on_time = dict(zip(status["period"].to_list(), status["on_time"].to_list(), strict=True))
    assert (on_time["2025-06"], on_time["2025-07"]) == (True, False)  # due 07-10 and 08-10


def test_conformed_dimensions(warehouse_engine: Engine) -> None:
    counties = read_mart(warehouse_engine, "mart_dim_county")
    assert counties["county_order"].to_list() == list(range(1, 12))
    first, last = counties.row(0, named=True), counties.row(10, named=True)
    assert (first["county_code"], first["county_name"], first["pinyin"]) == (
        "530602", "昭阳区", "Zhaoyang")
    assert (last["county_code"], last["county_name"]) == ("530681", "水富市")
    periods = read_mart(warehouse_engine, "mart_dim_period")
    assert periods["start_date"].null_count() == 0
    by_period = {row["period"]: row for row in periods.iter_rows(named=True)}
    winter, summer = by_period["2025-winter"], by_period["2025-summer"]
    assert winter["sort_key"] < summer["sort_key"]  # January before June, unlike the labels
    assert (summer["label_zh"], summer["label_en"], summer["start_date"]) == (
        "2025年暑期", "Summer 2025", dt.date(2025, 6, 15))
    assert (winter["label_zh"], winter["label_en"]) == ("2025年寒假", "Winter 2025")
    school = by_period["2024"]
    assert (school["period_kind"], school["start_date"], school["label_zh"],
            school["label_en"]) == ("school_year", dt.date(2024, 9, 1), "2024—2025学年",
                                    "School year 2024/25")
    month = by_period["2025-07"]
    assert (month["label_zh"], month["label_en"], month["sort_key"]) == (
        "2025年7月", "Jul 2025", 202507011)
    assert periods["sort_key"].n_unique() == periods.height


def test_marts_carry_the_county_order_and_a_date_axis(warehouse_engine: Engine) -> None:
    load_sample(warehouse_engine)
    county = read_mart(warehouse_engine, "mart_childcare_county_season").filter(
        county_code=b.ZHAOYANG, season="2025-summer")
    assert (county["county_order"].item(), county["season_label_zh"].item()) == (1, "2025年暑期")
    voc = read_mart(warehouse_engine, "mart_vocational_county_year").filter(school_year=2024)
    assert set(voc["school_year_start"].to_list()) == {dt.date(2024, 9, 1)}
    for name in ("mart_childcare_site_season", "mart_health_facility_month",
                 "mart_submission_status"):
        assert read_mart(warehouse_engine, name)["county_order"].null_count() == 0, name


def test_volunteers_by_kind(warehouse_engine: Engine) -> None:
    load_sample(warehouse_engine)
    by_kind = read_mart(warehouse_engine, "mart_childcare_volunteers_by_kind")
    zy = by_kind.filter(county_code=b.ZHAOYANG, season="2025-summer")
    assert zy["volunteers"].sum() == 12
    assert zy.filter(is_university=True)["volunteers"].sum() == 9
    assert zy["volunteer_kind_zh"].null_count() == 0 and zy["volunteer_kind_zh"].str.len_chars().min() > 0
    assert set(zy["county_order"]) == {1} and set(zy["season_label_zh"]) == {"2025年暑期"}
    totals = read_mart(warehouse_engine, "mart_childcare_county_season")
    summed = by_kind.group_by("county_code", "season").agg(pl.col("volunteers").sum())
    joined = totals.join(summed, on=["county_code", "season"], how="inner")
    assert joined.height > 0 and (joined["volunteers"] == joined["volunteers_total"]).all()


def test_every_superset_metric_runs_on_the_backend(warehouse_engine: Engine) -> None:
    """The bundle's saved metrics are SQL Superset sends as is: they must run on both."""
    from countyflow.superset import bundle_files

    load_sample(warehouse_engine)
    datasets = [d for p, d in bundle_files().items() if p.startswith("datasets/")]
    with warehouse_engine.connect() as conn:
        for dataset in datasets:
            view = sql_name(conn, dataset["table_name"])
            for metric in dataset["metrics"]:
                conn.exec_driver_sql(f"SELECT {metric['expression']} FROM {view}").all()
        kpi = next(d for d in datasets if d["table_name"] == "mart_city_kpi")
        children = next(m for m in kpi["metrics"]
                        if m["metric_name"] == "childcare__children_enrolled")
        value = conn.exec_driver_sql(
            f"SELECT {children['expression']} FROM {sql_name(conn, 'mart_city_kpi')} "
            "WHERE period = '2025-summer'").scalar_one()
    assert value == 180
