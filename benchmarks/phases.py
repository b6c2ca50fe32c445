"""Where B2's (and so W1's) time goes, phase by phase, per format and per dataset.

`uv run python -m benchmarks.phases LANDING WORKDIR [--url URL]` — the B2 loop (no Prefect)
with a timer around each step; a fresh DuckDB file in WORKDIR unless --url is given.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.phases")
    parser.add_argument("landing", type=Path)
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--url", default=None)
    args = parser.parse_args(argv)

    from countyflow.ingest.discover import discover_submissions, open_archived
    from countyflow.ingest.report import write_report
    from countyflow.pipeline import batches_in_dependency_order, report_stem, stage_bytes
    from countyflow.settings import Settings
    from countyflow.staging import report_header as _report_header
    from schemas import CONTRACTS
    from warehouse.engine import make_engine
    from warehouse.ledger import processed_statuses
    from warehouse.load import record_submission
    from warehouse.lookups import fetch_lookups
    from warehouse.schema import ensure_warehouse

    work = args.workdir.resolve()
    url = args.url or f"duckdb:///{work / 'phases.duckdb'}"
    settings = Settings(warehouse_url=url, landing=str(args.landing), archive_dir=work / "archive",
                        reports_dir=work / "reports", staging_dir=work / "staging",
                        max_file_bytes=1 << 30, max_sheet_cells=1 << 30)
    timers: dict[str, float] = defaultdict(float)
    rows: dict[str, int] = defaultdict(int)

    def timed(name: str, start: float) -> float:
        now = time.perf_counter()
        timers[name] += now - start
        return now

    begin = t = time.perf_counter()
    engine = make_engine(settings.sqlalchemy_url())
    ensure_warehouse(engine)
    t = timed("ensure_warehouse", t)
    refs = list(discover_submissions(settings.landing, archive_dir=settings.archive_dir,
                                     max_file_bytes=settings.max_file_bytes))
    t = timed("discover (hash + archive)", t)
    done = processed_statuses(engine, (ref.submission_id for ref in refs))
    pending = [ref for ref in refs if ref.submission_id not in done]
    t = timed("select pending", t)
    for batch in batches_in_dependency_order(pending):
        for ref in batch:
            t = time.perf_counter()
            lookups = fetch_lookups(engine, CONTRACTS[ref.dataset], county_code=ref.county_code,
                                    period=ref.period)
            t = timed("fetch lookups", t)
            data = open_archived(ref)
            t = timed("read archived bytes", t)
            result, facts = stage_bytes(ref, data, lookups=lookups, settings=settings)
            t = timed(f"stage_bytes {ref.extension}", t)
            rows[f"stage_bytes {ref.extension}"] += result.counts.rows_in
            stem = report_stem(settings.reports_dir, ref)
            write_report(result, _report_header(ref), stem.with_suffix(".json"))
            report = write_report(result, _report_header(ref), stem.with_suffix(".html"))
            t = timed("clerk reports", t)
            record_submission(engine, ref, result, facts, report_path=str(report))
            timed(f"record_submission {ref.dataset}", t)
            rows[f"record_submission {ref.dataset}"] += result.counts.rows_loaded
    total = time.perf_counter() - begin
    print("| phase | seconds | share | rows |\n|---|---:|---:|---:|")
    for name, seconds in sorted(timers.items(), key=lambda item: -item[1]):
        print(f"| {name} | {seconds:.2f} | {seconds / total:.0%} | {rows.get(name, '')} |")
    print(f"| total | {total:.2f} | 100% | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
