"""Rich rendering shared by the CLI commands."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import polars as pl
from rich.console import Console, JustifyMethod
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from countyflow import progress

console = Console()


def frame_table(frame: pl.DataFrame, title: str) -> Table:
    table = Table(title=title, show_lines=False)
    for column in frame.columns:
        justify: JustifyMethod = "right" if frame.schema[column].is_numeric() else "left"
        table.add_column(column, justify=justify)
    for row in frame.iter_rows():
        table.add_row(*("" if value is None else _format(value) for value in row))
    return table


def _format(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1 else f"{value:,.2f}".rstrip("0").rstrip(".")
    return str(value)


class _BarListener:
    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.task_id = bar.add_task("submissions", total=None)

    def planned(self, submissions: int) -> None:
        total = (self.bar.tasks[0].total or 0) + submissions
        self.bar.update(self.task_id, total=total)

    def finished(self, description: str) -> None:
        self.bar.update(self.task_id, advance=1, description=description)


@contextmanager
def submission_progress() -> Iterator[None]:
    """A progress bar over the submissions the running flow processes."""
    bar = Progress(
        TextColumn("[progress.description]{task.description}", table_column=None),
        BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=True, disable=not console.is_terminal,
    )
    with bar, progress.listening(_BarListener(bar)):
        yield
