"""XLSX submissions: check the zip before parsing, then read the sheet(s) holding the table.

An XLSX is a zip of XML parts, so a small upload can expand enormously. Before any
spreadsheet library touches the bytes, the zip directory is inspected and every sheet's
`<dimension ref=…>` is read from its first kilobytes (`workbook.open_workbook`); a
workbook that would expand past safe limits is rejected without being inflated.

Then the workbook is read as a county clerk laid it out (SPEC §3.1): each sheet's first
rows are peeked to find its header (one to three rows, merged parents filled in), the
sheets whose header matches the contract are the candidates and the period picks among
them (`sheets.choose_sheets`), and each chosen sheet's body is read with its merged
cells, hidden rows and hidden columns (`workbook.SheetLayout`) handed to the grid.

The primary reader is fastexcel (calamine, Rust; columns come back as Arrow); openpyxl
in read-only mode is the fallback for the rare workbook calamine cannot open (openpyxl
uses defusedxml automatically when it is installed, which countyflow depends on).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Protocol

import fastexcel
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
from countyflow.ingest.readers.grid import SheetContext, assemble, positional
from countyflow.ingest.readers.headers import (
    HEADER_SEARCH_ROWS,
    HeaderBlock,
    HeaderLookup,
    find_header_block,
    header_lookup,
    known_columns,
    map_headers,
)
from countyflow.ingest.readers.sheets import AmbiguousSheets, choose_sheets, is_instruction_sheet
from countyflow.ingest.readers.workbook import (
    MAX_UNCOMPRESSED_BYTES,
    CellRange,
    Dimension,
    SheetLayout,
    Workbook,
    check_size,
    column_number,
    open_workbook,
)
from countyflow.periods import Period
from schemas.contract import ColumnType, Contract

__all__ = ["Dimension", "check_size", "check_workbook", "column_number", "read_xlsx"]

_log = logging.getLogger(__name__)
_CALAMINE_DTYPE_LOG = "fastexcel.types.dtype"
"""Where calamine says "Could not determine dtype for column N, falling back to string": for
every column of mixed cells — the normal case in a county's form, read as text on purpose
(the normaliser types values), so not something an operator should see on every run."""

_MIDNIGHT_SUFFIX = r"^(\d{4}-\d{2}-\d{2}) 00:00:00$"
_DAY_ZERO_PREFIX = r"^1899-12-3[01] (\d{2}:\d{2}:\d{2})$"
_EXCEL_DAY_ZERO = date(1899, 12, 31)
# Integral floats below 2**53 convert to Int64 exactly; larger ones keep float text.
_EXACT_INT_LIMIT = float(2**53)


def check_workbook(data: bytes, *, max_cells: int, max_columns: int,
                   max_uncompressed: int = MAX_UNCOMPRESSED_BYTES) -> Dimension | None:
    """Reject unsafe or non-XLSX bytes from the zip directory and declared dimensions alone;
    returns the first sheet's declared dimension."""
    with open_workbook(data, max_cells=max_cells, max_columns=max_columns,
                       max_uncompressed=max_uncompressed) as workbook:
        part = workbook.sheets[0].part if workbook.sheets else None
        return workbook.dimension(part) if part else None


def _as_text(column: pl.Series) -> pl.Expr:
    """Expression turning one typed sheet column into text, the way a clerk reads it.

    Dates come out as ISO `YYYY-MM-DD` (time kept only when it is not midnight);
    integral numbers without `.0`; other numbers as their shortest repr.
    """
    expr = pl.col(column.name)
    dtype = column.dtype
    if dtype == pl.Utf8:
        # Date cells in a column that also holds text arrive as "YYYY-MM-DD 00:00:00".
        return expr.str.replace(_MIDNIGHT_SUFFIX, "${1}").str.replace(_DAY_ZERO_PREFIX, "${1}")
    if dtype.is_float():
        integral = (expr == expr.round(0)) & (expr.abs() < _EXACT_INT_LIMIT)
        return (pl.when(integral).then(expr.cast(pl.Int64, strict=False).cast(pl.Utf8))
                .otherwise(expr.cast(pl.Utf8)))
    if isinstance(dtype, pl.Datetime):
        # Excel time-only cells are serials below 1, i.e. on Excel's day zero.
        time_only = expr.dt.date() <= _EXCEL_DAY_ZERO
        midnight = expr.dt.time() == time(0, 0)
        return (pl.when(time_only).then(expr.dt.strftime("%H:%M:%S"))
                .when(midnight).then(expr.dt.strftime("%Y-%m-%d"))
                .otherwise(expr.dt.strftime("%Y-%m-%d %H:%M:%S")))
    if dtype == pl.Date:
        return expr.dt.strftime("%Y-%m-%d")
    if isinstance(dtype, pl.Duration):
        # Elapsed-time cells (`[h]:mm:ss`): total hours, as Excel shows them.
        seconds = expr.dt.total_seconds()
        return pl.format("{}:{}:{}",
                         (seconds // 3600).cast(pl.Utf8).str.zfill(2),
                         (seconds % 3600 // 60).cast(pl.Utf8).str.zfill(2),
                         (seconds % 60).cast(pl.Utf8).str.zfill(2))
    return expr.cast(pl.Utf8)


def _texts(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(_as_text(frame.get_column(name)).alias(name) for name in frame.columns)


def cell_text(value: object) -> str | None:
    """One openpyxl cell value as text, with the same rendering as the fastexcel path."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
        return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < _EXACT_INT_LIMIT:
            return str(int(value))
        return repr(value)
    text = str(value)
    return text or None


class SheetSource(Protocol):
    """Cell values of a workbook's sheets, as text, whichever library reads them."""

    def sheets(self) -> list[str]:
        """Every sheet's name, in workbook order."""
        ...

    def top(self, name: str) -> tuple[list[list[str | None]], int]:
        """The sheet's first `HEADER_SEARCH_ROWS` rows (row i = sheet row i + 1) and the
        1-based sheet column of their first cell."""
        ...

    def body(self, name: str, skip_rows: int) -> tuple[pl.DataFrame, int]:
        """Rows after the first `skip_rows` as text columns `c0…` plus `source_row` (the
        sheet row), and the 1-based sheet column of `c0`."""
        ...


class CalamineSheets:
    """fastexcel: a text peek to find the header, then a typed load of the body.

    The body is loaded with types inferred from *all* its rows (the header and title rows
    excluded), so numbers and dates can be rendered exactly; a column mixing text and
    numbers comes back as text.
    """

    def __init__(self, data: bytes, *, max_cells: int, max_columns: int) -> None:
        self._data = data
        self._opened: fastexcel.ExcelReader | None = None
        self._max_cells = max_cells
        self._max_columns = max_columns

    @property
    def _reader(self) -> fastexcel.ExcelReader:
        # Opened on first use: a workbook refused from its XML never reaches calamine.
        if self._opened is None:
            logging.getLogger(_CALAMINE_DTYPE_LOG).setLevel(logging.ERROR)
            self._opened = fastexcel.read_excel(self._data)
        return self._opened

    def sheets(self) -> list[str]:
        return list(self._reader.sheet_names)

    def top(self, name: str) -> tuple[list[list[str | None]], int]:
        # skip_rows=0 keeps leading blank rows, so row i of the frame is sheet row i + 1.
        peek = self._reader.load_sheet(name, header_row=None, skip_rows=0, n_rows=HEADER_SEARCH_ROWS,
                                       dtypes="string")
        if peek.width > self._max_columns:
            raise SubmissionRejected("too_many_columns", f"{peek.width} > {self._max_columns}")
        return [list(row) for row in peek.to_polars().rows()], _first_column(peek)

    def body(self, name: str, skip_rows: int) -> tuple[pl.DataFrame, int]:
        sheet = self._reader.load_sheet(name, header_row=None, skip_rows=skip_rows,
                                        schema_sample_rows=None)
        check_size(sheet.height + skip_rows, sheet.width, max_cells=self._max_cells,
                   max_columns=self._max_columns)
        body = sheet.to_polars()
        body = _texts(body).rename({old: positional(i) for i, old in enumerate(body.columns)})
        body = body.with_columns(
            (pl.int_range(pl.len(), dtype=pl.Int64) + skip_rows + 1).alias(SOURCE_ROW))
        return body, _first_column(sheet)


def _first_column(sheet: fastexcel.ExcelSheet) -> int:
    """calamine starts a sheet at its first column holding a value, not at column A."""
    columns = sheet.available_columns()
    return int(columns[0].absolute_index) + 1 if columns else 1


class OpenpyxlSheets:
    """openpyxl read-only: the fallback, converting cell by cell in Python (bounded by
    `max_cells`). Rows start at column A."""

    def __init__(self, data: bytes, *, max_cells: int, max_columns: int) -> None:
        self._data = data
        self._max_cells = max_cells
        self._max_columns = max_columns

    def _rows(self, name: str) -> Iterator[tuple[object, ...]]:
        # lazy: openpyxl only on the fallback path, when calamine cannot read a workbook
        import openpyxl

        workbook = openpyxl.load_workbook(io.BytesIO(self._data), read_only=True, data_only=True)
        try:
            yield from workbook[name].iter_rows(values_only=True)
        finally:
            workbook.close()

    def sheets(self) -> list[str]:
        # lazy: openpyxl only on the fallback path, when calamine cannot read a workbook
        import openpyxl

        workbook = openpyxl.load_workbook(io.BytesIO(self._data), read_only=True, data_only=True)
        try:
            return [sheet.title for sheet in workbook.worksheets]
        finally:
            workbook.close()

    def top(self, name: str) -> tuple[list[list[str | None]], int]:
        top: list[list[str | None]] = []
        for row in self._rows(name):
            if len(row) > self._max_columns:
                raise SubmissionRejected("too_many_columns", f"{len(row)} > {self._max_columns}")
            top.append([cell_text(value) for value in row])
            if len(top) == HEADER_SEARCH_ROWS:
                break
        return top, 1

    def body(self, name: str, skip_rows: int) -> tuple[pl.DataFrame, int]:
        return rows_frame(self._rows(name), skip_rows, max_cells=self._max_cells,
                          max_columns=self._max_columns), 1


def rows_frame(rows: Iterable[tuple[object, ...]], skip_rows: int, *, max_cells: int,
               max_columns: int) -> pl.DataFrame:
    """Row tuples after the first `skip_rows` as text columns `c0…` plus `source_row`."""
    body_rows: list[list[str | None]] = []
    width = 0
    cells = 0
    for number, row in enumerate(rows, start=1):
        if len(row) > max_columns:
            raise SubmissionRejected("too_many_columns", f"{len(row)} > {max_columns}")
        width = max(width, len(row))
        cells += width
        if cells > max_cells:
            raise SubmissionRejected("spreadsheet_too_large", f"> {max_cells} cells")
        if number > skip_rows:
            body_rows.append([cell_text(value) for value in row])
    schema = {positional(i): pl.Utf8 for i in range(width)}
    padded = [row + [None] * (width - len(row)) for row in body_rows]
    return pl.DataFrame(padded, schema=schema, orient="row").with_columns(
        (pl.int_range(pl.len(), dtype=pl.Int64) + skip_rows + 1).alias(SOURCE_ROW))


@dataclass(frozen=True)
class _Candidate:
    """A sheet whose first rows hold a header: the header found, how well it matches."""

    name: str
    block: HeaderBlock
    first_column: int
    layout: SheetLayout
    known: int
    complete: bool
    """Every required column is there (the header maps without a submission error)."""


def _fill_grid(grid: list[list[str | None]], merged: Iterable[CellRange], first_column: int
               ) -> list[list[str | None]]:
    """The peeked rows with each merged range's value copied over the range (header only)."""
    filled = [list(row) for row in grid]
    width = max((len(row) for row in filled), default=0)
    for cell_range in merged:
        top, left = cell_range.first_row - 1, cell_range.first_column - first_column
        if top >= len(filled) or left < 0 or left >= width or cell_range.cells == 1:
            continue
        value = filled[top][left] if left < len(filled[top]) else None
        for row in range(top, min(cell_range.last_row, len(filled))):
            line = filled[row]
            line.extend([None] * (width - len(line)))
            for column in range(left, min(cell_range.last_column - first_column + 1, width)):
                line[column] = value
    return filled


def _inspect(source: SheetSource, workbook: Workbook, name: str, contract: Contract,
             lookup: HeaderLookup, implied: frozenset[str], *, max_cells: int,
             max_columns: int) -> _Candidate | None:
    """The sheet's header and how well it matches, or None for an empty sheet.

    The sheet's XML is streamed first (layout, extent) and its true extent checked against
    the limits before any reader allocates the sheet; the first rows are then taken from
    the XML itself, so a reader parses only the sheets that are read.
    """
    part = workbook.part(name)
    layout = workbook.layout(part)
    check_size(layout.last_row, layout.width, max_cells=max_cells, max_columns=max_columns)
    peeked = workbook.top_rows(part, HEADER_SEARCH_ROWS)
    top, first_column = (peeked, 1) if peeked is not None else source.top(name)
    if not any(cell is not None and str(cell).strip() for row in top for cell in row):
        return None
    grid = _fill_grid(top, layout.merged, first_column)

    def spans_down(row: int) -> bool:  # 0-based grid row
        return any(r.first_row <= row + 1 < r.last_row for r in layout.merged)

    def continuation(first: int, last: int) -> frozenset[int]:
        # Columns continuing a merged cell that reaches the header's last row: a wide
        # label for one column, not a parent over several.
        return frozenset(
            column - first_column
            for r in layout.merged
            if r.first_row <= last + 1 <= r.last_row and r.columns > 1
            for column in range(r.first_column + 1, r.last_column + 1)
        )

    try:
        block = find_header_block(grid, lookup, spans_down=spans_down, continuation=continuation)
    except SubmissionRejected:
        return _Candidate(name, HeaderBlock(0, 1, []), first_column, layout, 0, False)
    hidden = frozenset(column - first_column for column in layout.hidden_columns)
    try:
        map_headers(block.names, contract, lookup, ignored=hidden, implied=implied)
        complete = True
    except SubmissionRejected:
        complete = False
    return _Candidate(name, block, first_column, layout, known_columns(block.names, lookup), complete)


def _by_date(contract: Contract) -> bool:
    """Rows carry their own date (daily attendance): all month sheets of the period belong."""
    return any(contract.column(name).type is ColumnType.DATE for name in contract.key)


def _read_sheets(source: SheetSource, workbook: Workbook, contract: Contract, *,
                 period: Period | None, county_code: str | None, max_cells: int,
                 max_columns: int) -> ParsedSubmission:
    lookup = header_lookup(contract)
    implied = frozenset({"county_code"}) if county_code is not None else frozenset()
    skipped: list[SkippedPart] = []
    warnings: list[dict[str, object]] = []

    def skip(name: str, zh: str, en: str, *, warn: bool = True) -> None:
        skipped.append(SkippedPart("sheet", name, zh, en))
        if warn:
            warnings.append(common_issue("sheet_skipped", value=name, detail=f"{name}（{zh} / {en}）"))

    # The workbook's own list (workbook.xml) when it has one: no reader needed for it.
    sheets = [sheet.name for sheet in workbook.sheets if sheet.part] or source.sheets()
    if not sheets:
        raise SubmissionRejected("empty_file")
    inspected: list[_Candidate] = []
    for name in sheets:
        if not workbook.visible(name):
            skip(name, "隐藏的工作表", "hidden sheet")
        elif is_instruction_sheet(name):
            skip(name, "填表说明等说明页", "instructions")
        else:
            candidate = _inspect(source, workbook, name, contract, lookup, implied,
                                 max_cells=max_cells, max_columns=max_columns)
            if candidate is None:
                skip(name, "空白工作表", "empty sheet", warn=False)
            else:
                inspected.append(candidate)
    complete = [candidate for candidate in inspected if candidate.complete]
    if complete:
        try:
            chosen_names = choose_sheets([c.name for c in complete], period=period,
                                         by_date=_by_date(contract))
        except AmbiguousSheets as ambiguous:
            raise SubmissionRejected(ambiguous.rule, "、".join(ambiguous.sheets),
                                     value=" / ".join(ambiguous.sheets)) from None
        chosen = [c for c in complete if c.name in chosen_names]
    else:
        # No sheet has every required column: read the best one, whose header problems
        # (missing or duplicated columns) are then reported precisely.
        named = [c for c in inspected if c.known > 0]
        if not named:
            if not inspected:
                raise SubmissionRejected("empty_file")
            raise SubmissionRejected("header_not_found")
        chosen = [max(named, key=lambda c: c.known)]
    for candidate in inspected:
        if candidate not in chosen:
            if candidate.known == 0:
                reason = ("没有本数据集的表头", "no header of this dataset")
            elif candidate.complete:
                reason = ("不是本报送期的工作表", "not this period's sheet")
            else:
                reason = ("表头与本数据集不完全相符", "header does not fully match this dataset")
            skip(candidate.name, *reason)
    parts: list[ParsedSubmission] = []
    next_part = 0
    for candidate in chosen:
        try:
            part = _read_sheet(source, candidate, contract, lookup, county_code=county_code,
                               offset=next_part * SHEET_ROW_STRIDE)
        except SubmissionRejected as error:
            # A month of a yearly template not filled in yet: nothing to read there, as
            # long as another chosen sheet has rows.
            if error.rule != "empty_file" or len(chosen) == 1:
                raise
            skip(candidate.name, "本月工作表没有数据行", "the month's sheet has no data rows")
            next_part += 1
            continue
        next_part += len(part.layout.row_parts) if part.layout is not None else 1
        parts.append(part)
    if not parts:
        raise SubmissionRejected("empty_file")
    return _combine(parts, warnings, skipped)


def _read_sheet(source: SheetSource, candidate: _Candidate, contract: Contract,
                lookup: HeaderLookup, *, county_code: str | None, offset: int) -> ParsedSubmission:
    block, first_column, layout = candidate.block, candidate.first_column, candidate.layout
    body, body_column = source.body(candidate.name, block.body_start)
    if body_column != first_column:  # align the body's columns with the header's
        shift = body_column - first_column
        if shift > 0:
            body = body.select(*(pl.lit(None, dtype=pl.Utf8).alias(positional(i)) for i in range(shift)),
                               *(pl.col(positional(i)).alias(positional(i + shift))
                                 for i in range(body.width - 1)), SOURCE_ROW)
        else:
            body = body.select(*(pl.col(positional(i)).alias(positional(i + shift))
                                 for i in range(-shift, body.width - 1)), SOURCE_ROW)
    body_start_row = block.body_start + 1  # 1-based sheet row of the body's first row
    fills = tuple(
        (r.first_column - first_column, r.first_row - body_start_row, r.last_row - body_start_row)
        for r in layout.merged
        if r.first_row >= body_start_row and r.last_row > r.first_row and r.first_column >= first_column
    )
    header_rows = tuple(range(block.start + 1, block.body_start + 1))
    sheet = SheetContext(
        name=candidate.name, row_offset=offset, hidden_rows=layout.hidden_rows,
        hidden_positions=frozenset(c - first_column for c in layout.hidden_columns if c >= first_column),
        fills=fills, header_rows=header_rows,
    )
    if offset:
        body = body.with_columns(pl.col(SOURCE_ROW) + offset)
    width = body.width - 1  # cell columns, without source_row
    names = list(block.names) + [None] * max(0, width - len(block.names))
    return assemble(names, body, contract, lookup=lookup, county_code=county_code, sheet=sheet)


def _combine(parts: list[ParsedSubmission], warnings: list[dict[str, object]],
             skipped: list[SkippedPart]) -> ParsedSubmission:
    """One submission from the sheets read (usually one)."""
    first = parts[0]
    issues = pl.concat([issues_frame(warnings), *(part.issues for part in parts)])
    if len(parts) > 1:  # the same unknown column in every month sheet: one warning
        issues = issues.unique(maintain_order=True)
    totals = [part.total_row for part in parts if part.total_row is not None]
    row_totals = [part.row_totals for part in parts if part.row_totals is not None]
    layouts = [part.layout for part in parts if part.layout is not None]
    layout = ReadLayout(
        sheets=tuple(name for lay in layouts for name in lay.sheets),
        header_rows=layouts[0].header_rows if layouts else (),
        skipped=(*skipped, *(part for lay in layouts for part in lay.skipped)),
        preview_header=layouts[0].preview_header if layouts else (),
        preview_rows=layouts[0].preview_rows if layouts else (),
        row_parts=tuple(name for lay in layouts for name in lay.row_parts),
    )
    return replace(
        first,
        frame=pl.concat([part.frame for part in parts]) if len(parts) > 1 else first.frame,
        issues=issues,
        total_row=pl.concat(totals) if totals else None,
        row_totals=pl.concat(row_totals) if row_totals else None,
        layout=layout,
    )


def _is_parser_failure(error: BaseException) -> bool:
    """Exceptions a parser may raise on hostile bytes. A Rust panic inside calamine reaches
    Python as `pyo3_runtime.PanicException`, a BaseException, so it is matched by name."""
    return isinstance(error, Exception) or type(error).__name__ == "PanicException"


def read_xlsx(data: bytes, contract: Contract, *, max_cells: int, max_columns: int,
              period: Period | None = None, county_code: str | None = None) -> ParsedSubmission:
    """Read an XLSX submission (see the module docstring). `period` chooses among month
    sheets; `county_code` (the path's) stands in for a county column the sheet lacks."""
    with open_workbook(data, max_cells=max_cells, max_columns=max_columns) as workbook:
        try:
            source: SheetSource = CalamineSheets(data, max_cells=max_cells, max_columns=max_columns)
            return _read_sheets(source, workbook, contract, period=period, county_code=county_code,
                                max_cells=max_cells, max_columns=max_columns)
        except SubmissionRejected:
            raise
        except BaseException as error:
            if not _is_parser_failure(error):
                raise
            if not isinstance(error, fastexcel.FastExcelError):
                # Not calamine saying "cannot read": worth a look, so leave a trace (no values).
                _log.warning("fastexcel failed with %s; reading with openpyxl", type(error).__name__)
        try:
            fallback = OpenpyxlSheets(data, max_cells=max_cells, max_columns=max_columns)
            return _read_sheets(fallback, workbook, contract, period=period, county_code=county_code,
                                max_cells=max_cells, max_columns=max_columns)
        except SubmissionRejected:
            raise
        except Exception as fallback_error:  # any parser failure on untrusted bytes is "unreadable"
            raise SubmissionRejected("file_unreadable", _unreadable_reason(fallback_error)) from None


def _unreadable_reason(error: Exception) -> str:
    """What the clerk and the operator are told when neither parser could read the file."""
    # lazy: defusedxml only when neither parser could read the file
    from defusedxml import DefusedXmlException

    cause: BaseException | None = error
    while cause is not None and not isinstance(cause, DefusedXmlException):  # openpyxl wraps it
        cause = cause.__cause__ or cause.__context__
    if cause is not None:  # a DTD or entities: Excel and WPS never write one
        return ("工作簿含有 XML 实体声明（DTD），Excel 和 WPS 不会写入，countyflow 从不读取，请用 Excel 或 WPS "
                "另存为 .xlsx / the workbook declares XML entities (a DTD), which Excel and WPS never "
                "write and countyflow never reads (they can point at files on the server)")
    return type(error).__name__
