"""`countyflow status`: the completeness matrix (county × dataset/period → status)."""

from __future__ import annotations

import polars as pl

from countyflow.commands.console import console, frame_table
from countyflow.settings import Settings

STATUS_MARKS = {
    "accepted": "✔",
    "accepted_with_warnings": "✔!",
    "rejected": "✘",
    "waiting": "…",
    "missing": "·",
}


def completeness_matrix(status: pl.DataFrame) -> pl.DataFrame:
    """One row per county, one column per dataset × period, a mark per partition status."""
    marked = status.with_columns(
        pl.col("status").replace_strict(STATUS_MARKS, default="?").alias("mark"),
        (pl.col("dataset") + " " + pl.col("period")).alias("partition"),
    )
    late = (pl.col("on_time") == False) & pl.col("status").is_in(["missing"]).not_()  # noqa: E712
    marked = marked.with_columns(pl.when(late).then(pl.col("mark") + "L").otherwise("mark").alias("mark"))
    return (
        marked.pivot(on="partition", index="county_code", values="mark", aggregate_function="first",
                     sort_columns=True)
        .sort("county_code")
    )


def show_status(settings: Settings) -> int:
    from tasks.resources import warehouse_engine
    from warehouse.marts import read_mart
    from warehouse.schema import ensure_warehouse

    engine = warehouse_engine(settings)
    ensure_warehouse(engine)
    status = read_mart(engine, "mart_submission_status")
    if status.is_empty():
        console.print("No partitions expected or received yet.")
        return 0
    for dataset, part in status.sort("dataset").group_by("dataset", maintain_order=True):
        console.print(frame_table(completeness_matrix(part), f"{dataset[0]}"))
    counts = status.group_by("status").agg(pl.len().alias("partitions")).sort("status")
    console.print(frame_table(counts, "Partitions by status"))
    console.print("Legend: ✔ accepted, ✔! with warnings, ✘ rejected, … waiting, · missing, L late")
    return 0
