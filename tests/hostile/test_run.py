"""Every hostile file of issue 11 at once, beside good files, through a real `countyflow run`
process on DuckDB and on PostgreSQL (issue 11 §8).

One run per backend with all the files together (a module-scoped fixture), under low limits
(`RUN_ENV`): the run exits 0, the good files load, each hostile file ends as its case says
(tests/hostile/builders.py), rows are conserved, the staging workers' peak RSS stays under
their memory limit, and a second run exits 0 at once with nothing new (nothing retried,
nothing blocked). Native crashes, an out-of-memory abort and a hang are injected by file name
(tests/hostile/faults.py); everything else is staged for real.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import text

from countyflow.demo import plan_demo_submissions, write_submissions
from countyflow.ingest.model import IGNORED_REASONS
from tests.hostile import faults
from tests.hostile.builders import (
    BAD_ROWS,
    PASSWD_MARK,
    PHONE,
    Hostile,
    hostile_cases,
    write_case,
)
from tests.processes import finish_together, start_countyflow
from tests.warehouse.backends import (
    BACKENDS,
    SqlNames,
    empty_warehouse_url,
    one_backend,
    reachable_backends,
)
from warehouse.engine import make_engine

pytestmark = pytest.mark.flow

MEMORY_MB = 768
TIMEOUT_SECONDS = 30
ISSUE_CAP = 100
RUN_ENV = {
    "COUNTYFLOW_STAGE_MEMORY_MB": str(MEMORY_MB),
    "COUNTYFLOW_STAGE_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
    "COUNTYFLOW_MAX_ISSUE_ROWS_PER_RULE": str(ISSUE_CAP),
    "COUNTYFLOW_MAX_TEXT_CHARS": "1000",
    "PREFECT_LOGGING_LEVEL": "INFO",  # the staging task's peak-RSS lines
    "PYTHONPATH": str(faults.REPO),
}
RUN_TIMEOUT = 900
SECOND_RUN_SECONDS = 120
"""A run with nothing new: discovery from the cache, no staging, the marts re-read."""

GOOD = tuple(s for s in plan_demo_submissions()
             if s.file.county_code == "530626" and s.file.period in ("2025-summer", "2025")
             and s.file.dataset in ("childcare_sites", "childcare_volunteers", "vocational_enrollment"))
CASES = hostile_cases()
LOGGED = [case for case in CASES if case.status is not None]
DEAD_WORKERS = {"fault-abort", "fault-allocate_native", "fault-sleep"}
"""Cases whose worker dies or is killed: no reply, so no peak-RSS figure."""
PEAK = re.compile(r"Staging worker peak RSS (\d+) MiB \(memory limit (\d+) MiB\) after (\S+) \((\w+)\)")


@dataclass
class Run:
    """One backend's two runs and what they left."""

    backend: str
    first: tuple[int, str, float]
    second: tuple[int, str, float]
    submissions: pl.DataFrame
    issues: pl.DataFrame
    summary: str
    workdir: Path

    def submission(self, case: Hostile) -> dict[str, object]:
        rows = self.submissions.filter(pl.col("relative_path") == case.ledger_path)
        assert rows.height == 1, (case.name, case.ledger_path, rows)
        return rows.row(0, named=True)

    def rules(self, submission_id: object) -> list[str]:
        return self.issues.filter(pl.col("submission_id") == submission_id)["rule"].to_list()


def _countyflow_runs(runs: dict[str, tuple[Path, str, Path]]) -> dict[str, tuple[int, str, float]]:
    """`countyflow run` on each backend's landing zone and warehouse, all started together
    (most of a run is waiting: for the hanging worker's timeout, for the database)."""
    processes = [start_countyflow(["run", "--landing", str(landing), "--warehouse", url],
                                  workdir=workdir, env=RUN_ENV, entry=faults.ENTRY)
                 for landing, url, workdir in runs.values()]
    return dict(zip(runs, finish_together(processes, RUN_TIMEOUT), strict=True))


def _run_summary(output: str) -> str:
    """The run summary artifact of the flow run that `output` names."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
        FlowRunFilter,
        FlowRunFilterName,
    )

    name = re.search(r"flow run '([^']+)'", output)
    assert name, output[-3000:]
    with get_client(sync_client=True) as client:
        (flow_run,) = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[name[1]])))
        (artifact,) = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run.id]),
            key=ArtifactFilterKey(any_=["countyflow-run-summary"])))
    return str(artifact.data)


@pytest.fixture(scope="module")
def runs(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Run]]:
    """The landing zone run twice on each backend, the backends side by side."""
    placed: dict[str, tuple[Path, str, Path]] = {}
    with ExitStack() as stack:
        for backend in reachable_backends():  # PostgreSQL's tests skip or fail in `run`
            folder = tmp_path_factory.mktemp(f"hostile-{backend}")
            landing, workdir = folder / "landing", folder / "work"
            workdir.mkdir()
            write_submissions(str(landing), GOOD)
            for case in CASES:
                write_case(landing, case)
            placed[backend] = (landing, stack.enter_context(empty_warehouse_url(backend, folder)), workdir)
        first = _countyflow_runs(placed)
        second = _countyflow_runs(placed)
        yield {backend: _left_by(backend, url, first[backend], second[backend], workdir)
               for backend, (_, url, workdir) in placed.items()}


def _left_by(backend: str, url: str, first: tuple[int, str, float], second: tuple[int, str, float],
             workdir: Path) -> Run:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            names = SqlNames(conn)
            submissions, issues = (
                pl.DataFrame([dict(row) for row in conn.execute(
                    text(f"SELECT * FROM {{{table}}}".format_map(names))).mappings()],
                    infer_schema_length=None)
                for table in ("audit_submission", "audit_issue"))
    finally:
        engine.dispose()
    return Run(backend, first, second, submissions, issues, _run_summary(first[1]), workdir)


@pytest.fixture(params=BACKENDS)
def run(request: pytest.FixtureRequest, runs: dict[str, Run]) -> Run:
    return one_backend(runs, request.param)


def test_the_run_completes_and_exits_0(run: Run) -> None:
    code, output, seconds = run.first
    assert code == 0, output[-5000:]
    assert "Traceback" not in output
    print(f"{run.backend}: first run {seconds:.0f} s")


def test_every_good_file_loads(run: Run) -> None:
    for good in GOOD:
        row = run.submissions.filter(pl.col("relative_path") == good.file.path).row(0, named=True)
        assert row["status"] == good.file.expected_status, row
        assert row["rows_in"] == row["rows_loaded"] == good.file.rows, row


@pytest.mark.parametrize("case", LOGGED, ids=[case.name for case in LOGGED])
def test_each_hostile_file_ends_as_its_case_says(run: Run, case: Hostile) -> None:
    row = run.submission(case)
    assert row["status"] == case.status, (row, run.rules(row["submission_id"]))
    if case.rule is not None:
        assert case.rule in run.rules(row["submission_id"])
    if case.status == "rejected":
        assert row["rows_loaded"] == 0
    assert row["report_path"] and Path(str(row["report_path"])).is_file()


def test_a_gbk_file_name_is_decoded_and_loaded(run: Run) -> None:
    (case,) = [case for case in CASES if case.name == "gbk-file-name"]
    row = run.submission(case)
    assert row["file_name"] == "昭阳区托管点.csv" and row["rows_loaded"] == 2


@pytest.mark.parametrize("reason", ["symlink", "lock_file", "hidden_folder"])
def test_entries_that_are_not_submissions_are_listed_as_ignored(run: Run, reason: str) -> None:
    (case,) = [case for case in CASES if case.ignored == reason]
    folder = case.ledger_path.rsplit("/", 1)[0]
    assert case.ledger_path not in run.submissions["relative_path"].to_list()  # never read
    section = run.summary.split("## Ignored in the landing zone", 1)[1]
    marker = "⚠ | " if reason == "hidden_folder" else ""
    assert f"{marker}{folder} | 1 | {IGNORED_REASONS[reason][0]}" in section, section
    assert case.file_name not in run.summary  # names may name people: folders only
    if reason == "hidden_folder":  # an operator sees it in the log too
        assert f"{folder}: {IGNORED_REASONS['hidden_folder'][1]}" in " ".join(run.first[1].split())


def test_rows_are_conserved(run: Run) -> None:
    counts = run.submissions.select("rows_in", "rows_loaded", "rows_rejected", "rows_held")
    assert (counts["rows_in"] == counts["rows_loaded"] + counts["rows_rejected"] + counts["rows_held"]).all()
    totals = counts.sum().row(0, named=True)
    assert totals["rows_in"] == totals["rows_loaded"] + totals["rows_rejected"] + totals["rows_held"]
    assert totals["rows_loaded"] == sum(good.file.rows for good in GOOD) + 2 + 2  # + GBK name, PII columns
    assert run.submissions.height == len(GOOD) + len(LOGGED)


def test_the_audit_keeps_n_issues_per_rule_and_the_exact_total(run: Run) -> None:
    (case,) = [case for case in CASES if case.name == "many-bad-rows"]
    row = run.submission(case)
    assert row["errors"] == BAD_ROWS
    stored = run.issues.filter(pl.col("submission_id") == row["submission_id"],
                               pl.col("rule") == case.rule)
    assert stored.height == ISSUE_CAP + 1
    summary = stored.filter(pl.col("source_row").is_null()).row(0, named=True)
    assert int(summary["value"]) == BAD_ROWS - ISSUE_CAP


def test_a_long_text_is_stored_short_with_its_length(run: Run) -> None:
    (case,) = [case for case in CASES if case.name == "text-cell-too-long"]
    (value,) = run.issues.filter(pl.col("submission_id") == run.submission(case)["submission_id"],
                                 pl.col("rule") == "text_too_long")["value"].to_list()
    assert len(value) < 300 and "20000" in value


def test_personal_data_and_leaked_files_appear_nowhere(run: Run) -> None:
    (case,) = [case for case in CASES if case.name == "pii-in-a-data-cell"]
    values = run.issues.filter(pl.col("submission_id") == run.submission(case)["submission_id"])["value"]
    assert "填报人**138****5678" in values.to_list()
    stored = run.issues.select(pl.concat_str(pl.all().cast(pl.Utf8), ignore_nulls=True))
    reports = [path.read_text(encoding="utf-8") for path in (run.workdir / "data" / "reports").rglob("*")
               if path.suffix in (".json", ".html")]
    assert len(reports) > 2 * len(LOGGED)
    for where in (*stored.to_series().to_list(), *reports, run.first[1], run.summary):
        assert PHONE not in where and PASSWD_MARK not in where


def test_staging_workers_stay_under_their_memory_limit(run: Run) -> None:
    peaks = [(int(mib), int(limit), submission) for mib, limit, _, submission
             in PEAK.findall(" ".join(run.first[1].split()))]
    replied = len(GOOD) + len(LOGGED) - len(DEAD_WORKERS)
    assert len(peaks) == replied, run.first[1][-3000:]
    assert all(limit == MEMORY_MB and 0 < mib < MEMORY_MB for mib, limit, _ in peaks), peaks
    (case,) = [case for case in CASES if case.name == "xlsx-no-dimension-last-row"]
    sid = str(run.submission(case)["submission_id"])[:16]
    assert [mib for mib, _, submission in peaks if submission == sid]  # through a real worker
    print(f"{run.backend}: worker peak RSS {min(p[0] for p in peaks)}–{max(p[0] for p in peaks)} MiB "
          f"(limit {MEMORY_MB} MiB) over {len(peaks)} submissions")


def test_the_next_run_retries_nothing_and_is_not_blocked(run: Run) -> None:
    code, output, seconds = run.second
    assert code == 0, output[-5000:]
    assert "Nothing new in the landing zone" in output
    assert not PEAK.search(" ".join(output.split()))  # nothing was staged
    assert seconds < SECOND_RUN_SECONDS
    print(f"{run.backend}: second run {seconds:.0f} s")
