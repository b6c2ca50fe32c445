"""`countyflow` as an operator runs it: a real process of its own, for tests.

A `run` shares the test session's Prefect server (`prefect_harness`: its PREFECT_API_URL),
so no process starts a temporary server of its own; this process's COUNTYFLOW_* variables
are not passed on (the test says what the process gets in `env`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

CLI_MODULE = ("-m", "countyflow.cli")
"""How the process starts countyflow: the console script's module."""


def start_countyflow(args: Sequence[str], *, workdir: Path, env: Mapping[str, str] = {},
                     entry: Sequence[str] = CLI_MODULE) -> subprocess.Popen[str]:
    """Start `countyflow <args>` in `workdir`; stdout and stderr are one text stream.
    `entry` replaces `-m countyflow.cli` when the test must first set something up in the
    process (e.g. `-c "…; app()"`)."""
    from prefect.settings import PREFECT_API_URL

    environment = {k: v for k, v in os.environ.items() if not k.startswith("COUNTYFLOW_")}
    api_url = PREFECT_API_URL.value()
    if api_url:
        environment["PREFECT_API_URL"] = str(api_url)
    environment.update(PYTHONUNBUFFERED="1", COLUMNS="200", **env)
    return subprocess.Popen(
        [sys.executable, *entry, *args], cwd=workdir, env=environment,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def finish_together(processes: Sequence[subprocess.Popen[str]], timeout: float) -> list[tuple[int, str, float]]:
    """Each process's exit code, output and seconds since this call, the processes read at the
    same time: read one after another, a process whose pipe filled up while the first was
    being waited for would stall (and its seconds would be the first one's)."""
    started = time.monotonic()

    def finish(process: subprocess.Popen[str]) -> tuple[int, str, float]:
        output, _ = process.communicate(timeout=timeout)
        return process.returncode, output, time.monotonic() - started

    with ThreadPoolExecutor(max_workers=max(len(processes), 1)) as readers:
        return list(readers.map(finish, processes))
