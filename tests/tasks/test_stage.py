"""The staging task (task.fn, no Prefect server) with a real hostile workbook: calamine's
16 GB allocation is stopped by the worker's memory limit and the file rejected; a good file
staged right after, by the same process's pool, is accepted."""

from __future__ import annotations

import os
import time
from pathlib import Path

import polars as pl

from countyflow.demo import plan_demo_submissions, write_submissions
from countyflow.ingest.discover import discover_submissions
from countyflow.ingest.model import SubmissionStatus
from countyflow.settings import Settings
from tasks.stage import remove_leftover_staging, stage_submission
from tests.isolation_fakes import endless_sheet_xlsx

# The reader's own bounds (issue 11 item 2) may reject the workbook before calamine sizes
# it; either way it is one rejected file, never a dead run.
TOO_LARGE = {"too_large_when_expanded", "spreadsheet_too_large", "too_many_columns"}


def test_a_workbook_that_aborts_calamine_is_rejected_and_the_next_file_staged(tmp_path: Path) -> None:
    good = next(s for s in plan_demo_submissions()
                if s.file.dataset == "vocational_enrollment" and s.file.path.endswith(".xlsx"))
    write_submissions(str(tmp_path / "landing"), [good])
    folder = (tmp_path / "landing" / good.file.path).parent
    (folder / "无尺寸.xlsx").write_bytes(endless_sheet_xlsx())
    refs = sorted(discover_submissions(str(tmp_path / "landing"), archive_dir=tmp_path / "archive",
                                       max_file_bytes=10**8), key=lambda ref: ref.file_name != "无尺寸.xlsx")
    # 1 GiB: far below the 16 GB calamine asks for, and bounds the test if isolation failed
    settings = Settings(landing=str(tmp_path / "landing"), archive_dir=tmp_path / "archive",
                        reports_dir=tmp_path / "reports", staging_dir=tmp_path / "staging",
                        stage_memory_mb=1024, stage_timeout_seconds=120)

    hostile, accepted = (stage_submission.fn(ref, {}, settings) for ref in refs)

    assert hostile.status == SubmissionStatus.REJECTED and hostile.counts.rows_in == 0
    assert set(pl.read_ipc(hostile.issues_path)["rule"].to_list()) <= TOO_LARGE
    assert accepted.status.startswith("accepted") and accepted.counts.rows_loaded == good.file.rows


def test_leftover_staging_is_removed_at_start(tmp_path: Path) -> None:
    settings = Settings(staging_dir=tmp_path / "staging", staging_leftover_seconds=60)
    settings.staging_dir.mkdir()
    leftover = settings.staging_dir / "x.1234.issues.arrow"
    leftover.write_bytes(b"")
    os.utime(leftover, (time.time() - 120, time.time() - 120))
    assert remove_leftover_staging.fn(settings) == 1
