"""`countyflow check` on each hostile file of issue 11, as a clerk or operator runs it: the
command line parsed and run by the CLI itself (in this process: a process per file would
spend its seconds importing Polars; the console script's process is tested in
tests/commands/test_check.py), no warehouse. It exits as the case says (1: the file has errors, 0: it
would load, 2: the period on the command line is no period), names the rule in its output
and in the report, never prints a traceback, and never echoes the phone number or what an
external entity would have read.

Path-only cases (symlinks, lock files, hidden folders) and faults injected by name are not
about a file's bytes: the run test covers them (tests/hostile/test_run.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from countyflow.cli import app
from tests.hostile.builders import PASSWD_MARK, PHONE, Hostile, hostile_cases, write_case_alone

CHECKED = [case for case in hostile_cases() if case.check_exit is not None]
CHECK_ENV = {"COUNTYFLOW_MAX_TEXT_CHARS": "1000", "COUNTYFLOW_MAX_ISSUE_ROWS_PER_RULE": "100",
             "COLUMNS": "200"}


def _command(case: Hostile, path: Path, report: Path) -> list[str]:
    return ["check", str(path), "--dataset", case.dataset, "--county", case.county,
            "--period", case.period, "--report", str(report)]


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str, str]]:
    """Each case's exit code, console output and JSON report ('' when none was written)."""
    folder = tmp_path_factory.mktemp("hostile-check")
    runner = CliRunner()
    results: dict[str, tuple[int, str, str]] = {}
    for case in CHECKED:
        path = write_case_alone(folder / case.name, case)
        report = folder / case.name / "report.json"
        result = runner.invoke(app, _command(case, path, report), env=CHECK_ENV)
        escaped = result.exception if not isinstance(result.exception, SystemExit) else None
        assert escaped is None, (case.name, repr(escaped))  # an escaping exception is a traceback
        results[case.name] = (result.exit_code, result.output,
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
