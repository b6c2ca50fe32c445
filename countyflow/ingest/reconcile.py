"""Reconcile a form's own totals with its rows (SPEC §3.1, "Totals and subtotals").

A county form states its sums: a 合计/总计 row over the whole table, a 小计 row under each
township or school, and in a wide volunteer sheet a 合计 column per row. None of them is
data, but each is a check the clerk already wrote down: where it disagrees with the rows
it sums, the clerk hears about it with both numbers (a warning: the rows are what load).

Pure: typed rows and the reader's total rows in, an issues frame out; vectorised per
total scope (a 小计's group, a sheet's rows), with no Python per data row.
"""

from __future__ import annotations

import polars as pl

from countyflow.ingest.model import SOURCE_ROW, common_issue, issues_frame, sheet_row
from countyflow.ingest.normalise import normalise_values
from countyflow.periods import Period
from schemas.contract import ColumnType, Contract, Severity

TOLERANCE = 1e-6
_KIND_RULE = {"total": "total_row_mismatch", "subtotal": "subtotal_mismatch"}


def _shown(value: float | int) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _rows_text(first: int, last: int) -> str:
    (sheet_a, row_a), (sheet_b, row_b) = sheet_row(first), sheet_row(last)
    if sheet_a != sheet_b:
        return f"{first}–{last}"
    return str(row_a) if row_a == row_b else f"{row_a}–{row_b}"  # one row is not a range


def _comparable(contract: Contract, present: list[str], value_issues: pl.DataFrame) -> list[str]:
    """Count and decimal columns whose sums mean something: none of their values was
    unreadable (that sum would be wrong for a reason already reported)."""
    errors = value_issues.filter(pl.col("severity") == Severity.ERROR.value)
    unreadable = set(errors["column"].to_list())
    return [c.name for c in contract.columns
            if c.type in (ColumnType.COUNT, ColumnType.DECIMAL) and c.name in present
            and c.name not in unreadable]


def _scope_sums(rows: pl.DataFrame, ranges: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Column sums of `rows` (sorted by source row) within each (scope_first, scope_last).

    Disjoint scopes (the 小计 groups; the 合计 of each sheet) are summed in one pass: an
    as-of join on the scope's first row, then a cut at its last. Overlapping ones (rare:
    two 合计 of different reach) each on their own.
    """
    empty = pl.DataFrame(schema={"scope_first": pl.Int64, "scope_last": pl.Int64,
                                 **{name: rows.schema[name] for name in columns}})
    if ranges.height == 0:
        return empty
    overlapping = ranges.height > 1 and bool(
        (ranges["scope_first"].slice(1) <= ranges["scope_last"].slice(0, ranges.height - 1)).any())
    if not overlapping:
        return (
            rows.join_asof(ranges, left_on=SOURCE_ROW, right_on="scope_first", strategy="backward")
            .filter(pl.col(SOURCE_ROW) <= pl.col("scope_last"))
            .group_by("scope_first", "scope_last").agg(pl.col(name).sum() for name in columns)
        )
    return pl.concat([
        rows.filter(pl.col(SOURCE_ROW).is_between(first, last))
        .select(pl.lit(first, dtype=pl.Int64).alias("scope_first"),
                pl.lit(last, dtype=pl.Int64).alias("scope_last"),
                *(pl.col(name).sum() for name in columns))
        for first, last in ranges.iter_rows()
    ])


def total_issues(total_rows: pl.DataFrame | None, typed: pl.DataFrame, contract: Contract,
                 value_issues: pl.DataFrame, *, period: Period) -> pl.DataFrame:
    """`total_row_mismatch` / `subtotal_mismatch` warnings, one per total row × column
    that disagrees with the rows in its scope (`scope_first`..`scope_last` source rows)."""
    if total_rows is None or total_rows.height == 0:
        return issues_frame()
    columns = _comparable(contract, total_rows.columns, value_issues)
    if not columns:
        return issues_frame()
    if "scope_first" not in total_rows.columns:  # a single 合计 row over everything
        total_rows = total_rows.with_columns(
            pl.lit("total").alias("total_kind"),
            pl.lit(typed[SOURCE_ROW].min(), dtype=pl.Int64).alias("scope_first"),
            pl.lit(typed[SOURCE_ROW].max(), dtype=pl.Int64).alias("scope_last"))
    # Only the compared columns: each normaliser has a fixed cost per call.
    stated = normalise_values(total_rows.select(*columns, SOURCE_ROW), contract,
                              period=period).select(SOURCE_ROW, *columns)
    scopes = total_rows.select(SOURCE_ROW, "total_kind", "scope_first", "scope_last").filter(
        pl.col("scope_first").is_not_null())
    if scopes.height == 0:
        return issues_frame()
    rows = typed.select(SOURCE_ROW, *columns).sort(SOURCE_ROW)
    sums = pl.concat([
        _scope_sums(rows, group.select("scope_first", "scope_last").unique().sort("scope_first"), columns)
        for _, group in scopes.group_by("total_kind")
    ]).unique(subset=["scope_first", "scope_last"])
    compared = (
        scopes.join(stated, on=SOURCE_ROW, how="left")
        .join(sums, on=["scope_first", "scope_last"], how="left", suffix="__sum")
    )
    raw = total_rows.select(SOURCE_ROW, *(pl.col(name).cast(pl.Utf8).alias(name + "__raw") for name in columns))
    compared = compared.join(raw, on=SOURCE_ROW, how="left").sort(SOURCE_ROW)
    issues: list[dict[str, object]] = []
    for record in compared.iter_rows(named=True):  # one per total row, not per data row
        for name in columns:
            written, computed = record[name], record[name + "__sum"]
            if written is None or computed is None:
                continue
            if abs(written - computed) <= TOLERANCE * max(1.0, abs(computed)):
                continue
            issue = common_issue(_KIND_RULE[record["total_kind"]], column=name,
                                 value=record[name + "__raw"], source_row=record[SOURCE_ROW])
            rows_text = _rows_text(record["scope_first"], record["scope_last"])
            one_row = record["scope_first"] == record["scope_last"]
            issue["message_zh"] = (f"{issue['message_zh']}：填写为 {_shown(written)}，"
                                   f"第 {rows_text} 行{'为' if one_row else '之和为'} {_shown(computed)}")
            issue["message_en"] = (f"{issue['message_en']}: written {_shown(written)}, "
                                   f"{'row' if one_row else 'rows'} {rows_text} "
                                   f"{'has' if one_row else 'sum to'} {_shown(computed)}")
            issues.append(issue)
    return issues_frame(issues)


def row_total_issues(row_totals: pl.DataFrame | None, typed: pl.DataFrame, contract: Contract,
                     value_issues: pl.DataFrame) -> pl.DataFrame:
    """A wide form's 合计 column against the sum of the row's categories (`row_total_mismatch`)."""
    wide = contract.wide
    if row_totals is None or row_totals.height == 0 or wide is None:
        return issues_frame()
    if wide.value in set(value_issues.filter(pl.col("severity") == Severity.ERROR.value)["column"]):
        return issues_frame()
    column = contract.column(wide.value)
    stated = normalise_values(
        row_totals.select(pl.col("total").alias(wide.value), SOURCE_ROW), contract, period=None)
    # Each sheet row's long rows (one per category column) summed back together.
    sums = (
        row_totals.select(SOURCE_ROW, pl.col("rows").alias("__row")).explode("__row")
        .join(typed.select(pl.col(SOURCE_ROW).alias("__row"), wide.value), on="__row", how="inner")
        .group_by(SOURCE_ROW).agg(pl.col(wide.value).sum().alias("__sum"))
    )
    compared = (
        row_totals.join(stated.select(SOURCE_ROW, wide.value), on=SOURCE_ROW, how="left")
        .join(sums, on=SOURCE_ROW, how="left")
        .with_columns(pl.col("__sum").fill_null(0))
        .filter(pl.col(wide.value).is_not_null() & (pl.col(wide.value) != pl.col("__sum")))
    )
    text = common_issue("row_total_mismatch")
    return issues_frame([
        {**text, "source_row": record[SOURCE_ROW], "column": column.name, "value": record["total"],
         "message_zh": f"{text['message_zh']}：填写为 {record[wide.value]}，各类别之和为 {record['__sum']}",
         "message_en": f"{text['message_en']}: written {record[wide.value]}, the categories sum to "
                       f"{record['__sum']}"}
        for record in compared.iter_rows(named=True)
    ])
