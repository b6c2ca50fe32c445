"""examples/marts.ipynb answers the city's questions on DuckDB and PostgreSQL.

Its code cells are run as written (no Jupyter needed) against the sample warehouse on each
backend; each answer must be there, and agree with the city KPIs the catalogue publishes.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy.engine import Engine

from tests.warehouse.sample import load_sample

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "marts.ipynb"


def run_notebook(url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    monkeypatch.setenv("COUNTYFLOW_WAREHOUSE_URL", url)
    namespace: dict[str, object] = {}
    for cell in json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), str(NOTEBOOK), "exec"), namespace)
    return namespace


def test_the_notebook_answers_every_question(warehouse_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    load_sample(warehouse_engine)
    url = warehouse_engine.url.render_as_string(hide_password=False)
    warehouse_engine.dispose()  # DuckDB: the notebook opens the file itself
    answers = run_notebook(url, monkeypatch)
    try:
        children, volunteers, intake, surgeries, late, kpi = (
            answers[name] for name in ("children", "volunteers", "intake", "surgeries", "late", "kpi"))
        assert all(isinstance(a, pl.DataFrame) for a in (children, volunteers, intake, surgeries, late, kpi))
        ask = answers["ask"]
        city = ask("SELECT domain, metric, period, value FROM mart_city_kpi")  # type: ignore[operator]

        def published(domain: str, metric: str) -> dict[str, float]:
            rows = city.filter((pl.col("domain") == domain) & (pl.col("metric") == metric))
            return dict(zip(rows["period"], rows["value"], strict=True))

        # 1. the sample's 2025 summer: 昭阳区 150 children, 绥江县 30
        assert sorted(children["children_enrolled"].to_list()) == [30, 150]
        assert children["children_enrolled"].sum() == published("childcare", "children_enrolled")["2025-summer"]
        # 2. volunteers by kind add up to the city's volunteers
        assert volunteers["volunteers"].sum() == published("childcare", "volunteers_total")["2025-summer"]
        assert "大学生志愿者" in volunteers["volunteer_kind_zh"].to_list()
        # 3. intake per school year = the published new intake of each year
        assert dict(zip(intake["school_year"].cast(pl.Utf8), intake["new_intake"], strict=True)) == {
            period: int(value) for period, value in published("vocational", "new_intake").items()}
        # 4. surgeries per month = the published surgeries of each month
        months = {f"{d:%Y-%m}": s for d, s in zip(surgeries["month_start"], surgeries["surgeries"], strict=True)}
        assert months == {period: int(value) for period, value in published("health", "surgeries").items()}
        # 5. the rejected correction and the counties that owe a file are listed
        assert late.height > 0 and {"status", "days_late"} <= set(late.columns)
        # 6. one KPI over time, labelled and with its unit
        assert kpi["label_zh"].unique().to_list() == ["托管儿童数"] and kpi["unit"].n_unique() == 1
        assert kpi["period_start"].is_sorted()
    finally:
        answers["engine"].dispose()  # type: ignore[attr-defined]
