"""Staging to files (countyflow/staging.py): rejected results and the housekeeping of leftovers."""

from __future__ import annotations

import os
import time
from pathlib import Path

import polars as pl

from countyflow.ingest.model import SubmissionStatus
from countyflow.pipeline import staging_paths
from countyflow.settings import Settings
from countyflow.staging import leftover_staging_files, rejected_to_files, remove_leftover_staging
from tests.test_isolation import landing  # noqa: F401 - the shared module fixture

HOUR = 3600.0


def _staged_files(folder: Path, age_seconds: float, now: float) -> list[Path]:
    facts, issues = staging_paths(folder, "ab" * 32)
    folder.mkdir(parents=True, exist_ok=True)
    for path in (facts, issues):
        path.write_bytes(b"arrow")
        os.utime(path, (now - age_seconds, now - age_seconds))
    return [facts, issues]


def test_only_old_staging_files_are_removed(tmp_path: Path) -> None:
    now = time.time()
    old = _staged_files(tmp_path / "staging", 7 * HOUR, now)
    young = _staged_files(tmp_path / "staging", 10, now)  # another run's, still going
    foreign = tmp_path / "staging" / "notes.txt"  # not ours: never deleted, however old
    foreign.write_text("operator's file")
    os.utime(foreign, (now - 100 * HOUR, now - 100 * HOUR))

    assert leftover_staging_files(tmp_path / "staging", older_than_seconds=6 * HOUR, now=now) == sorted(old)
    assert remove_leftover_staging(tmp_path / "staging", older_than_seconds=6 * HOUR, now=now) == sorted(old)
    assert sorted((tmp_path / "staging").iterdir()) == sorted([*young, foreign])
    assert remove_leftover_staging(tmp_path / "staging", older_than_seconds=6 * HOUR, now=now) == []


def test_no_staging_folder_yet(tmp_path: Path) -> None:
    assert remove_leftover_staging(tmp_path / "missing", older_than_seconds=0) == []


def test_a_rejected_result_is_written_like_any_other(landing: tuple[Path, object], tmp_path: Path) -> None:  # noqa: F811
    _, ref = landing
    settings = Settings(reports_dir=tmp_path / "reports", staging_dir=tmp_path / "staging")
    staged = rejected_to_files(ref, "timed_out", "staging took longer than 300 s", settings)  # type: ignore[arg-type]
    assert staged.status == SubmissionStatus.REJECTED and staged.counts.rows_in == 0 and staged.counts.errors == 1
    issues = pl.read_ipc(staged.issues_path)
    assert issues["rule"].to_list() == ["timed_out"]
    assert staged.report_path is not None and Path(staged.report_path).with_suffix(".json").exists()
