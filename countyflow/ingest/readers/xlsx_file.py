"""XLSX submissions: check the zip before parsing, then read the first sheet as text.

An XLSX is a zip of XML parts, so a small upload can expand enormously. Before any
spreadsheet library touches the bytes, the zip directory is inspected (total expanded
size, per-member compression ratio) and the first sheet's `<dimension ref=…>` is read
from its first kilobytes; a workbook that would expand past safe limits is rejected
without being inflated.

The primary reader is fastexcel (calamine, Rust; columns come back as Arrow); openpyxl
in read-only mode is the fallback for the rare workbook calamine cannot open (openpyxl
uses defusedxml automatically when it is installed, which countyflow depends on).
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import fastexcel
import polars as pl
from defusedxml import ElementTree

from countyflow.ingest.model import SOURCE_ROW, ParsedSubmission, SubmissionRejected
from countyflow.ingest.readers.grid import assemble, positional
from countyflow.ingest.readers.headers import find_header, header_lookup
from countyflow.ingest.readers.text import sniff_binary
from schemas.contract import Contract

_log = logging.getLogger(__name__)

HEADER_SEARCH_ROWS = 6
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
RATIO_CHECK_MIN_BYTES = 1024 * 1024
MAX_MEMBERS = 10_000
# What the zip layer raises on corrupt or unsupported members (bad CRC, zlib stream
# errors, encryption, unknown compression methods).
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError, RuntimeError,
               NotImplementedError)
# workbook.xml and its rels are tiny in any real workbook; cap what we parse of them.
_MAX_PART_BYTES = 10 * 1024 * 1024
_DIMENSION_PROBE_BYTES = 64 * 1024
_DIMENSION = re.compile(
    rb"<(?:\w+:)?dimension\b[^>]*?\bref=\"\$?([A-Za-z]{1,3})\$?(\d{1,7})(?::\$?([A-Za-z]{1,3})\$?(\d{1,7}))?\""
)
_DEFAULT_SHEET = "xl/worksheets/sheet1.xml"
_MIDNIGHT_SUFFIX = r"^(\d{4}-\d{2}-\d{2}) 00:00:00$"
_DAY_ZERO_PREFIX = r"^1899-12-3[01] (\d{2}:\d{2}:\d{2})$"
_EXCEL_DAY_ZERO = date(1899, 12, 31)
# Integral floats below 2**53 convert to Int64 exactly; larger ones keep float text.
_EXACT_INT_LIMIT = float(2**53)


@dataclass(frozen=True)
class Dimension:
    """The `<dimension ref="A1:K120">` a sheet declares (1-based, inclusive)."""

    first_row: int
    first_column: int
    last_row: int
    last_column: int

    @property
    def rows(self) -> int:
        return self.last_row - self.first_row + 1

    @property
    def columns(self) -> int:
        return self.last_column - self.first_column + 1

    @property
    def cells(self) -> int:
        return self.rows * self.columns


def column_number(letters: str) -> int:
    """Excel column letters → 1-based number (`A`→1, `AA`→27)."""
    number = 0
    for letter in letters.upper():
        number = number * 26 + (ord(letter) - ord("A") + 1)
    return number


def _first_sheet_part(archive: zipfile.ZipFile, names: set[str]) -> str:
    """Zip path of the workbook's first sheet (the one fastexcel/openpyxl read as index 0)."""

    def parse(name: str) -> ElementTree.Element | None:
        if name not in names or archive.getinfo(name).file_size > _MAX_PART_BYTES:
            return None
        try:
            return ElementTree.fromstring(archive.read(name))
        except Exception:  # malformed or hostile XML: fall back to the conventional name
            return None

    workbook = parse("xl/workbook.xml")
    rels = parse("xl/_rels/workbook.xml.rels")
    if workbook is not None and rels is not None:
        # Match on local names: transitional and strict OOXML use different namespaces.
        sheet = next((el for el in workbook.iter() if el.tag.rsplit("}", 1)[-1] == "sheet"), None)
        rel_id = None
        if sheet is not None:
            rel_id = next((v for k, v in sheet.attrib.items() if k.rsplit("}", 1)[-1] == "id"), None)
        for rel in rels.iter():
            if rel.tag.rsplit("}", 1)[-1] == "Relationship" and rel.get("Id") == rel_id:
                target = rel.get("Target", "")
                part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
                if part in names:
                    return part
    return _DEFAULT_SHEET


def _dimension(archive: zipfile.ZipFile, part: str) -> Dimension | None:
    """The sheet's declared dimension, read from the first kilobytes only."""
    with archive.open(part) as stream:
        head = stream.read(_DIMENSION_PROBE_BYTES)
    match = _DIMENSION.search(head)
    if match is None:
        return None
    first_col, first_row, last_col, last_row = match.groups()
    last_col = last_col or first_col
    last_row = last_row or first_row
    return Dimension(int(first_row), column_number(first_col.decode()),
                     int(last_row), column_number(last_col.decode()))


def check_workbook(data: bytes, *, max_cells: int, max_columns: int,
                   max_uncompressed: int = MAX_UNCOMPRESSED_BYTES) -> Dimension | None:
    """Reject unsafe or non-XLSX bytes from the zip directory alone (nothing is inflated
    except the first kilobytes of the first sheet). Returns the declared dimension."""
    sniff = data[:8]
    if sniff.startswith(b"\xd0\xcf\x11\xe0"):
        sniff_binary(data, "xlsx")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS as error:
        raise SubmissionRejected("file_unreadable", f"not a valid xlsx (zip): {error}"[:200]) from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise SubmissionRejected("spreadsheet_too_large", f"{len(members)} zip members")
        total = sum(member.file_size for member in members)
        if total > max_uncompressed:
            raise SubmissionRejected(
                "spreadsheet_too_large", f"{total} bytes uncompressed > {max_uncompressed}")
        for member in members:
            if (member.file_size > RATIO_CHECK_MIN_BYTES
                    and member.file_size > MAX_COMPRESSION_RATIO * max(member.compress_size, 1)):
                raise SubmissionRejected(
                    "spreadsheet_too_large",
                    f"{member.filename}: {member.file_size} bytes from {member.compress_size}")
        names = {member.filename for member in members}
        if "xl/workbook.xml" not in names:
            raise SubmissionRejected("file_unreadable", "not an xlsx workbook (no xl/workbook.xml)")
        part = _first_sheet_part(archive, names)
        if part not in names:
            raise SubmissionRejected("file_unreadable", "the workbook has no worksheet")
        try:
            dimension = _dimension(archive, part)
        except _ZIP_ERRORS as error:
            raise SubmissionRejected("file_unreadable", str(error)[:200]) from None
    if dimension is not None:
        check_size(dimension.rows, dimension.columns, max_cells=max_cells, max_columns=max_columns)
    return dimension


def check_size(rows: int, columns: int, *, max_cells: int, max_columns: int) -> None:
    """Reject a sheet wider than `max_columns` or larger than `max_cells`."""
    if columns > max_columns:
        raise SubmissionRejected("too_many_columns", f"{columns} > {max_columns}")
    if rows * columns > max_cells:
        raise SubmissionRejected(
            "spreadsheet_too_large", f"{rows} × {columns} = {rows * columns} cells > {max_cells}")


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


def _read_fastexcel(data: bytes, contract: Contract, *, max_cells: int,
                    max_columns: int) -> tuple[list[str | None], pl.DataFrame]:
    """Header and body with fastexcel: a text peek to find the header, then a typed load.

    The body is loaded with types inferred from *all* its rows (the header and title rows
    excluded), so numbers and dates can be rendered exactly; a column mixing text and
    numbers comes back as text.
    """
    reader = fastexcel.read_excel(data)
    if not reader.sheet_names:
        raise SubmissionRejected("empty_file")
    # skip_rows=0 keeps leading blank rows, so row i of the frame is sheet row i + 1.
    peek = reader.load_sheet(0, header_row=None, skip_rows=0, n_rows=HEADER_SEARCH_ROWS,
                             dtypes="string").to_polars()
    if peek.width > max_columns:
        raise SubmissionRejected("too_many_columns", f"{peek.width} > {max_columns}")
    if peek.height == 0:
        raise SubmissionRejected("empty_file")
    top: list[list[str | None]] = [list(row) for row in peek.rows()]
    header_index = find_header(top, header_lookup(contract))
    sheet = reader.load_sheet(0, header_row=None, skip_rows=header_index + 1,
                              schema_sample_rows=None)
    check_size(sheet.height + header_index + 1, sheet.width, max_cells=max_cells,
               max_columns=max_columns)
    body = sheet.to_polars()
    body = _texts(body).rename({old: positional(i) for i, old in enumerate(body.columns)})
    body = body.with_columns(
        (pl.int_range(pl.len(), dtype=pl.Int64) + header_index + 2).alias(SOURCE_ROW))
    header = top[header_index] + [None] * max(0, body.width - 1 - len(top[header_index]))
    return header, body


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


def _rows_openpyxl(data: bytes) -> Iterator[tuple[object, ...]]:
    import openpyxl  # deferred: only needed on the fallback path

    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        if not workbook.worksheets:
            return
        yield from workbook.worksheets[0].iter_rows(values_only=True)
    finally:
        workbook.close()


def read_rows_openpyxl(rows: Iterable[tuple[object, ...]], contract: Contract, *, max_cells: int,
                       max_columns: int) -> tuple[list[str | None], pl.DataFrame]:
    """Header and body from an iterator of row tuples (openpyxl read-only rows start at row 1).

    Fallback path only: it converts cell by cell in Python, bounded by `max_cells`.
    """
    iterator = iter(rows)
    top: list[list[str | None]] = []
    for row in iterator:
        if len(row) > max_columns:
            raise SubmissionRejected("too_many_columns", f"{len(row)} > {max_columns}")
        top.append([cell_text(value) for value in row])
        if len(top) == HEADER_SEARCH_ROWS:
            break
    if not top:
        raise SubmissionRejected("empty_file")
    header_index = find_header(top, header_lookup(contract))
    width = max(len(row) for row in top)
    body_rows: list[list[str | None]] = [row for row in top[header_index + 1:]]
    cells = len(top) * width
    for row in iterator:
        if len(row) > max_columns:
            raise SubmissionRejected("too_many_columns", f"{len(row)} > {max_columns}")
        width = max(width, len(row))
        cells += width
        if cells > max_cells:
            raise SubmissionRejected("spreadsheet_too_large", f"> {max_cells} cells")
        body_rows.append([cell_text(value) for value in row])
    schema = {positional(i): pl.Utf8 for i in range(width)}
    padded = [row + [None] * (width - len(row)) for row in body_rows]
    body = pl.DataFrame(padded, schema=schema, orient="row").with_columns(
        (pl.int_range(pl.len(), dtype=pl.Int64) + header_index + 2).alias(SOURCE_ROW))
    header = top[header_index] + [None] * (width - len(top[header_index]))
    return header, body


def _is_parser_failure(error: BaseException) -> bool:
    """Exceptions a parser may raise on hostile bytes. A Rust panic inside calamine reaches
    Python as `pyo3_runtime.PanicException`, a BaseException, so it is matched by name."""
    return isinstance(error, Exception) or type(error).__name__ == "PanicException"


def read_xlsx(data: bytes, contract: Contract, *, max_cells: int,
              max_columns: int) -> ParsedSubmission:
    """Read the first sheet of an XLSX submission (see the module docstring)."""
    check_workbook(data, max_cells=max_cells, max_columns=max_columns)
    try:
        header, body = _read_fastexcel(data, contract, max_cells=max_cells, max_columns=max_columns)
    except SubmissionRejected:
        raise
    except BaseException as error:
        if not _is_parser_failure(error):
            raise
        if not isinstance(error, fastexcel.FastExcelError):
            # Not calamine saying "cannot read": worth a look, so leave a trace (no values).
            _log.warning("fastexcel failed with %s; reading with openpyxl", type(error).__name__)
        try:
            header, body = read_rows_openpyxl(_rows_openpyxl(data), contract,
                                              max_cells=max_cells, max_columns=max_columns)
        except SubmissionRejected:
            raise
        except Exception as fallback_error:  # any parser failure on untrusted bytes is "unreadable"
            raise SubmissionRejected("file_unreadable", type(fallback_error).__name__) from None
    return assemble(header, body, contract)
