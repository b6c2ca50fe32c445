"""Staging in worker processes (countyflow/isolation.py): every way a worker can fail ends as
one rejected submission, and the next submission on the same pool stages normally.

Limits are small (1 GiB of data segment, seconds of time) so a limit that failed to hold
cannot take the machine down: each failing stand-in (tests/isolation_fakes.py) asks for twice
its limit at most, and the sleeping one is killed by the test's own time limit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from pydantic import SecretStr

from countyflow.demo import plan_demo_submissions, write_submissions
from countyflow.ingest.discover import discover_submissions
from countyflow.ingest.model import SubmissionRef, SubmissionStatus
from countyflow.isolation import (
    StageFailure,
    WorkerPool,
    _describe_exit,
    stage_isolated,
    worker_settings,
)
from countyflow.pipeline import StagedSubmission
from countyflow.settings import Settings
from schemas.contract import COMMON_RULES
from tests.isolation_fakes import HERE

TEST_MEMORY_MB = 1024


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SubmissionRef]:
    """One good demo workbook, archived as discovery archives it."""
    folder = tmp_path_factory.mktemp("isolation")
    good = next(s for s in plan_demo_submissions()
                if s.file.dataset == "vocational_enrollment" and s.file.path.endswith(".xlsx"))
    write_submissions(str(folder / "landing"), [good])
    (ref,) = discover_submissions(str(folder / "landing"), archive_dir=folder / "archive",
                                  max_file_bytes=10**8)
    return folder, ref


@pytest.fixture(scope="module")
def pool() -> Iterator[WorkerPool]:
    """One pool for the module: each test starts from whatever worker the last one left.
    Its workers start with a warehouse password in this process's environment, and the
    good stagings check it never reaches them (`refuse_secrets`)."""
    workers = WorkerPool(max_idle=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COUNTYFLOW_WAREHOUSE_PASSWORD", "hunter2")
        yield workers
    workers.close()


@pytest.fixture
def settings(landing: tuple[Path, SubmissionRef], tmp_path: Path) -> Settings:
    folder, _ = landing
    return Settings(
        warehouse_url=SecretStr("postgresql+psycopg://etl:hunter2@db.example/countyflow"),
        warehouse_password=SecretStr("hunter2"), landing=str(folder / "landing"),
        archive_dir=folder / "archive", reports_dir=tmp_path / "reports",
        staging_dir=tmp_path / "staging", stage_memory_mb=TEST_MEMORY_MB, stage_timeout_seconds=120,
    )


def _stage_good(ref: SubmissionRef, settings: Settings, pool: WorkerPool) -> tuple[StagedSubmission, int]:
    """Stage the good file for real (in a worker holding no warehouse secret); returns it and
    the pid of the worker that did it."""
    staged = stage_isolated(ref, {}, settings, function=f"{HERE}:refuse_secrets", pool=pool)
    return staged, int((settings.staging_dir / "worker.pid").read_text())


FAILURES = [
    # fake, rule, what the message says, whether the worker survives
    ("abort", "reader_crashed", "killed by signal SIGABRT", False),
    ("exit_hard", "reader_crashed", "exit code 3", False),
    ("allocate_python", "too_large_when_expanded", "MemoryError", False),
    ("allocate_native", "too_large_when_expanded", "a native allocation failed", False),
    ("sleep", "timed_out", "longer than 3 s", False),
    ("raise_error", "reader_crashed", "tests.isolation_fakes.FileSaysNo", True),
]


@pytest.mark.parametrize(("fake", "rule", "says", "survives"), FAILURES, ids=[f[0] for f in FAILURES])
def test_a_failing_worker_rejects_only_its_submission_and_the_pool_recovers(
    landing: tuple[Path, SubmissionRef], settings: Settings, pool: WorkerPool,
    fake: str, rule: str, says: str, survives: bool,
) -> None:
    _, ref = landing
    _, before = _stage_good(ref, settings, pool)
    failures: list[StageFailure] = []
    limits = settings.model_copy(update={"stage_timeout_seconds": 3}) if fake == "sleep" else settings

    staged = stage_isolated(ref, {}, limits, function=f"{HERE}:{fake}", pool=pool, on_failure=failures.append)

    assert [f.rule for f in failures] == [rule]
    assert staged.status == SubmissionStatus.REJECTED
    assert (staged.counts.rows_in, staged.counts.rows_loaded, staged.counts.rows_rejected, staged.counts.rows_held) == (0, 0, 0, 0)
    assert staged.facts_path is None and staged.counts.errors == 1
    issues = pl.read_ipc(staged.issues_path)
    assert issues["rule"].to_list() == [rule] and issues["severity"].to_list() == ["error"]
    assert says in issues["message_en"].item() and says in failures[0].detail
    assert issues["message_zh"].item() and issues["message_en"].item()
    assert staged.report_path is not None
    html = Path(staged.report_path).read_text(encoding="utf-8")
    report = json.loads(Path(staged.report_path).with_suffix(".json").read_text(encoding="utf-8"))
    text = COMMON_RULES[rule]
    assert text.message_zh in html and text.fix_zh in html and report["issues"][0]["rule"] == rule
    assert "13812345678" not in html + json.dumps(report, ensure_ascii=False)  # no text from the "file"
    assert pool.idle_pids == ([before] if survives else [])

    good, after = _stage_good(ref, settings, pool)
    assert good.status.startswith("accepted") and good.counts.rows_in == good.counts.rows_loaded > 0
    assert (after == before) is survives  # a dead worker was replaced, a live one reused
    assert pool.idle_pids == [after]


def test_each_reply_carries_the_worker_s_peak_rss(
    landing: tuple[Path, SubmissionRef], settings: Settings, pool: WorkerPool,
) -> None:
    _, ref = landing
    peaks: list[int] = []
    staged = stage_isolated(ref, {}, settings, function=f"{HERE}:refuse_secrets", pool=pool,
                            on_peak_rss=peaks.append)
    assert staged.status.startswith("accepted")
    (peak,) = peaks  # KiB: an interpreter with Polars loaded, under the worker's memory limit
    assert 20 * 1024 < peak < TEST_MEMORY_MB * 1024
    (worker,) = pool.idle_pids
    stage_isolated(ref, {}, settings, function=f"{HERE}:raise_error", pool=pool, on_peak_rss=peaks.append)
    assert pool.idle_pids == [worker]  # the same worker replied, with its peak so far. Linux
    # records the high-water mark lazily (on some paths only, e.g. unmap), so memory handed back
    # otherwise can make a later VmHWM reading a little lower (seen: 238,636 then 238,368 KiB)
    assert len(peaks) == 2 and peak * 0.95 <= peaks[1] < TEST_MEMORY_MB * 1024
    stage_isolated(ref, {}, settings, function=f"{HERE}:abort", pool=pool, on_peak_rss=peaks.append)
    assert len(peaks) == 2  # a worker that died replied nothing, so there is no figure


def test_the_peak_rss_is_the_worker_s_own_not_its_parent_s(
    landing: tuple[Path, SubmissionRef], settings: Settings,
) -> None:
    """Linux carries a process's peak RSS across vfork + exec into the new image's `ru_maxrss`:
    a worker started by a big flow process must still report its own peak."""
    _, ref = landing
    ballast = b"\x01" * (TEST_MEMORY_MB + 256) * 1024 * 1024  # this process's peak, past the limit
    fresh = WorkerPool(max_idle=1)
    peaks: list[int] = []
    try:
        stage_isolated(ref, {}, settings, function=f"{HERE}:refuse_secrets", pool=fresh,
                       on_peak_rss=peaks.append)
    finally:
        fresh.close()
        del ballast
    (peak,) = peaks
    assert peak < TEST_MEMORY_MB * 1024


def test_staging_in_process_when_isolation_is_off(
    landing: tuple[Path, SubmissionRef], settings: Settings,
) -> None:
    _, ref = landing
    in_process = settings.model_copy(update={"stage_in_worker": False})
    with pytest.raises(FileNotFoundError):  # the fake raised here, in this process
        stage_isolated(ref, {}, in_process, function=f"{HERE}:raise_missing")


def test_worker_settings_carry_no_warehouse_secret(settings: Settings) -> None:
    sent = worker_settings(settings)
    assert sent.warehouse_url.get_secret_value() == "" and sent.warehouse_password is None
    assert sent.staging_dir == settings.staging_dir and sent.stage_memory_mb == TEST_MEMORY_MB


def test_exit_descriptions() -> None:
    assert _describe_exit(-6) == "killed by signal SIGABRT"
    assert _describe_exit(-9) == "killed by signal SIGKILL"
    assert _describe_exit(1) == "exit code 1"
