"""Lifecycle across runs, through the real flow: held until the registry arrives, then loaded."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import text

from countyflow.demo import plan_demo_submissions, write_submissions
from countyflow.settings import Settings
from tests.warehouse.backends import empty_warehouse_url
from warehouse.engine import make_engine

pytestmark = pytest.mark.flow

YILIANG, WINTER = "530628", "2025-winter"


def _yiliang_winter() -> dict[str, object]:
    return {
        submission.file.dataset: submission
        for submission in plan_demo_submissions()
        if submission.file.county_code == YILIANG and submission.file.period == WINTER
    }


def test_held_submissions_load_once_their_registry_arrives(prefect_harness: None, tmp_path: Path) -> None:
    from flows.ingest import ingest_landing_zone
    from tasks.resources import dispose_engines

    files = _yiliang_winter()
    assert {"childcare_sites", "childcare_daily", "childcare_volunteers"} <= set(files)
    landing = tmp_path / "landing"
    with empty_warehouse_url("duckdb", tmp_path) as url:
        settings = Settings(warehouse_url=url, landing=str(landing), archive_dir=tmp_path / "archive",
                            reports_dir=tmp_path / "reports", staging_dir=tmp_path / "staging",
                            run_quality_checks=False)
        write_submissions(str(landing), [files["childcare_daily"], files["childcare_volunteers"]])
        first = ingest_landing_zone(settings)
        assert sorted(o.status for o in first) == ["waiting", "waiting"]
        assert all(o.counts.rows_held == o.counts.rows_in > 0 and o.counts.rows_loaded == 0 for o in first)

        # nothing new and no registry: still held, nothing lost
        assert [o.status for o in ingest_landing_zone(settings)] == ["waiting", "waiting"]

        write_submissions(str(landing), [files["childcare_sites"]])
        second = ingest_landing_zone(settings)
        by_dataset = {o.dataset: o for o in second}
        assert set(by_dataset) == {"childcare_sites", "childcare_daily", "childcare_volunteers"}
        assert all(o.status.startswith("accepted") for o in second)
        daily = by_dataset["childcare_daily"]
        assert daily.counts.rows_loaded == daily.counts.rows_in == files["childcare_daily"].file.rows

        engine = make_engine(url)
        with engine.connect() as conn:
            facts = conn.execute(text("SELECT COUNT(*) FROM fact_childcare_daily")).scalar_one()
            ledger = pl.DataFrame(
                [tuple(r) for r in conn.execute(text("SELECT dataset, status, rows_held FROM audit_submission"))],
                schema=["dataset", "status", "rows_held"], orient="row",
            )
        engine.dispose()
        dispose_engines()
        assert facts == daily.counts.rows_in
        assert ledger.height == 3 and ledger["rows_held"].sum() == 0
        assert ingest_landing_zone(settings) == []
