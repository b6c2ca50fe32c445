"""`countyflow check` on each hostile file of issue 11, as a clerk or operator runs it: a real
process per file, no warehouse. It exits as the case says (1: the file has errors, 0: it
would load, 2: the period on the command line is no period), names the rule in its output
and in the report, never prints a traceback, and never echoes the phone number or what an
external entity would have read.

Path-only cases (symlinks, lock files, hidden folders) and faults injected by name are not
about a file's bytes: the run test covers them (tests/hostile/test_run.py).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.hostile.builders import PASSWD_MARK, PHONE, Hostile, hostile_cases, write_case_alone
from tests.processes import start_countyflow

CHECKED = [case for case in hostile_cases() if case.check_exit is not None]
AT_ONCE = 3
"""Processes started together (each imports Polars: a few seconds of CPU)."""
CHECK_TIMEOUT = 300
CHECK_ENV = {"COUNTYFLOW_MAX_TEXT_CHARS": "1000", "COUNTYFLOW_MAX_ISSUE_ROWS_PER_RULE": "100"}


def _command(case: Hostile, path: Path, report: Path) -> list[str]:
    return ["check", str(path), "--dataset", case.dataset, "--county", case.county,
            "--period", case.period, "--report", str(report)]


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str, str]]:
    """Each case's exit code, console output and JSON report ('' when none was written)."""
    folder = tmp_path_factory.mktemp("hostile-check")
    pending = []
    for case in CHECKED:
        path = write_case_alone(folder / case.name, case)
        pending.append((case, folder / case.name / "report.json", path))
    results: dict[str, tuple[int, str, str]] = {}
    running: list[tuple[Hostile, Path, subprocess.Popen[str]]] = []
    while pending or running:
        while pending and len(running) < AT_ONCE:
            case, report, path = pending.pop(0)
            running.append((case, report, start_countyflow(_command(case, path, report),
                                                           workdir=folder, env=CHECK_ENV)))
        case, report, process = running.pop(0)
        output, _ = process.communicate(timeout=CHECK_TIMEOUT)
        results[case.name] = (process.returncode, output,
                              report.read_text(encoding="utf-8") if report.exists() else "")
    return results


@pytest.mark.parametrize("case", CHECKED, ids=[case.name for case in CHECKED])
def test_check_names_what_is_wrong(checked: dict[str, tuple[int, str, str]], case: Hostile) -> None:
    code, output, report = checked[case.name]
    assert code == case.check_exit, output
    assert "Traceback" not in output
    flat = " ".join(output.split())  # the console wraps long cells
    for says in case.check_says:
        assert says in flat or says in report, (says, output)
    if case.rule and code == 1:
        assert case.rule in output
        assert case.rule in [issue["rule"] for issue in json.loads(report)["issues"]]
    for where in (output, report):
        assert PHONE not in where and PASSWD_MARK not in where
