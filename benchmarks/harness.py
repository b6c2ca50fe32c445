"""Run every workload and baseline side by side and write the table.

Per backend and repetition, in this order, each in a fresh child process:
B0 (I/O limit), B1 (pandas + pandera + to_sql), B2 (countyflow's pure functions, no
Prefect), B3/B3a (dlt, merge / append), W0 (an empty Prefect flow run), W1 (cold load),
W2 (re-run, nothing new), W3 (re-run after 5 % of the files were corrected), W4 (the whole
landing zone again into a fresh warehouse, archive and hash cache kept), W5/W5b
(`countyflow run` from a shell, cold then nothing new). The landing zone is restored
after W4, so W5 loads the same files as W1. Every child gets an empty database of its
own except W2/W3, which continue W1's, and W5b, which continues W5's.

A Prefect server is started for the run (or `api_url` is used), so W0–W4 do not pay for
starting a temporary one: those flow runs are timed against a running API, as in
production. W5/W5b are what a user feels instead: no API URL, each process starts its own
temporary server, and the quality gate runs.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.measure import RESULT_PREFIX

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("duckdb", "postgresql")
ORDER = ("B0", "B1", "B2", "B3", "B3a", "W0", "W1", "W2", "W3", "W4", "W5", "W5b")
DESCRIPTIONS = {
    "B0": "I/O limit: CSV → untyped table (DuckDB read_csv+INSERT / PostgreSQL COPY), no validation",
    "B1": "pandas + pandera (pandas backend) + DataFrame.to_sql",
    "B2": "countyflow pure functions in a plain loop (no Prefect)",
    "B3": "dlt: Arrow tables, merge on each dataset's natural key (no validation, ledger, SCD2…)",
    "B3a": "dlt: Arrow tables, append",
    "W0": "empty Prefect flow run (fixed cost of a run)",
    "W1": "countyflow flow, cold load",
    "W2": "countyflow flow, re-run with nothing new",
    "W3": "countyflow flow, re-run after 5 % of files corrected",
    "W4": "countyflow flow, whole landing zone into a fresh warehouse (archive kept)",
    "W5": "`countyflow run` from a shell: fresh process and Prefect home, temporary server, quality gate on; cold",
    "W5b": "W5 again (same Prefect home): nothing new",
}
DEFAULT_PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class Measurement:
    backend: str
    workload: str
    seconds: float
    rows: int
    files: int
    rss_mb: float
    child_s: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rows_per_s(self) -> float | None:
        return self.rows / self.seconds if self.rows and self.seconds > 0 else None


# --------------------------------------------------------------------------- infrastructure


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def prefect_server(workdir: Path, api_url: str | None) -> Iterator[str]:
    """The Prefect API the children use: `api_url`, or a server started here for the run."""
    if api_url:
        yield api_url
        return
    port = _free_port()
    home = workdir / "prefect-home"
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "DO_NOT_TRACK": "1", "PREFECT_UI_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "WARNING"}
    log = (workdir / "prefect-server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Prefect server did not start; see {log.name}")
            time.sleep(1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _pg_admin() -> str:
    return os.environ.get("COUNTYFLOW_BENCH_PG_URL", DEFAULT_PG_ADMIN)


class Databases:
    """Empty warehouses: DuckDB files under the work folder, PostgreSQL databases dropped at the end."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.created: list[str] = []

    def new(self, backend: str, label: str) -> str:
        if backend == "duckdb":
            path = self.workdir / "db" / f"{label}-{uuid.uuid4().hex[:8]}.duckdb"
            path.parent.mkdir(parents=True, exist_ok=True)
            return f"duckdb:///{path}"
        import psycopg

        name = f"cf_bench_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(_pg_admin(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]  # generated name
        self.created.append(name)
        base, _, _ = _pg_admin().rpartition("/")
        return f"{base.replace('postgresql://', 'postgresql+psycopg://')}/{name}"

    def close(self) -> None:
        if not self.created:
            return
        import psycopg

        with psycopg.connect(_pg_admin(), autocommit=True) as conn:
            for name in self.created:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]


def run_child(spec: dict[str, Any], api_url: str, log: Path) -> tuple[dict[str, Any], float]:
    env = {**os.environ, "PREFECT_API_URL": api_url, "PREFECT_LOGGING_LEVEL": "WARNING",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
           # The GX quality gate is another step with its own cost; these runs time ingest.
           "COUNTYFLOW_RUN_QUALITY_CHECKS": "false"}
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, "-m", "benchmarks.measure", json.dumps(spec)],
                               cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    with log.open("a", encoding="utf-8") as handle:
        handle.write(f"=== {spec['backend']} {spec['workload']} rc={completed.returncode}\n")
        handle.write(completed.stdout[-20000:])
        handle.write(completed.stderr[-20000:])
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"{spec['backend']} {spec['workload']} failed (rc={completed.returncode}); "
                           f"see {log}:\n{completed.stderr[-3000:]}")
    return json.loads(lines[-1][len(RESULT_PREFIX):]), wall


# --------------------------------------------------------------------------- the run


@dataclass
class Run:
    scale: int
    backends: tuple[str, ...]
    repeat: int
    counties: tuple[str, ...]
    workloads: tuple[str, ...]
    measurements: list[Measurement]
    landing_files: int
    landing_rows: int
    landing_mb: float
    command: str


def run(*, scale: int, backends: Sequence[str] = BACKENDS, repeat: int = 1,
        counties: Sequence[str] = (), workloads: Sequence[str] = ORDER,
        workdir: Path | None = None, api_url: str | None = None, command: str = "") -> Run:
    from benchmarks import landing as lz

    workdir = Path(workdir or tempfile.mkdtemp(prefix="countyflow-bench-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "children.log"
    landing = workdir / "landing"
    shutil.rmtree(landing, ignore_errors=True)
    submissions = lz.plan(scale, counties)
    original = lz.as_files(submissions)
    lz.write_files(landing, original)
    changed = lz.corrections(submissions)
    restore = [f for f in original if f.path in {c.path for c in changed}]
    b0_dir = workdir / "b0-csv"
    if "B0" in workloads:
        lz.convert_for_b0(landing, b0_dir)
    rows = sum(s.file.rows for s in submissions)
    size_mb = sum(len(f.data) for f in original) / 1e6
    del submissions

    measurements: list[Measurement] = []
    databases = Databases(workdir)
    try:
        with prefect_server(workdir, api_url) as api:
            for repetition in range(repeat):
                for backend in backends:
                    state = workdir / f"state-{backend}-{repetition}"
                    shutil.rmtree(state, ignore_errors=True)
                    warehouse = ""
                    for workload in ORDER:
                        if workload not in workloads:
                            continue
                        if workload == "W3":
                            lz.write_files(landing, changed)
                        if workload == "W5":  # the original landing zone, as W1 saw it
                            lz.write_files(landing, restore)
                        spec: dict[str, Any] = {
                            "workload": workload, "backend": backend, "landing": str(landing),
                            "b0_dir": str(b0_dir), "state": str(state / workload),
                        }
                        if workload in ("W5", "W5b"):
                            # One warehouse and one Prefect home for the pair; W5 starts empty.
                            if workload == "W5":
                                warehouse = databases.new(backend, "w5")
                            spec["state"] = str(state / "W5")
                            spec["url"] = warehouse
                        elif workload in ("W1", "W2", "W3"):
                            # One warehouse, archive and report folder for the W1→W3 sequence.
                            if workload == "W1" or not warehouse:
                                warehouse = databases.new(backend, "w")
                            spec["state"] = str(state / "W")
                            spec["url"] = warehouse
                        elif workload == "W4":
                            spec["state"] = str(state / "W")  # archive (and hash cache) kept
                            spec["reports"] = "reports-w4"
                            spec["url"] = databases.new(backend, "w4")
                        else:
                            spec["url"] = databases.new(backend, workload.lower())
                        result, wall = run_child(spec, api, log)
                        measurements.append(Measurement(
                            backend, workload, result["seconds"], int(result.get("rows", 0)),
                            int(result.get("files", 0)), result["rss_mb"], wall,
                            {k: v for k, v in result.items()
                             if k not in ("seconds", "rows", "files", "rss_mb")}))
                        print(f"  {backend:10s} {workload}: {result['seconds']:8.2f} s  "
                              f"rows={result.get('rows', 0):>9}  rss={result['rss_mb']:7.0f} MB  "
                              f"(child {wall:.1f} s)", flush=True)
                    lz.write_files(landing, restore)
    finally:
        databases.close()
    return Run(scale, tuple(backends), repeat, tuple(counties), tuple(workloads), measurements,
               len(original), rows, size_mb, command)


# --------------------------------------------------------------------------- report


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarise(result: Run) -> dict[tuple[str, str], Measurement]:
    """Median over repetitions per (backend, workload)."""
    summary: dict[tuple[str, str], Measurement] = {}
    for backend in result.backends:
        for workload in ORDER:
            runs = [m for m in result.measurements if (m.backend, m.workload) == (backend, workload)]
            if not runs:
                continue
            summary[(backend, workload)] = Measurement(
                backend, workload, _median([m.seconds for m in runs]), runs[0].rows, runs[0].files,
                _median([m.rss_mb for m in runs]), _median([m.child_s for m in runs]),
                {key: _median([m.extra[key] for m in runs]) for key in ("load_seconds", "rows_loaded")
                 if all(key in m.extra for m in runs)})
    return summary


def load_throughput_ratio(summary: dict[tuple[str, str], Measurement], backend: str) -> float | None:
    """Rows/s of the warehouse load alone (B2's time inside `record_submission`, ledger,
    dimensions, facts and issues included) over B0's rows/s (raw COPY / read_csv)."""
    b2, b0 = summary.get((backend, "B2")), summary.get((backend, "B0"))
    if b2 is None or b0 is None or not b0.rows_per_s or not b2.extra.get("load_seconds"):
        return None
    return b2.extra["rows_loaded"] / b2.extra["load_seconds"] / b0.rows_per_s


def _fmt(value: float | None, digits: int = 2) -> str:
    if value is None or value != value:
        return "—"
    return f"{value:,.{digits}f}"


def _ratio(summary: dict[tuple[str, str], Measurement], backend: str, a: str, b: str,
           *, throughput: bool = False) -> float | None:
    first, second = summary.get((backend, a)), summary.get((backend, b))
    if first is None or second is None or not first.seconds or not second.seconds:
        return None
    if throughput:
        if not first.rows_per_s or not second.rows_per_s:
            return None
        return first.rows_per_s / second.rows_per_s
    return first.seconds / second.seconds


def machine() -> dict[str, str]:
    import importlib.metadata as md

    memory = ""
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            kib = int(handle.readline().split()[1])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    versions = ", ".join(f"{name} {md.version(name)}" for name in (
        "prefect", "prefect-dask", "polars", "pandera", "duckdb", "psycopg", "sqlalchemy", "pandas"))
    return {"cores": str(os.cpu_count()), "memory": memory,
            "python": platform.python_version(), "platform": platform.platform(),
            "versions": versions}


def markdown(result: Run) -> str:
    summary = summarise(result)
    info = machine()
    lines = [
        f"Scale {result.scale}: {result.landing_files} files, {result.landing_rows:,} data rows, "
        f"{result.landing_mb:.1f} MB"
        + (f" (counties {', '.join(result.counties)})" if result.counties else "")
        + f"; median of {result.repeat} repetition(s).",
        f"Machine: {info['cores']} cores, {info['memory']} RAM, Python {info['python']}, "
        f"{info['platform']}; {info['versions']}.",
        "",
        "| backend | workload | what | seconds | files | rows | rows/s | peak RSS MB | child process s |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for (backend, workload), m in summary.items():
        lines.append(
            f"| {backend} | {workload} | {DESCRIPTIONS[workload]} | {_fmt(m.seconds)} | {m.files} | "
            f"{m.rows:,} | {_fmt(m.rows_per_s, 0)} | {_fmt(m.rss_mb, 0)} | {_fmt(m.child_s, 1)} |")
    lines += ["", "| backend | ratio | value | target |", "|---|---|---:|---|"]
    for backend in result.backends:
        w2, w0 = summary.get((backend, "W2")), summary.get((backend, "W0"))
        w1 = summary.get((backend, "W1"))
        w5b = summary.get((backend, "W5b"))
        rows = [
            ("W1 / B0 (time)", _ratio(summary, backend, "W1", "B0"), "≤ 2"),
            ("B1 / W1 (time: how many times faster than pandas)",
             _ratio(summary, backend, "B1", "W1"), "≥ 20"),
            ("W1 / B0 (throughput, rows/s)", _ratio(summary, backend, "W1", "B0", throughput=True),
             "≥ 0.5 (PostgreSQL vs raw COPY)"),
            ("load alone / B0 (throughput: B2's rows loaded per second inside record_submission)",
             load_throughput_ratio(summary, backend), "≥ 0.5 (PostgreSQL vs raw COPY)"),
            ("W1 / B2 (Prefect overhead)", _ratio(summary, backend, "W1", "B2"), "≤ 1.15"),
            ("W1 / B3 (time: countyflow over dlt merge on the same rows)",
             _ratio(summary, backend, "W1", "B3"), "< 1"),
            ("W1 / B3a (time: countyflow over dlt append)", _ratio(summary, backend, "W1", "B3a"), "—"),
            ("W5b (seconds: `countyflow run` with nothing new, end to end)",
             w5b.seconds if w5b else None, "≤ 10 s"),
            ("W2 − W0 (seconds beyond a flow run's fixed cost)",
             (w2.seconds - w0.seconds) if w2 and w0 else None, "≤ 2 s"),
            ("W1 peak RSS MB", w1.rss_mb if w1 else None, "flat in the number of files"),
        ]
        for name, value, target in rows:
            lines.append(f"| {backend} | {name} | {_fmt(value)} | {target} |")
    return "\n".join(lines) + "\n"


def to_json(result: Run) -> str:
    return json.dumps({
        "scale": result.scale, "backends": result.backends, "repeat": result.repeat,
        "counties": result.counties, "landing_files": result.landing_files,
        "landing_rows": result.landing_rows, "landing_mb": result.landing_mb,
        "command": result.command, "machine": machine(),
        "measurements": [m.__dict__ for m in result.measurements],
    }, indent=1, ensure_ascii=False)
