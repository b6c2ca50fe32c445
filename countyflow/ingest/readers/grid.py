"""From a sheet of text cells to a `ParsedSubmission`: one code path for CSV and XLSX.

A reader hands over the header row it found and the *body* below it: a frame of text
cells with positional columns `c0, c1, …` plus `source_row`. Here blank rows are
skipped, a trailing notes block (`填表说明：…`, `填报人：…`) is cut off, 合计/总计 rows
are set aside for reconciliation, and the columns the contract knows are selected and
renamed. Row classification is computed with Polars expressions over all rows at
once, so no Python runs per data row.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from countyflow.ingest.model import (
    SOURCE_ROW,
    ParsedSubmission,
    SubmissionRejected,
    common_issue,
    issues_frame,
)
from countyflow.ingest.readers.headers import HeaderLookup, HeaderMap, header_lookup, map_headers
from schemas.contract import Contract

# Rust regex `\s` is Unicode-aware, so this also removes U+3000.
_INVISIBLE = r"[\s\u200b\u200c\u200d\u2060\ufeff]+"
_BLANK_CHARS = " \t\r\n\v\f\u00a0\u3000\u200b\u200c\u200d\u2060\ufeff"
_NON_BLANK = "[^" + _BLANK_CHARS + "]"
TOTAL_LABEL = r"^(合计|总计)[:：]?$"
# What a notes row starts with, once whitespace is removed. `说明`, `注` and `备注` need
# their colon: bare they are also column headers (`备注`) or ordinary words.
NOTE_PREFIX = (
    r"^(填表说明|说明[:：]|填报人|填表人|制表人|审核人|单位负责人|负责人|"
    r"填报日期|填表日期|报送日期|填报单位|注[:：0-9]|备注[:：])"
)


def positional(index: int) -> str:
    """Name of the body column at a 0-based position (`c0`, `c1`, …)."""
    return f"c{index}"


def cell_columns(body: pl.DataFrame) -> list[str]:
    return [name for name in body.columns if name != SOURCE_ROW]


def _row_flags(body: pl.DataFrame) -> pl.DataFrame:
    """Per row: blank, total row, notes row, number of non-empty cells.

    A cell is non-empty when it holds a character outside `_BLANK_CHARS`: a regex search
    that stops at the first such character, with no per-cell copy (stripping every cell
    cost four times as much on large files). The whitespace-removing regex runs only on
    each row's first non-empty cell, the one the total/notes labels live in.
    """
    names = cell_columns(body)
    if not names:
        return pl.DataFrame({"_blank": [True] * body.height})
    flags = [f"_present{index}" for index in range(len(names))]
    # Materialised once: both the count and the first non-empty cell read the flags.
    present = body.lazy().select(
        *(pl.col(name).str.contains(_NON_BLANK).fill_null(False).alias(flag)
          for name, flag in zip(names, flags, strict=True)),
        *names,
    )
    first = pl.coalesce(
        [pl.when(pl.col(flag)).then(pl.col(name)) for flag, name in zip(flags, names, strict=True)]
    ).str.replace_all(_INVISIBLE, "")
    count = pl.sum_horizontal(pl.col(flag) for flag in flags)
    return present.select(
        (count == 0).alias("_blank"),
        count.alias("_count"),
        first.str.contains(TOTAL_LABEL).fill_null(False).alias("_total"),
        first.str.contains(NOTE_PREFIX).fill_null(False).alias("_note"),
    ).collect()


def classify_rows(body: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    """Boolean masks (data, total) over the body's rows.

    Notes: scanning up from the bottom, trailing rows that are notes-like (start with a
    notes prefix, or hold a single cell — the continuation lines of a 填表说明 block) form
    the tail; the notes block starts at the first prefixed row of that tail. Single-cell
    rows before it stay data, so they are validated and reported, not dropped.
    Totals: any row whose first non-empty cell is 合计/总计, wherever it sits (some forms
    put it right under the header).
    """
    flags = _row_flags(body).with_row_index("_i")
    if "_count" not in flags.columns:
        falses = pl.Series([False] * body.height)
        return falses, falses
    note_like = pl.col("_note") | ((pl.col("_count") == 1) & ~pl.col("_total"))
    solid = flags.filter(~pl.col("_blank") & ~note_like)["_i"].max()
    last_solid = -1 if solid is None else int(solid)
    start = flags.filter((pl.col("_i") > last_solid) & pl.col("_note"))["_i"].min()
    notes_start = flags.height if start is None else int(start)
    masks = flags.select(
        (~pl.col("_blank") & (pl.col("_i") < notes_start) & ~pl.col("_total")).alias("data"),
        (~pl.col("_blank") & (pl.col("_i") < notes_start) & pl.col("_total")).alias("total"),
    )
    return masks["data"], masks["total"]


def _select(body: pl.DataFrame, header_map: HeaderMap, contract: Contract) -> pl.DataFrame:
    """Contract columns in contract order (absent optional ones as nulls), then `source_row`."""
    by_name = {name: position for position, name in header_map.positions.items()}
    columns: list[pl.Expr] = []
    for name in contract.column_names:
        if name in by_name:
            cell = pl.col(positional(by_name[name]))
            # "" and null both mean "no value"; one spelling keeps later checks simple.
            columns.append(pl.when(cell.str.len_bytes() > 0).then(cell).alias(name))
        else:
            columns.append(pl.lit(None, dtype=pl.Utf8).alias(name))
    columns.append(pl.col(SOURCE_ROW).cast(pl.Int64))
    return body.select(columns)


def _unnamed_with_data(body: pl.DataFrame, unnamed: Sequence[int]) -> list[dict[str, object]]:
    """A warning for each header-less column that nonetheless holds values (they are ignored)."""
    names = [positional(index) for index in unnamed if positional(index) in body.columns]
    if not names or body.height == 0:
        return []
    has_data = body.select(
        (pl.col(name).str.strip_chars(_BLANK_CHARS).str.len_bytes() > 0).any().alias(name)
        for name in names
    ).row(0)
    return [
        common_issue("unknown_column", detail=f"第 {int(name[1:]) + 1} 列无表头 / column {int(name[1:]) + 1} has no header")
        for name, flag in zip(names, has_data, strict=True) if flag
    ]


def assemble(header: Sequence[str | None], body: pl.DataFrame, contract: Contract, *,
             lookup: HeaderLookup | None = None, spreadsheet: bool = True) -> ParsedSubmission:
    """Map the header, classify rows and build the submission's text frame.

    `spreadsheet=False` (JSON records) skips blank/notes/total detection: a record is
    data by construction.
    """
    lookup = lookup or header_lookup(contract)
    header_map = map_headers(header, contract, lookup)
    total: pl.DataFrame | None = None
    if spreadsheet:
        data_mask, total_mask = classify_rows(body)
        data_rows = body.filter(data_mask)
        total_rows = body.filter(total_mask)
        if total_rows.height:
            total = _select(total_rows, header_map, contract)
    else:
        data_rows = body
    if data_rows.height == 0:
        raise SubmissionRejected("empty_file")
    issues = [*header_map.issues, *_unnamed_with_data(data_rows, header_map.unnamed)]
    return ParsedSubmission(
        frame=_select(data_rows, header_map, contract),
        issues=issues_frame(issues),
        total_row=total,
    )
