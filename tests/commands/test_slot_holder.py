"""A killed run does not block the next one: as a user hits it, with real processes.

Run A takes the warehouse slot (with its own temporary Prefect server) and is killed with
SIGKILL. `countyflow run` B, started while A held the slot, names A (flow run, host, pid)
while it waits, frees A's slot once A is gone, and completes its run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from countyflow.demo import plan_demo_submissions, write_submissions

pytestmark = pytest.mark.flow

REPO = Path(__file__).resolve().parents[2]


def _env(prefect_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    # The holder (`slot_holder.py`) starts its temporary server outside the CLI, which would
    # set this; Prefect's own 20 s is too short for a first start on a busy machine.
    return env | {"PREFECT_HOME": str(prefect_home), "PYTHONPATH": str(REPO), "COLUMNS": "200",
                  "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180"}


def _wait_for_line(path: Path, text: str, process: subprocess.Popen[bytes], seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        content = path.read_text(errors="replace") if path.exists() else ""
        if text in content:
            return content
        if process.poll() is not None:
            break
        time.sleep(0.5)
    raise AssertionError(f"{text!r} not seen in {seconds:.0f} s:\n{path.read_text(errors='replace')[-4000:]}")


def test_a_killed_holder_is_named_then_freed_and_the_next_run_completes(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    write_submissions(str(landing), [
        s for s in plan_demo_submissions()
        if s.file.county_code == "530626" and s.file.period == "2025-summer"
        and s.file.dataset == "childcare_sites"
    ])
    warehouse = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    env = _env(tmp_path / "prefect-home")
    a_out, b_out = tmp_path / "a.log", tmp_path / "b.log"

    with a_out.open("wb") as sink:  # its own session: SIGKILL takes its temporary server too
        holder = subprocess.Popen([sys.executable, str(Path(__file__).with_name("slot_holder.py")), warehouse],
                                  cwd=tmp_path, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        _wait_for_line(a_out, "holding pid=", holder, 300)
        with b_out.open("wb") as sink:
            run = subprocess.Popen([sys.executable, "-m", "countyflow.cli", "run", "--landing", str(landing),
                                    "--warehouse", warehouse],
                                   cwd=tmp_path, env=env, stdout=sink, stderr=subprocess.STDOUT)
        waiting = _wait_for_line(b_out, "Waiting for warehouse slot", run, 300)
        assert f"pid {holder.pid}" in waiting and "flow run" in waiting and os.uname().nodename in waiting

        os.killpg(holder.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        freed = _wait_for_line(b_out, "is gone", run, 120)
        seconds_to_free = time.monotonic() - killed_at
        assert f"process {holder.pid} no longer exists" in freed
        assert run.wait(timeout=600) == 0, b_out.read_text(errors="replace")[-4000:]
    finally:
        for process in (holder, locals().get("run")):
            if process is not None and process.poll() is None:
                process.kill()
    output = b_out.read_text(errors="replace")
    assert "Submissions by status" in output and "accepted" in output
    # Same host: the dead pid is seen at the next poll, not after the silence period.
    assert seconds_to_free < 30, seconds_to_free
