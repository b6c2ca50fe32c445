"""`countyflow run`, `status` and `demo`-style output through the CLI, on a small landing zone."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from countyflow.cli import app
from countyflow.commands.prefect_server import PrefectServerDidNotStart
from countyflow.demo import plan_demo_submissions, write_submissions

pytestmark = pytest.mark.flow

SUIJIANG, SUMMER = "530626", "2025-summer"


@pytest.fixture
def small_landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """绥江 2025-summer (sites, volunteers) plus a file in a folder of an unknown county."""
    monkeypatch.chdir(tmp_path)
    files = [
        s for s in plan_demo_submissions()
        if s.file.county_code == SUIJIANG and s.file.period == SUMMER
        and s.file.dataset in ("childcare_sites", "childcare_volunteers")
    ]
    landing = tmp_path / "landing"
    write_submissions(str(landing), files)
    stray = landing / "999999" / "childcare_sites" / SUMMER / "x.csv"
    stray.parent.mkdir(parents=True)
    stray.write_text("site_code\nA001\n", encoding="utf-8")
    return landing


def test_run_prints_a_summary_and_exits_zero_with_rejections(
    prefect_harness: None, small_landing: Path, tmp_path: Path
) -> None:
    from tasks.resources import dispose_engines

    warehouse = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    runner = CliRunner()
    result = runner.invoke(app, ["run", "--landing", str(small_landing), "--warehouse", warehouse])
    assert result.exit_code == 0, result.output
    assert "Submissions by status" in result.output
    assert "rejected" in result.output and "999999" in result.output

    again = runner.invoke(app, ["run", "--landing", str(small_landing), "--warehouse", warehouse])
    assert again.exit_code == 0 and "Nothing new" in again.output

    status = runner.invoke(app, ["status", "--warehouse", warehouse])
    assert status.exit_code == 0, status.output
    assert "childcare_sites" in status.output and SUIJIANG in status.output
    assert "missing" in status.output  # every other county owes its sites too
    dispose_engines()


def test_run_exits_non_zero_when_the_pipeline_fails(
    prefect_harness: None, small_landing: Path
) -> None:
    secret = "pw-never-printed-42"
    warehouse = f"postgresql+psycopg://nobody:{secret}@127.0.0.1:1/none"
    result = CliRunner().invoke(app, ["run", "--landing", str(small_landing), "--warehouse", warehouse])
    assert result.exit_code == 1
    assert "countyflow run failed" in result.output
    assert secret not in result.output


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_run_refuses_a_landing_zone_it_cannot_read(tmp_path: Path, kind: str) -> None:
    """A mistyped path or an unmounted share fails at once (exit 2), before any Prefect
    server or warehouse is touched — it is not a quiet day with nothing new."""
    landing = tmp_path / "no-such-landing"
    if kind == "file":
        landing.write_text("not a folder")
    warehouse = tmp_path / "w.duckdb"
    result = CliRunner().invoke(app, ["run", "--landing", str(landing), "--warehouse", f"duckdb:///{warehouse}"])
    assert result.exit_code == 2
    assert str(landing) in result.output.replace("\n", "")
    assert ("does not exist" if kind == "missing" else "not a folder") in result.output
    assert not warehouse.exists()


@pytest.mark.parametrize("failure", [
    PrefectServerDidNotStart("the temporary Prefect server did not answer at http://127.0.0.1:1/api within 180 s"),
    RuntimeError("Timed out while attempting to connect to ephemeral Prefect API server."),  # Prefect's own
], ids=["ours", "prefects"])
def test_a_prefect_server_that_does_not_start_says_what_to_do(
    tmp_path: Path, small_landing: Path, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    import flows.ingest

    def never_starts(_settings: object) -> object:
        def flow(_settings: object) -> object:
            raise failure
        return flow

    monkeypatch.setattr(flows.ingest, "ingest_flow_for", never_starts)
    result = CliRunner().invoke(app, ["run", "--landing", str(small_landing),
                                      "--warehouse", f"duckdb:///{tmp_path / 'w.duckdb'}"])
    assert result.exit_code == 1
    output = result.output.replace("\n", " ")
    assert "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS" in output
    assert "prefect server start" in output and "PREFECT_API_URL" in output


@pytest.mark.parametrize(("variable", "value", "expected"), [
    ("COUNTYFLOW_DEFAULT_POLICY", "bogus", "'strict' or 'partial'"),
    ("COUNTYFLOW_DATASET_POLICIES", "{bad json", "not valid JSON"),
    ("COUNTYFLOW_DATASET_POLICIES", '{"childcare_dayly": "partial"}', "unknown dataset(s) childcare_dayly"),
    ("COUNTYFLOW_WAREHOUSE_LOCK_TIMEOUT", "-5", "greater than or equal to 0"),
])
def test_a_bad_setting_fails_at_once_with_one_line(
    tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    """As an operator hits it: a real process, exit 2, the variable named, no traceback,
    nothing touched."""
    import os
    import subprocess
    import sys

    warehouse = tmp_path / "w.duckdb"
    env = {**os.environ, variable: value, "COUNTYFLOW_WAREHOUSE_URL": f"duckdb:///{warehouse}",
           "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "countyflow.cli", "run", "--landing", str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert variable in done.stdout and expected in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    assert not warehouse.exists()


@pytest.mark.parametrize(("url", "expected"), [
    ("postgresql+psycopgx://etl@127.0.0.1/countyflow", "unknown warehouse backend or driver"),
    ("oracle+nope://etl@127.0.0.1/countyflow", "unknown warehouse backend or driver"),
    ("not a url", "malformed"),
    ("duckdb:////proc/countyflow/w.duckdb", "cannot be created in /proc/countyflow"),
])
def test_a_warehouse_that_can_never_work_fails_at_once(tmp_path: Path, url: str, expected: str) -> None:
    """Retrying cannot fix these: exit 2 before any Prefect server starts, one message."""
    result = CliRunner().invoke(app, ["run", "--landing", str(tmp_path), "--warehouse", url])
    assert result.exit_code == 2
    assert expected in " ".join(result.output.split())  # the console wraps long lines
    assert "Starting temporary server" not in result.output


def test_a_login_the_server_refuses_fails_at_once_without_the_password(tmp_path: Path) -> None:
    from tests.warehouse.backends import pg_admin_url, require_postgres

    require_postgres()
    url = pg_admin_url().replace("postgres@", "countyflow_no_such_role:pw-never-shown@")
    result = CliRunner().invoke(app, ["run", "--landing", str(tmp_path), "--warehouse", url])
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "refused the connection" in output and "does not exist" in output
    assert "pw-never-shown" not in output


def test_status_only_reads_it_never_creates_or_migrates_the_warehouse(tmp_path: Path) -> None:
    """A read-only command: a missing DuckDB file stays missing, an empty one stays empty."""
    import duckdb

    from tasks.resources import dispose_engines

    path = tmp_path / "nowhere.duckdb"
    result = CliRunner().invoke(app, ["status", "--warehouse", f"duckdb:///{path}"])
    assert result.exit_code == 2 and "No warehouse at" in result.output and "countyflow run" in result.output
    assert not path.exists()

    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    result = CliRunner().invoke(app, ["status", "--warehouse", f"duckdb:///{empty}"])
    dispose_engines()  # this process's connection to the file
    assert result.exit_code == 2 and "not set up" in result.output
    with duckdb.connect(str(empty)) as conn:
        assert conn.execute("SELECT count(*) FROM duckdb_tables()").fetchone() == (0,)
