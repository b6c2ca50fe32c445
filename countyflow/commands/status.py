"""`countyflow status`: the completeness matrix (county × dataset × period → status).

The judgement (overdue, late) is `countyflow.completeness`, shared with the nightly
completeness flow and the run report, so all three say the same thing.

It only reads: a warehouse that does not exist, was never set up or is older than this
countyflow is said so (exit 2) — never created or migrated here; `countyflow run` does that.

Exit codes: 0; 2 no (up-to-date) warehouse; 75 (EX_TEMPFAIL, as `countyflow run`) when the
DuckDB warehouse file stayed in use by another process for longer than
`COUNTYFLOW_WAREHOUSE_LOCK_TIMEOUT`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from countyflow.commands.console import console, frame_table
from countyflow.commands.run import EXIT_WAREHOUSE_BUSY
from countyflow.completeness import (
    LEGEND,
    assess_partitions,
    city_today,
    completeness_counts,
    matrices_by_dataset,
    partition_problems,
    summary_line,
)
from countyflow.settings import Settings
from tasks.resources import warehouse_engine
from warehouse.backends import backend_of
from warehouse.engine import WarehouseBusyError
from warehouse.marts import read_mart
from warehouse.migrate import current_revision, head_revision

MAX_PROBLEMS_SHOWN = 40
EXIT_NO_WAREHOUSE = 2


def show_status(settings: Settings, as_of: date | None = None) -> int:
    missing = _missing_duckdb_file(settings)
    if missing is not None:  # a read-only command never creates the warehouse
        console.print(f"No warehouse at {missing} yet: `countyflow run` (or `countyflow demo`) creates it.")
        return EXIT_NO_WAREHOUSE
    try:
        engine = warehouse_engine(settings)
        with engine.connect() as conn:
            revision = current_revision(conn)
        if revision != head_revision():  # read, never migrate: `run` brings it up to date
            console.print(f"The warehouse at {settings.safe_warehouse_url()} is "
                          f"{'not set up' if revision is None else 'older than this countyflow'}: "
                          "`countyflow run` brings it up to date.")
            return EXIT_NO_WAREHOUSE
        status = read_mart(engine, "mart_submission_status")
    except WarehouseBusyError as exc:  # the message names the file, never a password
        console.print(f"[red]countyflow status could not read the warehouse:[/] {exc}")
        return EXIT_WAREHOUSE_BUSY
    if status.is_empty():
        console.print("No partitions expected or received yet.")
        return 0
    as_of = as_of or city_today()
    assessed = assess_partitions(status, as_of)
    for dataset, matrix in matrices_by_dataset(assessed):
        console.print(frame_table(matrix, dataset))
    console.print(frame_table(completeness_counts(assessed), f"Partitions by dataset, as of {as_of}"))
    by_status = assessed.group_by("status").agg(pl.len().alias("partitions")).sort("status")
    console.print(frame_table(by_status, "Partitions by latest status"))
    problems = partition_problems(assessed)
    console.print(summary_line(problems, as_of, assessed.height))
    if problems.height:
        shown = problems.head(MAX_PROBLEMS_SHOWN).select(
            "county_code", "county_name", "dataset", "period", "timeliness", "status", "due_date",
            "days_overdue", "submissions_received",
        )
        console.print(frame_table(shown, "Overdue and late partitions"))
        if problems.height > MAX_PROBLEMS_SHOWN:
            console.print(f"… and {problems.height - MAX_PROBLEMS_SHOWN} more.")
    console.print(f"Legend: {LEGEND}")
    return 0


def _missing_duckdb_file(settings: Settings) -> Path | None:
    """The DuckDB warehouse file when it does not exist (opening it would create it)."""
    url = settings.sqlalchemy_url()
    path = backend_of(url).file_path(url)
    return None if path is None or path.exists() else path
