"""A Superset import bundle for the marts (`countyflow bi export --superset DIR`).

What it writes (Superset's import format, version 1.0.0; import the folder zipped, or
the zip it also writes, with `superset import-dashboards -p countyflow-superset.zip -u admin`):

    metadata.yaml
    databases/countyflow.yaml            the connection, as a placeholder: no password
    datasets/countyflow/<mart>.yaml      every mart of schema `marts`: verbose names and
                                         descriptions from the sidecars, metrics (SUM of
                                         the integer measures; the catalogue's KPIs on
                                         mart_city_kpi)
    charts/<chart>.yaml                  the city's story, one chart per question
    dashboards/countyflow.yaml           the dashboard that lays them out

Verified once by hand (2026-12-07): `superset import-dashboards` of Superset 6.1.0 imports
the bundle (1 database, 10 datasets with 88 saved metrics and every column described, 5
charts, 1 dashboard); with the database pointed at a demo warehouse on PostgreSQL as a
`bi_reader` login, the query of every chart ran through Superset's chart-data command.

The files are JSON, which is YAML: the bundle needs no YAML library. Identifiers are
UUIDs derived from names (uuid5), so exporting again gives the same UUIDs and a
re-import overwrites instead of duplicating.
"""

from __future__ import annotations

import json
import uuid
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warehouse.marts import METRICS, VIEWS, Mart

NAMESPACE = uuid.UUID("6f1c3f1e-8e0b-5d0e-9b8a-3c0f1a7d2e11")
VERSION = "1.0.0"
DATABASE_NAME = "countyflow"
PLACEHOLDER_URI = "postgresql+psycopg2://superset@db.example:5432/countyflow"
BUNDLE_DIR = "countyflow_superset"

_SQLA_TYPES = {"text": "VARCHAR", "integer": "BIGINT", "double": "DOUBLE PRECISION",
               "date": "DATE", "timestamp": "TIMESTAMP WITHOUT TIME ZONE",
               "boolean": "BOOLEAN"}
_KEYS = ("county_order", "year", "school_year", "sort_key", "metric_order", "value_integer")


def _uuid(kind: str, name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{name}"))


def short_label(text: str) -> str:
    """A column's verbose name: its Chinese description up to the first bracket or
    clause (`县区代码（6 位行政区划代码）` → `县区代码`, `状态：accepted …` → `状态`)."""
    cut = min((i for i in (text.find(mark) for mark in "（(：:，,；;") if i > 0), default=len(text))
    return text[:cut].strip()


def dataset_metrics(view: Mart) -> list[dict[str, Any]]:
    """The dataset's saved metrics: COUNT(*), SUM of each integer measure, and on
    mart_city_kpi one metric per KPI of the catalogue."""
    metrics: list[dict[str, Any]] = [{"metric_name": "count", "verbose_name": "行数 / Rows", "expression": "COUNT(*)",
                "description": "Number of rows", "metric_type": "count"}]
    for column in view.column_docs:
        if column.type == "integer" and column.name not in _KEYS and column.unit != "rank":
            metrics.append({
                "metric_name": f"sum__{column.name}",
                "verbose_name": f"{column.zh} / {column.en}",
                "expression": f"SUM({column.name})",
                "description": f"Sum of {column.name} [{column.unit}]",
                "metric_type": "sum",
            })
    if view.name == "mart_city_kpi":
        for m in METRICS:
            metrics.append({
                "metric_name": f"{m.domain}__{m.metric}",
                "verbose_name": f"{m.label_zh} / {m.label_en}",
                "expression": (f"MAX(CASE WHEN domain = '{m.domain}' AND metric = '{m.metric}' "
                               "THEN value END)"),
                "description": f"{m.description} [{m.unit}] {m.description_zh}",
                "metric_type": None,
            })
    return [{**metric, "d3format": None, "extra": {}, "warning_text": None}
            for metric in metrics]


def _dataset(view: Mart, database_uuid: str) -> dict[str, Any]:
    dates = [c.name for c in view.column_docs if c.type in ("date", "timestamp")]
    main_dttm = next((d for d in dates if d.endswith("_start")), dates[0] if dates else None)
    return {
        "table_name": view.name,
        "main_dttm_col": main_dttm,
        "description": view.comment(),
        "default_endpoint": None,
        "offset": 0,
        "cache_timeout": None,
        "schema": "marts",
        "sql": None,
        "params": None,
        "template_params": None,
        "filter_select_enabled": True,
        "fetch_values_predicate": None,
        "extra": None,
        "normalize_columns": False,
        "always_filter_main_dttm": False,
        "uuid": _uuid("dataset", view.name),
        "metrics": dataset_metrics(view),
        "columns": [
            {
                "column_name": c.name,
                "verbose_name": short_label(c.zh),
                "is_dttm": c.type in ("date", "timestamp"),
                "is_active": True,
                "type": _SQLA_TYPES[c.type],
                "advanced_data_type": None,
                "groupby": c.type in ("text", "boolean", "date") or c.name in _KEYS,
                "filterable": True,
                "expression": None,
                "description": c.comment(),
                "python_date_format": None,
                "extra": {},
            }
            for c in view.column_docs
        ],
        "version": VERSION,
        "database_uuid": database_uuid,
    }


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    dataset: str
    viz_type: str
    params: Mapping[str, Any]
    width: int = 6


def _filter(column: str, operator: str, value: Any) -> dict[str, Any]:
    return {"expressionType": "SIMPLE", "clause": "WHERE", "subject": column,
            "operator": operator, "comparator": value, "isExtra": False}


CHARTS: tuple[Chart, ...] = (
    Chart("children_by_county", "托管儿童数：各县区 2025 年与 2024 年暑期 / Children in care by "
          "county, summer 2025 vs 2024", "mart_childcare_county_season", "echarts_timeseries_bar",
          {"x_axis": "county_name", "metrics": ["sum__children_enrolled"], "groupby": ["year"],
           "adhoc_filters": [_filter("season_kind", "==", "summer"),
                             _filter("year", "IN", [2024, 2025])],
           "row_limit": 1000}, width=12),
    Chart("volunteers_by_kind", "志愿者人数（按类别）/ Volunteers by kind",
          "mart_childcare_volunteers_by_kind", "echarts_timeseries_bar",
          {"x_axis": "season_start", "metrics": ["sum__volunteers"],
           "groupby": ["volunteer_kind_zh"], "stack": "Stack", "row_limit": 1000}),
    Chart("vocational_intake", "职业教育招生数（按学年）/ Vocational intake per school year",
          "mart_vocational_county_year", "echarts_timeseries_bar",
          {"x_axis": "school_year_start", "metrics": ["sum__new_intake"], "groupby": [],
           "row_limit": 1000}),
    Chart("heart_surgeries", "心血管病中心手术例数（按月）/ Heart-centre surgeries per month",
          "mart_health_facility_month", "echarts_timeseries_line",
          {"x_axis": "month_start", "metrics": ["sum__surgeries"], "groupby": [],
           "row_limit": 10000}, width=12),
    Chart("late_and_missing", "逾期和未报 / Late and missing submissions",
          "mart_submission_status", "table",
          {"query_mode": "raw",
           "all_columns": ["county_name", "dataset", "period", "status", "due_date",
                           "first_usable_date", "days_late"],
           "adhoc_filters": [_filter("days_late", ">", 0)],
           "order_by_cols": ['["days_late", false]'], "row_limit": 1000}, width=12),
)
"""The dashboard's charts: the city's story (issue 13)."""


def _chart(chart: Chart, dataset_uuid: str) -> dict[str, Any]:
    return {
        "slice_name": chart.title,
        "description": None,
        "certified_by": None,
        "certification_details": None,
        "viz_type": chart.viz_type,
        "params": {"viz_type": chart.viz_type, "datasource": f"__{chart.dataset}",
                   **chart.params},
        "query_context": None,
        "cache_timeout": None,
        "uuid": _uuid("chart", chart.key),
        "version": VERSION,
        "dataset_uuid": dataset_uuid,
    }


def _dashboard(charts: Iterable[Chart]) -> dict[str, Any]:
    position: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER",
                      "meta": {"text": "昭通市 countyflow / Zhaotong programmes"}},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
    }
    width = 0
    rows: list[list[Chart]] = []
    pending: list[Chart] = []
    for chart in charts:
        if width + chart.width > 12:
            rows.append(pending)
            pending, width = [], 0
        pending.append(chart)
        width += chart.width
    if pending:
        rows.append(pending)
    for index, members in enumerate(rows, start=1):
        row_id = f"ROW-{index}"
        row = [f"CHART-{chart.key}" for chart in members]
        position["GRID_ID"]["children"].append(row_id)
        position[row_id] = {"type": "ROW", "id": row_id, "children": row,
                            "parents": ["ROOT_ID", "GRID_ID"],
                            "meta": {"background": "BACKGROUND_TRANSPARENT"}}
        for chart in members:
            position[f"CHART-{chart.key}"] = {
                "type": "CHART", "id": f"CHART-{chart.key}", "children": [],
                "parents": ["ROOT_ID", "GRID_ID", row_id],
                "meta": {"width": chart.width, "height": 50, "chartId": 0,
                         "uuid": _uuid("chart", chart.key), "sliceName": chart.title},
            }
    return {
        "dashboard_title": "昭通市民生项目 / Zhaotong public-service programmes",
        "description": None,
        "css": "",
        "slug": "countyflow",
        "certified_by": None,
        "certification_details": None,
        "published": True,
        "uuid": _uuid("dashboard", "countyflow"),
        "position": position,
        "metadata": {"color_scheme": "", "refresh_frequency": 0, "expanded_slices": {},
                     "label_colors": {}, "timed_refresh_immune_slices": [],
                     "cross_filters_enabled": True, "default_filters": "{}",
                     "chart_configuration": {}, "native_filter_configuration": []},
        "version": VERSION,
    }


def bundle_files() -> dict[str, dict[str, Any]]:
    """Path in the bundle → the document written there."""
    database_uuid = _uuid("database", DATABASE_NAME)
    files: dict[str, dict[str, Any]] = {
        "metadata.yaml": {"version": VERSION, "type": "Dashboard",
                          "timestamp": "2026-01-01T00:00:00+00:00"},
        f"databases/{DATABASE_NAME}.yaml": {
            "database_name": DATABASE_NAME,
            "sqlalchemy_uri": PLACEHOLDER_URI,
            "cache_timeout": None,
            "expose_in_sqllab": True,
            "allow_run_async": False,
            "allow_ctas": False,
            "allow_cvas": False,
            "allow_dml": False,
            "allow_file_upload": False,
            "extra": {"metadata_params": {}, "engine_params": {},
                      "metadata_cache_timeout": {}, "schemas_allowed_for_file_upload": []},
            "uuid": database_uuid,
            "version": VERSION,
        },
    }
    marts = {name: view for name, view in VIEWS.items() if view.kind != "intermediate"}
    for name, view in marts.items():
        files[f"datasets/{DATABASE_NAME}/{name}.yaml"] = _dataset(view, database_uuid)
    for chart in CHARTS:
        files[f"charts/{chart.key}.yaml"] = _chart(chart, _uuid("dataset", chart.dataset))
    files["dashboards/countyflow.yaml"] = _dashboard(CHARTS)
    return files


def write_bundle(directory: Path) -> tuple[Path, Path]:
    """Write the bundle under `directory/countyflow_superset/` and as a zip beside it;
    return both paths."""
    root = directory / BUNDLE_DIR
    archive = directory / f"{BUNDLE_DIR}.zip"
    directory.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for relative, document in bundle_files().items():
            text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            zipped.writestr(f"{BUNDLE_DIR}/{relative}", text)
    return root, archive
