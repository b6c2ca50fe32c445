"""The Superset import bundle: structure, references between its files, the CLI."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import yaml
from typer.testing import CliRunner

from countyflow.superset import BUNDLE_DIR, CHARTS, bundle_files, write_bundle
from warehouse.marts import METRICS, VIEWS


def test_bundle_structure_and_references(tmp_path: Path) -> None:
    root, archive = write_bundle(tmp_path)
    files = bundle_files()
    with zipfile.ZipFile(archive) as zipped:
        names = set(zipped.namelist())
        assert names == {f"{BUNDLE_DIR}/{relative}" for relative in files}
        for name in names:  # what Superset's importer parses
            assert yaml.safe_load(zipped.read(name)) == files[name.removeprefix(f"{BUNDLE_DIR}/")]
    assert (root / "metadata.yaml").is_file()
    assert files["metadata.yaml"]["type"] == "Dashboard"
    database = files["databases/countyflow.yaml"]
    assert "@" in database["sqlalchemy_uri"] and ":" not in database["sqlalchemy_uri"].split(
        "//")[1].split("@")[0]  # a placeholder login, never a password
    assert database["allow_dml"] is False
    datasets = {d["uuid"]: d for p, d in files.items() if p.startswith("datasets/")}
    marts = {name for name, view in VIEWS.items() if view.kind != "intermediate"}
    assert {d["table_name"] for d in datasets.values()} == marts
    for dataset in datasets.values():
        view = VIEWS[dataset["table_name"]]
        assert dataset["schema"] == "marts" and dataset["database_uuid"] == database["uuid"]
        assert dataset["description"] == view.comment()
        assert [c["column_name"] for c in dataset["columns"]] == list(view.columns)
        assert all(c["description"] and c["verbose_name"] for c in dataset["columns"])
        verbose = [c["verbose_name"] for c in dataset["columns"]]
        assert len(set(verbose)) == len(verbose), dataset["table_name"]  # a picker tells them apart
        assert dataset["main_dttm_col"] is None or dataset["main_dttm_col"] in view.columns
    kpi = next(d for d in datasets.values() if d["table_name"] == "mart_city_kpi")
    assert {m["metric_name"] for m in kpi["metrics"]} >= {f"{m.domain}__{m.metric}" for m in METRICS}
    charts = {p: c for p, c in files.items() if p.startswith("charts/")}
    assert len(charts) == len(CHARTS) >= 5
    for chart in charts.values():
        dataset = datasets[chart["dataset_uuid"]]
        saved = {m["metric_name"] for m in dataset["metrics"]}
        columns = {c["column_name"] for c in dataset["columns"]}
        params = chart["params"]
        assert set(params.get("metrics", [])) <= saved, chart["slice_name"]
        used = {params.get("x_axis"), *params.get("groupby", []), *params.get("all_columns", []),
                *(f["subject"] for f in params.get("adhoc_filters", []))} - {None}
        assert used <= columns, (chart["slice_name"], used - columns)
    dashboard = files["dashboards/countyflow.yaml"]
    placed = {v["meta"]["uuid"] for v in dashboard["position"].values()
              if isinstance(v, dict) and v.get("type") == "CHART"}
    assert placed == {c["uuid"] for c in charts.values()}
    json.dumps(files)  # plain data only


def test_cli_writes_the_bundle(tmp_path: Path) -> None:
    from countyflow.cli import app

    result = CliRunner().invoke(app, ["bi", "export", "--superset", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / f"{BUNDLE_DIR}.zip").is_file()
    assert "superset import-dashboards" in result.output
