"""One measurement, in its own process: `python -m benchmarks.measure '<json spec>'`.

The harness starts a fresh interpreter per measurement so peak RSS belongs to that workload
alone. Set-up (imports, an empty database) happens before the clock starts; the last line
printed is `BENCH_RESULT {json}` with the timed seconds, rows and peak RSS.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

RESULT_PREFIX = "BENCH_RESULT "


def _peak_rss_mb() -> float:
    """Peak resident set of this process's own image: VmHWM from /proc/self/status.

    Not `getrusage(RUSAGE_SELF).ru_maxrss`: Linux carries the pre-exec image's peak over
    `execve`, so a child forked from a big harness would report the harness's size.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _settings(spec: dict[str, Any]) -> Any:
    from countyflow.settings import Settings

    state = Path(spec["state"])
    return Settings(
        warehouse_url=spec["url"], landing=spec["landing"], archive_dir=state / "archive",
        reports_dir=state / spec.get("reports", "reports"), staging_dir=state / "staging",
        max_file_bytes=1 << 30, max_sheet_cells=1 << 30,
    )


def workload_flow(spec: dict[str, Any]) -> dict[str, Any]:
    """W1–W4: the product, `ingest_landing_zone`, as `countyflow run` calls it."""
    from countyflow.pipeline import outcomes_frame
    from flows.ingest import ingest_landing_zone

    settings = _settings(spec)
    start = time.perf_counter()
    outcomes = ingest_landing_zone(settings)
    seconds = time.perf_counter() - start
    frame = outcomes_frame(outcomes)  # rows_loaded: what is in the facts (not superseded rows)
    return {"seconds": seconds, "files": frame.height, "rows": int(frame["rows_in"].sum()),
            "rows_loaded": int(frame["rows_loaded"].sum())}


def workload_null_flow(spec: dict[str, Any]) -> dict[str, Any]:
    """W0: an empty flow run, the fixed cost of one Prefect flow run in a fresh process."""
    from prefect import flow

    @flow(name="countyflow-null")
    def null_flow() -> int:
        return 0

    start = time.perf_counter()
    null_flow()
    return {"seconds": time.perf_counter() - start, "files": 0, "rows": 0}


def workload_b2(spec: dict[str, Any]) -> dict[str, Any]:
    """B2: the same pure functions in a plain loop, no Prefect (and no Arrow hand-off between tasks)."""
    from countyflow.ingest.discover import discover_submissions, open_archived
    from countyflow.ingest.report import write_report
    from countyflow.pipeline import batches_in_dependency_order, report_stem, stage_bytes
    from countyflow.staging import report_header as _report_header
    from schemas import CONTRACTS
    from warehouse.engine import make_engine
    from warehouse.ledger import processed_statuses
    from warehouse.load import record_submission
    from warehouse.lookups import fetch_lookups
    from warehouse.schema import ensure_warehouse

    settings = _settings(spec)
    engine = make_engine(settings.sqlalchemy_url())
    start = time.perf_counter()
    ensure_warehouse(engine)
    refs = list(discover_submissions(settings.landing, archive_dir=settings.archive_dir,
                                     max_file_bytes=settings.max_file_bytes))
    done = processed_statuses(engine, (ref.submission_id for ref in refs))
    pending = list({ref.submission_id: ref for ref in refs if ref.submission_id not in done}.values())
    rows = rows_loaded = 0
    load_seconds = 0.0  # inside record_submission: the warehouse load alone
    for batch in batches_in_dependency_order(pending):
        for ref in batch:
            lookups = {}
            if ref.path_error is None and ref.dataset in CONTRACTS:
                lookups = fetch_lookups(engine, CONTRACTS[ref.dataset], county_code=ref.county_code,
                                        period=ref.period)
            data = open_archived(ref) if ref.archive_path else None
            result, facts = stage_bytes(ref, data, lookups=lookups, settings=settings)
            stem = report_stem(settings.reports_dir, ref)
            write_report(result, _report_header(ref), stem.with_suffix(".json"))
            report = write_report(result, _report_header(ref), stem.with_suffix(".html"))
            loading = time.perf_counter()
            record_submission(engine, ref, result, facts, report_path=str(report))
            load_seconds += time.perf_counter() - loading
            rows += result.counts.rows_in
            rows_loaded += result.counts.rows_loaded
    seconds = time.perf_counter() - start
    engine.dispose()
    return {"seconds": seconds, "files": len(pending), "rows": rows, "rows_loaded": rows_loaded,
            "load_seconds": load_seconds}


def workload_b1(spec: dict[str, Any]) -> dict[str, Any]:
    """B1: pandas + pandera (pandas backend) + `to_sql`."""
    import sqlalchemy as sa

    from benchmarks.pandas_baseline import load_landing

    engine = sa.create_engine(spec["url"].replace("postgresql://", "postgresql+psycopg://"))
    manifest = json.loads((Path(spec["b0_dir"]) / "manifest.json").read_text(encoding="utf-8"))
    start = time.perf_counter()
    counts = load_landing(Path(spec["landing"]), engine, tables=manifest.get("by_source", {}))
    seconds = time.perf_counter() - start
    engine.dispose()
    return {"seconds": seconds, "files": counts["files"], "rows": counts["rows_in"],
            "rows_loaded": counts["rows_loaded"]}


def _b0_tables(manifest: dict[str, Any]) -> dict[str, list[str]]:
    from schemas import CONTRACTS

    return {dataset: list(CONTRACTS[dataset].column_names) for dataset in manifest["files"]}


def workload_b0(spec: dict[str, Any]) -> dict[str, Any]:
    """B0: the I/O limit — CSV text straight into untyped tables, one transaction per file:
    DuckDB `INSERT … SELECT * FROM read_csv(…)`, PostgreSQL `COPY … FROM STDIN`."""
    manifest = json.loads((Path(spec["b0_dir"]) / "manifest.json").read_text(encoding="utf-8"))
    tables = _b0_tables(manifest)
    if spec["backend"] == "duckdb":
        import duckdb

        conn = duckdb.connect(spec["url"].removeprefix("duckdb:///"))
        start = time.perf_counter()
        for dataset, columns in tables.items():
            conn.execute(f"CREATE TABLE b0_{dataset} ({', '.join(f'{c} VARCHAR' for c in columns)})")
        for dataset, files in manifest["files"].items():
            for path in files:
                conn.execute(f"INSERT INTO b0_{dataset} BY NAME "
                             "SELECT * FROM read_csv(?, header = true, all_varchar = true)", [path])
        rows = sum(conn.execute(f"SELECT count(*) FROM b0_{d}").fetchone()[0] for d in tables)
        seconds = time.perf_counter() - start
        conn.close()
    else:
        import psycopg

        libpq = spec["url"].replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(libpq) as conn:
            start = time.perf_counter()
            for dataset, columns in tables.items():
                conn.execute(f"CREATE TABLE b0_{dataset} ({', '.join(f'{c} TEXT' for c in columns)})")
            conn.commit()
            for dataset, files in manifest["files"].items():
                for path in files:
                    with open(path, "rb") as handle:
                        header = handle.readline().decode("utf-8").strip()
                        statement = f"COPY b0_{dataset} ({header}) FROM STDIN (FORMAT csv)"
                        with conn.cursor() as cursor, cursor.copy(statement) as copy:
                            while chunk := handle.read(1 << 20):
                                copy.write(chunk)
                    conn.commit()
            rows = sum(conn.execute(f"SELECT count(*) FROM b0_{d}").fetchone()[0] for d in tables)
            seconds = time.perf_counter() - start
    return {"seconds": seconds, "files": sum(len(f) for f in manifest["files"].values()), "rows": rows}


def workload_dlt(spec: dict[str, Any]) -> dict[str, Any]:
    """B3 (dlt, merge on the natural key) and B3a (dlt, append): `benchmarks.dlt_peer`."""
    from benchmarks.dlt_peer import load_with_dlt

    manifest = json.loads((Path(spec["b0_dir"]) / "manifest.json").read_text(encoding="utf-8"))
    mode = "merge" if spec["workload"] == "B3" else "append"
    start = time.perf_counter()
    rows = load_with_dlt(manifest, backend=spec["backend"], url=spec["url"], mode=mode,
                         pipelines_dir=Path(spec["state"]) / "dlt")
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "files": sum(len(f) for f in manifest["files"].values()),
            "rows": manifest["rows"], "rows_loaded": rows}


def _ledger_totals(url: str) -> tuple[int, int]:
    """Submissions and rows read, as the warehouse's ledger records them."""
    import sqlalchemy as sa

    from warehouse.engine import make_engine
    from warehouse.models import AuditSubmission

    engine = make_engine(url)
    ledger = AuditSubmission.__table__
    try:
        with engine.connect() as conn:
            files, rows = conn.execute(sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(ledger.c.rows_in), 0))).one()
    finally:
        engine.dispose()
    return int(files), int(rows)


def workload_cli_run(spec: dict[str, Any]) -> dict[str, Any]:
    """W5 / W5b: `countyflow run` as a user runs it from a shell: a fresh process that starts
    its own temporary Prefect server (a fresh Prefect home on W5, the same one again on W5b)
    and runs the quality gate. W5 loads the landing zone cold; W5b finds nothing new. The
    time is the whole process, start-up and server included; the peak RSS is the CLI
    process's own (its server is another process)."""
    import subprocess

    state = Path(spec["state"])
    state.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update({
        "PREFECT_HOME": str(state / "prefect-home"), "PREFECT_LOGGING_LEVEL": "WARNING",
        "COUNTYFLOW_ARCHIVE_DIR": str(state / "archive"), "COUNTYFLOW_REPORTS_DIR": str(state / "reports"),
        "COUNTYFLOW_STAGING_DIR": str(state / "staging"), "COUNTYFLOW_DATA_DOCS_DIR": str(state / "quality"),
        "COUNTYFLOW_MAX_FILE_BYTES": str(1 << 30), "COUNTYFLOW_MAX_SHEET_CELLS": str(1 << 30),
        "COUNTYFLOW_RUN_QUALITY_CHECKS": "true",
    })
    url = spec["url"].replace("postgresql://", "postgresql+psycopg://")
    before = _ledger_totals(url) if spec["workload"] == "W5b" else (0, 0)
    with (state / f"{spec['workload']}.log").open("wb") as log:
        start = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "countyflow.cli", "run", "--landing", spec["landing"],
                                  "--warehouse", url], env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"countyflow run exited {os.waitstatus_to_exitcode(status)}; see {log.name}")
    files, rows = _ledger_totals(url)
    return {"seconds": seconds, "files": files - before[0], "rows": rows - before[1],
            "rss_mb": usage.ru_maxrss / 1024}


WORKLOADS = {
    "W0": workload_null_flow, "W1": workload_flow, "W2": workload_flow, "W3": workload_flow,
    "W4": workload_flow, "B0": workload_b0, "B1": workload_b1, "B2": workload_b2,
    "B3": workload_dlt, "B3a": workload_dlt, "W5": workload_cli_run, "W5b": workload_cli_run,
}


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    started = time.perf_counter()
    result = WORKLOADS[spec["workload"]](spec)
    result.setdefault("rss_mb", _peak_rss_mb())  # W5 reports its CLI child's
    result["process_s"] = time.perf_counter() - started
    sys.stdout.flush()
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    raise SystemExit(main(sys.argv))
