"""Hostile landing-zone paths through the real flow: a GBK or undecodable file name, period
folders that are no period, symlinks, lock files and a hidden folder beside a good file.
The run completes, the good file loads, each bad path is one rejected submission, the
ignored entries are in the run summary, and the next run is not blocked."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from countyflow.demo import plan_demo_submissions, write_submissions
from countyflow.settings import Settings
from tests.flows.test_operations import artifacts_of
from tests.warehouse.backends import empty_warehouse_url

pytestmark = pytest.mark.flow

YILIANG, WINTER = "530628", "2025-winter"
BAD_PERIODS = ("0000", "9999", "2019-summer ", "２０１９-summer")


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_hostile_paths_never_stop_a_run(prefect_harness: None, tmp_path: Path) -> None:
    from flows.ingest import ingest_landing_zone
    from tasks.resources import dispose_engines

    (good,) = [s for s in plan_demo_submissions() if (s.file.county_code, s.file.dataset, s.file.period)
               == (YILIANG, "childcare_sites", WINTER)]
    landing = tmp_path / "landing"
    write_submissions(str(landing), [good])
    sites = os.fsencode(landing / "530602" / "childcare_sites")
    season = os.path.join(sites, b"2025-summer")
    os.makedirs(season)
    _write(Path(os.fsdecode(os.path.join(season, "昭阳区托管点".encode("gbk") + b".csv"))), b"gbk name")
    _write(Path(os.fsdecode(os.path.join(season, b"\xff\xfe.csv"))), b"undecodable name")
    for period in BAD_PERIODS:
        _write(landing / "530602" / "childcare_sites" / period / "a.csv", period.encode())
    _write(landing / "530602" / "health_monthly" / "0000-01" / "a.csv", b"month zero")
    _write(landing / "530602" / "childcare_sites" / ".2019-winter" / "托管点.csv", b"hidden folder")
    _write(landing / "530602" / "childcare_sites" / "2025-summer" / "~$托管点.xlsx", b"lock")
    _write(tmp_path / "outside" / "secret.csv", b"outside")
    (landing / "530602" / "childcare_sites" / "2025-summer" / "link.csv").symlink_to(
        tmp_path / "outside" / "secret.csv")

    with empty_warehouse_url("duckdb", tmp_path) as url:
        settings = Settings(warehouse_url=url, landing=str(landing), archive_dir=tmp_path / "archive",
                            reports_dir=tmp_path / "reports", staging_dir=tmp_path / "staging",
                            data_docs_dir=tmp_path / "quality")
        try:
            state = ingest_landing_zone(settings, return_state=True)
            outcomes = state.result()
            assert state.is_completed()  # the quality gate passed: no raw label was loaded
            by_file = {(o.period, o.file_name): o for o in outcomes}
            assert by_file[(WINTER, good.file.file_name)].status.startswith("accepted")
            assert by_file[("2025-summer", "昭阳区托管点.csv")].status == "rejected"
            assert by_file[("2025-summer", "\\xff\\xfe.csv")].status == "rejected"
            for period in (*BAD_PERIODS, "0000-01"):
                assert by_file[(period, "a.csv")].status == "rejected"
            assert len(outcomes) == 3 + len(BAD_PERIODS) + 1
            for outcome in outcomes:  # every bad one has its clerk report
                assert outcome.report_path and Path(outcome.report_path).is_file()

            summary = artifacts_of(state.state_details.flow_run_id)["countyflow-run-summary"].data
            section = summary.split("## Ignored in the landing zone", 1)[1]
            assert "⚠ | 530602/childcare_sites/.2019-winter | 1 |" in section
            assert "530602/childcare_sites/2025-summer | 1 | 符号链接" in section
            assert "530602/childcare_sites/2025-summer | 1 | Office 临时锁定文件" in section
            assert "secret" not in summary and "托管点.csv" not in summary

            assert ingest_landing_zone(settings) == []  # the next run is not blocked
        finally:
            dispose_engines()
