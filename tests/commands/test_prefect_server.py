"""The temporary Prefect server a command starts for itself (countyflow/commands/prefect_server.py).

A whole `countyflow run` on it, as a user runs it from a shell, is
tests/commands/test_slot_holder.py (and the benchmark harness's W5); these are the cases that
need no server to start."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from countyflow.commands import prefect_server
from countyflow.commands.prefect_server import PrefectServer, PrefectServerDidNotStart


def test_a_server_that_exits_is_reported_with_its_code_and_last_words(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("sqlalchemy.exc.ArgumentError: could not parse the database URL\n")
    server = PrefectServer(log=log)
    server.process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    server.process.wait()
    with pytest.raises(PrefectServerDidNotStart, match=r"exited with code 3: .*could not parse"):
        server.wait_until_answering(timeout=60)


def test_a_server_that_never_answers_times_out_naming_where_it_was_asked(tmp_path: Path) -> None:
    server = PrefectServer()
    server.process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with pytest.raises(PrefectServerDidNotStart, match=re.escape(f"did not answer at {server.api_url} within 0.3 s")):
            server.wait_until_answering(timeout=0.3)
    finally:
        server.stop()
    assert server.process.poll() is not None  # stopped, not left behind


def test_a_configured_api_is_used_and_no_server_is_started(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")

    def must_not_start(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a server was started although PREFECT_API_URL is set")

    monkeypatch.setattr(PrefectServer, "start", must_not_start)
    ran = []
    with prefect_server.prefect_api_for_this_run():
        ran.append(True)
    assert ran == [True]


def test_the_startup_timeout_is_prefects_own_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(prefect_server.EPHEMERAL_STARTUP_SETTING, "180")
    assert prefect_server.startup_timeout() == 180
    monkeypatch.setenv(prefect_server.EPHEMERAL_STARTUP_SETTING, "not a number")
    assert prefect_server.startup_timeout() == prefect_server.PREFECT_DEFAULT_STARTUP_SECONDS
