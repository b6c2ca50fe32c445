"""Smoke test of the benchmark harness: one county, scale 1, one repetition, DuckDB.

No timing is asserted (CONTRIBUTING rule 9): only that every workload ran in its own
process over the same rows and that the table is produced.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.flow


def test_harness_produces_the_table(prefect_harness: None, tmp_path: Path) -> None:
    from prefect.settings import PREFECT_API_URL

    from benchmarks.__main__ import main
    from benchmarks.harness import ORDER

    output = tmp_path / "result.md"
    code = main(["--scale", "1", "--counties", "530626", "--backend", "duckdb", "--repeat", "1",
                 "--workdir", str(tmp_path / "work"), "--api-url", str(PREFECT_API_URL.value()),
                 "--output", str(output)])
    assert code == 0
    table = output.read_text(encoding="utf-8")
    for workload in ORDER:
        assert f"| duckdb | {workload} |" in table
    assert "| duckdb | W1 / B0 (time) |" in table
    assert "| duckdb | W1 / B2 (Prefect overhead) |" in table

    import json

    raw = json.loads(output.with_suffix(".json").read_text(encoding="utf-8"))
    measured = {m["workload"]: m for m in raw["measurements"]}
    landing_rows = raw["landing_rows"]
    assert measured["B0"]["rows"] == measured["B2"]["rows"] == measured["W1"]["rows"] == landing_rows > 0
    assert measured["B1"]["rows"] == landing_rows
    assert measured["W2"]["files"] == 0  # nothing new
    assert measured["W3"]["files"] >= 1  # the corrected files, and only those
    assert measured["W4"]["rows"] == landing_rows
    # dlt over the same CSVs: every row appended; merged on the natural key, never more
    assert measured["B3a"]["extra"]["rows_loaded"] == landing_rows
    assert 0 < measured["B3"]["extra"]["rows_loaded"] <= landing_rows
    # `countyflow run` from a shell: the same files cold, then nothing new
    assert measured["W5"]["rows"] == landing_rows and measured["W5"]["files"] == measured["W1"]["files"]
    assert measured["W5b"]["files"] == 0
    assert "| duckdb | W1 / B3 (time: countyflow over dlt merge on the same rows) |" in table
    assert all(m["rss_mb"] > 0 for m in raw["measurements"])
