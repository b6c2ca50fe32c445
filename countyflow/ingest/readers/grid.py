"""From a sheet of text cells to a `ParsedSubmission`: one code path for CSV and XLSX.

A reader hands over the header it found (one name per column) and the *body* below it:
a frame of text cells with positional columns `c0, c1, …` plus `source_row`, and for a
workbook the sheet's layout (`SheetContext`: cells merged down, hidden rows and
columns). Here, as a careful person reads a county form (SPEC §3.1): blank rows are
skipped, a trailing notes block (`填表说明：…`, `填报人：…`) is cut off, a cell merged
down fills every row it spans, hidden rows are set aside, 合计/小计 rows are recognised
by their label wherever they sit and kept for reconciliation, the columns the contract
knows are selected and renamed, a wide form is unpivoted, and a county the file does not
state is taken from the path. Row classification is computed with Polars expressions
over all rows at once, so no Python runs per data row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from countyflow.ingest.model import (
    SHEET_ROW_STRIDE,
    SOURCE_ROW,
    ParsedSubmission,
    ReadLayout,
    SkippedPart,
    SubmissionRejected,
    common_issue,
    issues_frame,
)
from countyflow.ingest.normalise import is_missing, normalise_count
from countyflow.ingest.readers.headers import HeaderLookup, HeaderMap, header_lookup, map_headers
from schemas.contract import ColumnType, Contract

# Rust regex `\s` is Unicode-aware, so this also removes U+3000.
_INVISIBLE = r"[\s\u200b\u200c\u200d\u2060\ufeff]+"
_BLANK_CHARS = " \t\r\n\v\f\u00a0\u3000\u200b\u200c\u200d\u2060\ufeff"
_NON_BLANK = "[^" + _BLANK_CHARS + "]"
TOTAL_LABEL = (r"^(合计|总计|总合计|共计|总数|全(县|市|区|州|省)(\(市、?区\)|（市、?区）)?(合计|总计))"
               r"[:：]?$")
"""A total over the whole table (whitespace removed before matching)."""
SUBTOTAL_LABEL = r"^(小计|.+(小计|合计|总计))[:：]?$"
"""A group's subtotal: `小计`, `龙头山镇小计`, `XX学校合计` (when not a `TOTAL_LABEL`)."""
WHICH_OF_LABEL = r"^其中"
"""`其中：公办小计` sums a subset, not the rows above it: not data, not a group boundary."""
TOTAL_KIND = "total_kind"
SCOPE_FIRST = "scope_first"
SCOPE_LAST = "scope_last"
PREVIEW_ROWS = 5
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


def format_rows(rows: Sequence[int]) -> str:
    """Row numbers as ranges: `[5, 6, 7, 9]` → `5–7, 9`."""
    ordered = sorted(set(rows))
    parts: list[str] = []
    index = 0
    while index < len(ordered):
        first = last = ordered[index]
        while index + 1 < len(ordered) and ordered[index + 1] == last + 1:
            index += 1
            last = ordered[index]
        parts.append(str(first) if first == last else f"{first}–{last}")
        index += 1
    return ", ".join(parts)


@dataclass(frozen=True)
class SheetContext:
    """What a workbook knows about the sheet beyond its cells (positions are body columns,
    rows are body row indices unless named `source_row`)."""

    name: str | None = None
    row_offset: int = 0
    """Added to sheet row numbers to make `source_row` (0 for the first sheet read)."""
    hidden_rows: frozenset[int] = frozenset()
    """Sheet row numbers (1-based, before `row_offset`)."""
    hidden_positions: frozenset[int] = frozenset()
    fills: tuple[tuple[int, int, int], ...] = ()
    """(position, first, last): the cell at row index `first` fills rows up to `last`."""
    header_rows: tuple[int, ...] = ()
    skipped: tuple[SkippedPart, ...] = field(default=())


_LABEL_CANDIDATE = r"(小\s*计|合\s*计|总\s*计|共\s*计|总\s*数)[\s:：]*$"


def _label_flags(body: pl.DataFrame, label_columns: Sequence[str]) -> pl.DataFrame:
    """Per row: is it labelled a total, a subtotal, or a `其中…小计`?

    The label is the first of the `label_columns` (key, name and other non-numeric
    columns) whose cell ends like one (`…小计`, `合 计`). Every label holds `计` (or is
    `总数`), so only rows with such a cell — a handful — go through the regexes.
    """
    # One search over the row's label cells joined, not one per cell.
    marked = body.select(
        pl.concat_str(label_columns, separator="|", ignore_nulls=True).str.contains("计|总数")
        .fill_null(False)).to_series()
    flags = ("_total", "_which", "_sub")
    if not marked.any():
        falses = pl.Series([False] * body.height, dtype=pl.Boolean)
        return pl.DataFrame({flag: falses for flag in flags})
    label = pl.coalesce(
        [pl.when(pl.col(name).str.contains(_LABEL_CANDIDATE)).then(pl.col(name)) for name in label_columns]
    ).str.replace_all(_INVISIBLE, "")
    total = label.str.contains(TOTAL_LABEL).fill_null(False)
    which = label.str.contains(WHICH_OF_LABEL).fill_null(False)
    subtotal = label.str.contains(SUBTOTAL_LABEL).fill_null(False)
    kinds = body.with_row_index("_i").filter(marked).select(
        "_i", total.alias("_total"), (~total & which & subtotal).alias("_which"),
        (~total & ~which & subtotal).alias("_sub"))
    positions = kinds["_i"]
    return pl.DataFrame({
        flag: pl.Series([False] * body.height, dtype=pl.Boolean).scatter(positions, kinds[flag])
        for flag in flags
    })


def _row_flags(body: pl.DataFrame, label_columns: Sequence[str]) -> pl.DataFrame:
    """Per row: blank, number of non-empty cells, notes row, and its total label kind.

    A cell is non-empty when it holds a character outside `_BLANK_CHARS`: a regex search
    that stops at the first such character, with no per-cell copy (stripping every cell
    cost four times as much on large files). The notes prefix is read from each row's
    first non-empty cell; total labels by `_label_flags`.
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
    labels = [name for name in label_columns if name in names] or names
    basic = present.select(
        (count == 0).alias("_blank"),
        count.alias("_count"),
        first.str.contains(NOTE_PREFIX).fill_null(False).alias("_note"),
    ).collect()
    return basic.hstack(_label_flags(body, labels))


@dataclass(frozen=True)
class RowClasses:
    """Per body row (all Boolean Series but `group`): what a careful reader makes of it."""

    data: pl.Series
    total: pl.Series
    subtotal: pl.Series
    which_of: pl.Series
    hidden: pl.Series
    notes: pl.Series
    group: pl.Series
    """Subtotal rows above the row: a 小计 closes the group of the data rows before it."""


def classify_rows(body: pl.DataFrame, *, label_columns: Sequence[str] = (),
                  hidden_rows: frozenset[int] = frozenset(), row_offset: int = 0) -> RowClasses:
    """Classify the body's rows (SPEC §3.1).

    Notes: scanning up from the bottom, trailing rows that are notes-like (start with a
    notes prefix, or hold a single cell — the continuation lines of a 填表说明 block) form
    the tail; the notes block starts at the first prefixed row of that tail. Single-cell
    rows before it stay data, so they are validated and reported, not dropped.
    Totals and subtotals: any row labelled so, wherever it sits (some forms put the
    总合计 right under the header). Hidden rows (sheet rows in `hidden_rows`) are not data.
    """
    flags = _row_flags(body, label_columns).with_row_index("_i")
    if "_count" not in flags.columns or body.height == 0:
        falses = pl.Series([False] * body.height, dtype=pl.Boolean)
        return RowClasses(falses, falses, falses, falses, falses, falses,
                          pl.Series([0] * body.height, dtype=pl.Int64))
    labelled = pl.col("_total") | pl.col("_sub") | pl.col("_which")
    note_like = pl.col("_note") | ((pl.col("_count") == 1) & ~labelled)
    solid = flags.filter(~pl.col("_blank") & ~note_like)["_i"].max()
    last_solid = solid if isinstance(solid, int) else -1  # a row index, or None: no rows
    start = flags.filter((pl.col("_i") > last_solid) & pl.col("_note"))["_i"].min()
    notes_start = start if isinstance(start, int) else flags.height
    sheet_row = body.get_column(SOURCE_ROW) - row_offset
    hidden = (sheet_row.is_in(list(hidden_rows)) if hidden_rows
              else pl.Series([False] * body.height, dtype=pl.Boolean))
    masks = flags.with_columns(hidden.alias("_hidden")).select(
        live := (~pl.col("_blank") & (pl.col("_i") < notes_start) & ~pl.col("_hidden")).alias("live"),
        (~pl.col("_blank") & (pl.col("_i") >= notes_start)).alias("notes"),
        (~pl.col("_blank") & pl.col("_hidden")).alias("hidden"),
        (live & pl.col("_total")).alias("total"),
        (live & pl.col("_sub")).alias("subtotal"),
        (live & pl.col("_which")).alias("which_of"),
        (live & ~labelled).alias("data"),
    ).with_columns(
        (pl.col("subtotal").cast(pl.Int64).cum_sum() - pl.col("subtotal").cast(pl.Int64)).alias("group"),
    )
    return RowClasses(masks["data"], masks["total"], masks["subtotal"], masks["which_of"],
                      masks["hidden"], masks["notes"], masks["group"])


def fill_merged(body: pl.DataFrame, fills: Sequence[tuple[int, int, int]]) -> pl.DataFrame:
    """Every row a cell merged down spans takes that cell's value (SPEC §3.1)."""
    indices: dict[int, np.ndarray] = {}
    width = len(cell_columns(body))
    for position, first, last in fills:
        if position >= width or first >= body.height or last <= first:
            continue
        index = indices.get(position)
        if index is None:
            index = indices[position] = np.arange(body.height)
        index[first + 1: min(last, body.height - 1) + 1] = first
    if not indices:
        return body
    return body.with_columns(
        pl.col(positional(position)).gather(pl.Series(index)) for position, index in indices.items())


def _select(body: pl.DataFrame, header_map: HeaderMap, contract: Contract,
            county_code: str | None) -> pl.DataFrame:
    """Contract columns in contract order (absent optional ones as nulls, an implied county
    from the path), then `source_row`."""
    by_name = {name: position for position, name in header_map.positions.items()}
    columns: list[pl.Expr] = []
    for name in contract.column_names:
        if name in by_name:
            cell = pl.col(positional(by_name[name]))
            # "" and null both mean "no value"; one spelling keeps later checks simple.
            columns.append(pl.when(cell.str.len_bytes() > 0).then(cell).alias(name))
        elif name in header_map.implied and county_code is not None:
            columns.append(pl.lit(county_code, dtype=pl.Utf8).alias(name))
        else:
            columns.append(pl.lit(None, dtype=pl.Utf8).alias(name))
    columns.append(pl.col(SOURCE_ROW).cast(pl.Int64))
    return body.select(columns)


def _unpivot(rows: pl.DataFrame, header_map: HeaderMap, contract: Contract,
             county_code: str | None) -> pl.DataFrame:
    """A wide form's rows as the long form: one row per row × category holding a count.

    Cells left empty, `—`, `0` mean "none of this kind" and give no row; anything else
    (including unreadable text, which validation then reports) gives one. The j-th
    category column's rows keep their sheet row in part j + 1 after the sheet's own
    (`SHEET_ROW_STRIDE`), so every long row has a `source_row` of its own.
    """
    wide = contract.wide
    assert wide is not None
    base = _select(rows, header_map, contract, county_code)
    parts = []
    for ordinal, (position, category) in enumerate(sorted(header_map.categories.items())):
        parts.append(base.with_columns(
            pl.lit(category, dtype=pl.Utf8).alias(wide.category),
            rows.get_column(positional(position)).alias(wide.value),
            pl.col(SOURCE_ROW) + (ordinal + 1) * SHEET_ROW_STRIDE,
        ).filter(~(is_missing(pl.col(wide.value))
                   | (normalise_count(pl.col(wide.value)).struct.field("value") == 0)).fill_null(False)))
    long = pl.concat(parts).sort(pl.col(SOURCE_ROW) % SHEET_ROW_STRIDE, SOURCE_ROW, maintain_order=True)
    return long.select(*contract.column_names, SOURCE_ROW)


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


def _sheet_rows(rows: pl.Series, offset: int) -> list[int]:
    return [int(row) - offset for row in rows.to_list()]


def _where(sheet: SheetContext, rows: Sequence[int]) -> str:
    text = format_rows(rows)
    return f"{sheet.name}: {text}" if sheet.name else text


def _totals(body: pl.DataFrame, classes: RowClasses, header_map: HeaderMap, contract: Contract,
            county_code: str | None, frame: pl.DataFrame) -> pl.DataFrame | None:
    """Total and subtotal rows as contract columns, each with the source rows it sums.

    In a wide form the long rows of one sheet row sit in several parts, so a 合计 row
    sums all of the sheet's long rows (`frame`), and a 小计 (rare there) is not reconciled.
    """
    is_total = classes.total | (classes.subtotal if not header_map.is_wide else False)
    if not is_total.any():
        return None
    if header_map.is_wide:
        labelled = body.filter(is_total)
        return _wide_totals(labelled, header_map, contract).select(
            *contract.column_names, SOURCE_ROW, pl.lit("total").alias(TOTAL_KIND),
            pl.lit(frame[SOURCE_ROW].min(), dtype=pl.Int64).alias(SCOPE_FIRST),
            pl.lit(frame[SOURCE_ROW].max(), dtype=pl.Int64).alias(SCOPE_LAST))
    rows = body.with_columns(classes.group.alias("_group"), classes.subtotal.alias("_sub"))
    data = rows.filter(classes.data)
    scopes = data.group_by("_group").agg(pl.col(SOURCE_ROW).min().alias(SCOPE_FIRST),
                                         pl.col(SOURCE_ROW).max().alias(SCOPE_LAST))
    everything = data.select(pl.col(SOURCE_ROW).min().alias(SCOPE_FIRST),
                             pl.col(SOURCE_ROW).max().alias(SCOPE_LAST))
    labelled = rows.filter(is_total)
    selected = _select(labelled, header_map, contract, county_code)
    selected = selected.with_columns(labelled.get_column("_group"), labelled.get_column("_sub"))
    with_scope = selected.join(scopes, on="_group", how="left", maintain_order="left")
    first, last = everything.row(0) if data.height else (None, None)
    return with_scope.select(
        *contract.column_names, SOURCE_ROW,
        pl.when(pl.col("_sub")).then(pl.lit("subtotal")).otherwise(pl.lit("total")).alias(TOTAL_KIND),
        pl.when(pl.col("_sub")).then(pl.col(SCOPE_FIRST)).otherwise(pl.lit(first, dtype=pl.Int64))
        .cast(pl.Int64).alias(SCOPE_FIRST),
        pl.when(pl.col("_sub")).then(pl.col(SCOPE_LAST)).otherwise(pl.lit(last, dtype=pl.Int64))
        .cast(pl.Int64).alias(SCOPE_LAST),
    )


def _wide_totals(labelled: pl.DataFrame, header_map: HeaderMap, contract: Contract) -> pl.DataFrame:
    """A wide form's total rows: the row-total cell stands for the value column."""
    wide = contract.wide
    assert wide is not None
    value = (labelled.get_column(positional(header_map.row_total))
             if header_map.row_total is not None else pl.Series([None] * labelled.height, dtype=pl.Utf8))
    return labelled.select(
        *(pl.lit(None, dtype=pl.Utf8).alias(name) if name != wide.value else value.alias(name)
          for name in contract.column_names),
        pl.col(SOURCE_ROW).cast(pl.Int64),
    )


def _preview(rows: pl.DataFrame, header: Sequence[str | None], positions: Sequence[int]
             ) -> tuple[tuple[str, ...], tuple[tuple[str | None, ...], ...]]:
    head = rows.head(PREVIEW_ROWS)
    names = tuple(str(header[position]) for position in positions)
    cells = head.select(pl.col(SOURCE_ROW).cast(pl.Utf8),
                        *(pl.col(positional(position)) for position in positions))
    return names, tuple(tuple(row) for row in cells.rows())


def assemble(header: Sequence[str | None], body: pl.DataFrame, contract: Contract, *,
             lookup: HeaderLookup | None = None, spreadsheet: bool = True,
             county_code: str | None = None, sheet: SheetContext | None = None) -> ParsedSubmission:
    """Map the header, classify rows and build the submission's text frame.

    `spreadsheet=False` (JSON records) skips blank/notes/total detection: a record is
    data by construction. `county_code` (the path's) stands in for a county column the
    file does not have. `sheet` carries a workbook sheet's layout.
    """
    lookup = lookup or header_lookup(contract)
    sheet = sheet or SheetContext()
    implied = frozenset({"county_code"}) if county_code is not None else frozenset()
    header_map = map_headers(header, contract, lookup, ignored=sheet.hidden_positions,
                             implied=implied)
    if not spreadsheet:
        if body.height == 0:
            raise SubmissionRejected("empty_file")
        return ParsedSubmission(frame=_select(body, header_map, contract, county_code),
                                issues=issues_frame(header_map.issues))
    numeric = {name for name in contract.column_names
               if contract.column(name).type in (ColumnType.COUNT, ColumnType.DECIMAL)}
    value_positions = {position for position, name in header_map.positions.items() if name in numeric}
    value_positions |= set(header_map.categories) | (
        {header_map.row_total} if header_map.row_total is not None else set())
    label_columns = [name for index, name in enumerate(cell_columns(body)) if index not in value_positions]
    classes = classify_rows(body, label_columns=label_columns, hidden_rows=sheet.hidden_rows,
                            row_offset=sheet.row_offset)
    body = fill_merged(body, sheet.fills)
    data_rows = body.filter(classes.data)
    if data_rows.height == 0:
        raise SubmissionRejected("empty_file")
    issues = [*header_map.issues, *_unnamed_with_data(data_rows, header_map.unnamed)]
    skipped = list(sheet.skipped)
    offset = sheet.row_offset
    hidden = _sheet_rows(body.filter(classes.hidden).get_column(SOURCE_ROW), offset)
    if hidden:
        where = _where(sheet, hidden)
        issues.append(common_issue("hidden_rows_skipped", detail=where))
        skipped.append(SkippedPart("hidden_rows", where, "隐藏行（如已撤销的点位）不作为数据",
                                   "hidden rows (such as a cancelled site) are not data"))
    hidden_columns = sorted(sheet.hidden_positions & set(range(len(header))))
    hidden_named = [p for p in hidden_columns if header[p] is not None]
    if hidden_named:
        where = ", ".join(f"{p + 1}（{header[p]}）" for p in hidden_named)
        issues.append(common_issue("hidden_columns_ignored", detail=where))
        skipped.append(SkippedPart("hidden_columns", where, "隐藏列已忽略", "hidden columns are ignored"))
    for mask, kind, zh, en in (
        (classes.subtotal | classes.which_of, "subtotal_rows", "小计行不是数据（已与本组核对）",
         "subtotal rows are not data (checked against their group)"),
        (classes.total, "total_rows", "合计行不是数据（已与各行之和核对）",
         "total rows are not data (checked against the sum of the rows)"),
        (classes.notes, "notes_rows", "表下的说明、填报人等文字不是数据",
         "notes below the table (instructions, who filled it in) are not data"),
    ):
        rows = _sheet_rows(body.filter(mask).get_column(SOURCE_ROW), offset)
        if rows:
            skipped.append(SkippedPart(kind, _where(sheet, rows), zh, en))
    if "county_code" in header_map.implied:
        issues.append(common_issue("county_from_path", value=county_code))
    if header_map.is_wide:
        frame = _unpivot(data_rows, header_map, contract, county_code)
        if frame.height == 0:
            raise SubmissionRejected("empty_file")
    else:
        frame = _select(data_rows, header_map, contract, county_code)
    preview_positions = sorted({*header_map.positions, *header_map.categories,
                                *([header_map.row_total] if header_map.row_total is not None else [])})
    preview_header, preview_rows = _preview(data_rows, header, preview_positions)
    row_parts = [sheet.name or ""]
    if header_map.is_wide:
        row_parts += [f"{sheet.name or ''}（{header[position]}）".lstrip()
                      for position in sorted(header_map.categories)]
    layout = ReadLayout(
        sheets=(sheet.name,) if sheet.name is not None else (),
        header_rows=sheet.header_rows, skipped=tuple(skipped),
        preview_header=preview_header, preview_rows=preview_rows,
        row_parts=tuple(row_parts),
    )
    return ParsedSubmission(
        frame=frame,
        issues=issues_frame(issues),
        total_row=_totals(body, classes, header_map, contract, county_code, frame),
        layout=layout,
        row_totals=_row_totals(data_rows, header_map, frame),
    )


def _row_totals(data_rows: pl.DataFrame, header_map: HeaderMap,
                frame: pl.DataFrame) -> pl.DataFrame | None:
    """A wide form's row-total cells (`source_row` of the sheet row, `total` text) and the
    long rows each sums (`rows`), to reconcile per row."""
    if not header_map.is_wide or header_map.row_total is None:
        return None
    members = frame.group_by(pl.col(SOURCE_ROW) % SHEET_ROW_STRIDE).agg(pl.col(SOURCE_ROW).alias("rows"))
    offset = (data_rows[SOURCE_ROW] // SHEET_ROW_STRIDE * SHEET_ROW_STRIDE).min() if data_rows.height else 0
    return data_rows.select(
        pl.col(SOURCE_ROW).cast(pl.Int64),
        pl.col(positional(header_map.row_total)).alias("total"),
    ).join(members.with_columns(pl.col(SOURCE_ROW) + offset), on=SOURCE_ROW, how="left",
           maintain_order="left")
