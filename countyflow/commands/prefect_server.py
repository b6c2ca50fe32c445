"""The temporary Prefect server of a command run without PREFECT_API_URL, started first.

Left to itself, Prefect starts its temporary server when a flow first calls the API: after
the command has imported Prefect, the flows and the warehouse code, and then the command
waits while the server imports the same and more and checks its database (~9 s on the
2-core machine, longer on a first run that migrates a fresh Prefect home). Started as the
command's first step instead, the server's start-up runs on the other core while the command
imports, and the command never imports Prefect's server package itself.

It is the server Prefect would start (`uvicorn --factory prefect.server.api.server:create_app`,
UI off, the services Prefect runs in a temporary server) on the same Prefect home; a run
points Prefect at it (its settings and, for Prefect's background threads and the run's child
processes, PREFECT_API_URL in the environment) for the run only. `tests/conftest.py` starts the
test session's server with it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from pathlib import Path

EPHEMERAL_STARTUP_SETTING = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
PREFECT_DEFAULT_STARTUP_SECONDS = 20.0  # Prefect's own default for that setting
_POLL_SECONDS = 0.1


class PrefectServerDidNotStart(RuntimeError):
    """The server did not answer in time, or its process ended before it did."""


class PrefectServer:
    """`uvicorn --factory prefect.server.api.server:create_app` on a free local port.

    `environment` is added to this process's environment for the server only (a test
    session gives it a throw-away database); `log` receives its output (a file, not a pipe:
    nobody reads a pipe while the server runs, and a full one would stop it)."""

    def __init__(self, *, environment: Mapping[str, str] | None = None, log: Path | None = None) -> None:
        self.port = _free_port()
        self.environment = dict(environment or {})
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def start(self) -> None:
        """Launch the server process; returns at once (see `wait_until_answering`)."""
        self.starts += 1
        environment = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
        # A temporary server: no UI, and only the services Prefect runs in one.
        environment |= {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
                        "PREFECT__SERVER_FINAL": "1"} | self.environment
        command = [sys.executable, "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app",
                   "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "error",
                   "--lifespan", "on"]
        with self.log.open("ab") if self.log is not None else nullcontext(subprocess.DEVNULL) as sink:
            self.process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL,
                                            stderr=sink)

    def answers(self) -> bool:
        return api_answers(self.api_url)

    def died(self) -> str | None:
        """Why the server process ended, or None while it runs (or was never started)."""
        if self.process is None or self.process.poll() is None:
            return None
        said = ""
        if self.log is not None and self.log.exists():
            said = ": " + self.log.read_text(errors="replace").strip()[-500:]
        return f"the Prefect server exited with code {self.process.returncode}{said}"

    def wait_until_answering(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.answers():
            why = self.died()
            if why is not None:
                raise PrefectServerDidNotStart(why)
            if time.monotonic() > deadline:
                raise PrefectServerDidNotStart(
                    f"the temporary Prefect server did not answer at {self.api_url} within {timeout:g} s")
            time.sleep(_POLL_SECONDS)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def api_answers(api_url: str) -> bool:
    """Whether the Prefect API at `api_url` says it is healthy."""
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def startup_timeout() -> float:
    """PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, the setting Prefect's own temporary
    server honours (the CLI gives it a default suited to a busy 2-core machine)."""
    try:
        return float(os.environ.get(EPHEMERAL_STARTUP_SETTING, PREFECT_DEFAULT_STARTUP_SECONDS))
    except ValueError:
        return PREFECT_DEFAULT_STARTUP_SECONDS


@contextmanager
def prefect_api_for_this_run() -> Iterator[None]:
    """Run the body against a Prefect API: the configured one (PREFECT_API_URL in the
    environment or the active Prefect profile), else a temporary server started before the
    body's imports and stopped after it."""
    server = None
    if not os.environ.get("PREFECT_API_URL"):
        server = PrefectServer()
        server.start()
    try:
        # lazy: after the launch on purpose, this import is part of what the start-up overlaps
        from prefect.settings import PREFECT_API_URL, temporary_settings

        if server is None or PREFECT_API_URL.value():  # a profile names a server: use it
            if server is not None:
                server.stop()
            yield
            return
        server.wait_until_answering(startup_timeout())
        # Both: this thread reads Prefect's settings from its context, but Prefect's own
        # background threads (events, logs) and child processes read the environment, and
        # without it each would start a temporary server of its own.
        os.environ["PREFECT_API_URL"] = server.api_url
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            yield
            _drain_prefect_clients()
    finally:
        if server is not None:
            if os.environ.get("PREFECT_API_URL") == server.api_url:
                del os.environ["PREFECT_API_URL"]
            server.stop()


def _drain_prefect_clients() -> None:
    """Send the run's last logs and events while the server still answers (Prefect would
    otherwise send them at interpreter exit, to a server already stopped)."""
    # lazy: Prefect is imported only once the server is launched (see prefect_api_for_this_run)
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10, at_exit=False)
    EventsWorker.drain_all(timeout=10, at_exit=False)
