"""A workbook that aborts its reader, beside a good file, through the real flow: the good
file loads, the hostile one is recorded rejected with its reason, the run completes, and the
next run does not try the same bytes again."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from countyflow.demo import plan_demo_submissions, write_submissions
from countyflow.settings import Settings
from tests.isolation_fakes import endless_sheet_xlsx
from tests.warehouse.backends import empty_warehouse_url
from warehouse.engine import make_engine

pytestmark = pytest.mark.flow

OTHER_COUNTY = "530621"  # 鲁甸县: its own partition, so the good file's is untouched
TOO_LARGE = {"too_large_when_expanded", "spreadsheet_too_large", "too_many_columns"}  # see tests/tasks/test_stage.py


def test_a_file_that_kills_its_reader_costs_only_itself(prefect_harness: None, tmp_path: Path) -> None:
    from flows.ingest import ingest_landing_zone
    from tasks.resources import dispose_engines

    good = next(s for s in plan_demo_submissions()
                if s.file.dataset == "vocational_enrollment" and s.file.path.endswith(".xlsx"))
    landing = tmp_path / "landing"
    write_submissions(str(landing), [good])
    hostile = landing / OTHER_COUNTY / good.file.dataset / good.file.period / "无尺寸.xlsx"
    hostile.parent.mkdir(parents=True)
    hostile.write_bytes(endless_sheet_xlsx())
    leftover = tmp_path / "staging" / f"{'0' * 64}.deadbeef0000.facts.arrow"  # a killed run's
    leftover.parent.mkdir()
    leftover.write_bytes(b"")

    with empty_warehouse_url("duckdb", tmp_path) as url:
        settings = Settings(warehouse_url=url, landing=str(landing), archive_dir=tmp_path / "archive",
                            reports_dir=tmp_path / "reports", staging_dir=tmp_path / "staging",
                            run_quality_checks=False, stage_memory_mb=1024, stage_timeout_seconds=120,
                            staging_leftover_seconds=0)
        first = {o.county_code: o for o in ingest_landing_zone(settings)}
        assert first[good.file.county_code].status.startswith("accepted")
        assert first[good.file.county_code].counts.rows_loaded == good.file.rows
        rejected = first[OTHER_COUNTY]
        assert (rejected.status, rejected.counts.rows_in, rejected.file_name) == ("rejected", 0, "无尺寸.xlsx")
        assert rejected.report_path and Path(rejected.report_path).exists()
        assert not leftover.exists() and list((tmp_path / "staging").iterdir()) == []

        assert ingest_landing_zone(settings) == []  # in the ledger: not tried again

        engine = make_engine(url)
        with engine.connect() as conn:
            rules = conn.execute(text(
                "SELECT i.rule FROM audit_issue i JOIN audit_submission s "  # DuckDB: one schema
                "USING (submission_id) WHERE s.county_code = :county"
            ), {"county": OTHER_COUNTY}).scalars().all()
        engine.dispose()
        dispose_engines()
        assert len(rules) == 1 and set(rules) <= TOO_LARGE
