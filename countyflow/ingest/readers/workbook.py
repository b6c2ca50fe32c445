"""The workbook around the cells: its sheets, merged ranges, hidden rows and columns.

calamine (through fastexcel) reads cell values fast but knows nothing of a sheet's layout,
and Chinese county forms carry meaning in it: a township written once in a cell merged
down over its sites, a cancelled site kept as a hidden row. That layout lives in each
sheet's XML — `<col min max hidden>` before the cells, `hidden` on a `<row>`,
`<mergeCell ref>` after them — and is read here by streaming the XML through zlib and
searching the bytes, never building a tree, so a large sheet costs one pass of inflate
plus a few byte searches.

Everything here is bounded before anything is inflated past a limit: the zip directory
is checked first (members, declared sizes, compression ratio), every sheet's declared
`<dimension>` is checked against the cell limit, and while a sheet's XML streams the
bytes actually inflated are counted (a directory can under-declare them) and the number
of merged ranges is capped.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass

from defusedxml import ElementTree

from countyflow.ingest.model import SubmissionRejected
from countyflow.ingest.readers.text import sniff_binary

MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
RATIO_CHECK_MIN_BYTES = 1024 * 1024
MAX_MEMBERS = 10_000
MAX_SHEETS = 255
MAX_MERGED_RANGES = 100_000
"""Far above any real form (a merge per township or school); a million is an attack."""
# What the zip layer raises on corrupt or unsupported members (bad CRC, zlib stream
# errors, encryption, unknown compression methods).
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError, RuntimeError,
              NotImplementedError)
# workbook.xml and its rels are tiny in any real workbook; cap what we parse of them.
_MAX_PART_BYTES = 10 * 1024 * 1024
_DIMENSION_PROBE_BYTES = 64 * 1024
_CHUNK_BYTES = 1 << 20
# Tags searched for are short; a tag cut by a chunk boundary is found in the next pass
# as long as it is shorter than this overlap.
_OVERLAP_BYTES = 4096
_DEFAULT_SHEET = "xl/worksheets/sheet1.xml"
_CELL = rb"\$?([A-Za-z]{1,3})\$?(\d{1,7})"
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\b[^>]*?\bref=\"" + _CELL + rb"(?::" + _CELL + rb")?\"")
_HIDDEN_TAG = re.compile(
    rb"<(?:\w+:)?(row|col)\s[^>]*?\bhidden\s*=\s*[\"'](?:1|true)[\"'][^>]*>")
_ROW_NUMBER = re.compile(rb"\br\s*=\s*[\"'](\d{1,7})[\"']")
_COL_MIN = re.compile(rb"\bmin\s*=\s*[\"'](\d{1,5})[\"']")
_COL_MAX = re.compile(rb"\bmax\s*=\s*[\"'](\d{1,5})[\"']")
_MERGE = re.compile(rb"<(?:\w+:)?mergeCell\s[^>]*?\bref\s*=\s*\"" + _CELL + rb"(?::" + _CELL + rb")?\"")
_MAX_COLUMN = 16_384


@dataclass(frozen=True)
class CellRange:
    """A rectangle of cells, 1-based and inclusive (`B3:D9` → rows 3–9, columns 2–4)."""

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


Dimension = CellRange
"""The `<dimension ref=…>` a sheet declares."""


@dataclass(frozen=True)
class SheetLayout:
    """What a sheet's XML says beyond its values (1-based sheet rows and columns)."""

    hidden_rows: frozenset[int] = frozenset()
    hidden_columns: frozenset[int] = frozenset()
    merged: tuple[CellRange, ...] = ()


@dataclass(frozen=True)
class SheetEntry:
    """One sheet in workbook order: its tab name and the zip part holding its XML."""

    name: str
    part: str | None
    visible: bool = True
    """False for a sheet hidden (`state="hidden"` or `veryHidden`) in workbook.xml."""


def column_number(letters: str) -> int:
    """Excel column letters → 1-based number (`A`→1, `AA`→27)."""
    number = 0
    for letter in letters.upper():
        number = number * 26 + (ord(letter) - ord("A") + 1)
    return number


def column_letters(number: int) -> str:
    """1-based column number → Excel letters (27 → `AA`)."""
    letters = ""
    while number > 0:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _cell_range(groups: tuple[bytes | None, ...]) -> CellRange:
    first_col, first_row, last_col, last_row = groups
    last_col = last_col or first_col
    last_row = last_row or first_row
    assert first_col is not None and first_row is not None and last_col is not None and last_row is not None
    rows = sorted((int(first_row), int(last_row)))
    columns = sorted((column_number(first_col.decode()), column_number(last_col.decode())))
    return CellRange(rows[0], columns[0], rows[1], columns[1])


def check_size(rows: int, columns: int, *, max_cells: int, max_columns: int) -> None:
    """Reject a sheet wider than `max_columns` or larger than `max_cells`."""
    if columns > max_columns:
        raise SubmissionRejected("too_many_columns", f"{columns} > {max_columns}")
    if rows * columns > max_cells:
        raise SubmissionRejected(
            "spreadsheet_too_large", f"{rows} × {columns} = {rows * columns} cells > {max_cells}")


def _local(tag: str) -> str:
    # Match on local names: transitional and strict OOXML use different namespaces.
    return tag.rsplit("}", 1)[-1]


class Workbook:
    """An XLSX's zip, checked, with its sheets in workbook order (see the module docstring).

    Construct with `open_workbook`; use as a context manager or call `close`.
    """

    def __init__(self, archive: zipfile.ZipFile, sheets: list[SheetEntry],
                 max_uncompressed: int) -> None:
        self._archive = archive
        self.sheets = sheets
        self._max_uncompressed = max_uncompressed

    def __enter__(self) -> Workbook:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._archive.close()

    def part(self, name: str) -> str | None:
        """The zip part of the sheet called `name` (None when the workbook does not say)."""
        for sheet in self.sheets:
            if sheet.name == name:
                return sheet.part
        return None

    def visible(self, name: str) -> bool:
        """False when workbook.xml hides the sheet (a sheet it does not list counts as visible)."""
        return all(sheet.visible for sheet in self.sheets if sheet.name == name)

    def dimension(self, part: str) -> Dimension | None:
        """The sheet's declared dimension, read from its first kilobytes only."""
        try:
            with self._archive.open(part) as stream:
                head = stream.read(_DIMENSION_PROBE_BYTES)
        except ZIP_ERRORS as error:
            raise SubmissionRejected("file_unreadable", str(error)[:200]) from None
        match = _DIMENSION.search(head)
        return None if match is None else _cell_range(match.groups())

    def layout(self, part: str | None) -> SheetLayout:
        """Hidden rows and columns and merged ranges of one sheet, streamed (module docstring)."""
        if part is None:
            return SheetLayout()
        hidden_rows: set[int] = set()
        hidden_columns: set[int] = set()
        merged: list[CellRange] = []
        inflated = 0
        carry = b""
        try:
            with self._archive.open(part) as stream:
                while chunk := stream.read(_CHUNK_BYTES):
                    inflated += len(chunk)
                    if inflated > self._max_uncompressed:
                        raise SubmissionRejected(
                            "spreadsheet_too_large",
                            f"{part}: more than {self._max_uncompressed} bytes uncompressed")
                    buffer = carry + chunk
                    seen = len(carry)
                    if b"hidden" in buffer:
                        _hidden(buffer, seen, hidden_rows, hidden_columns)
                    if b"mergeCell" in buffer:
                        merged.extend(match for match in _merges(buffer, seen))
                        if len(merged) > MAX_MERGED_RANGES:
                            raise SubmissionRejected(
                                "too_many_merged_ranges", f"> {MAX_MERGED_RANGES}")
                    carry = buffer[-_OVERLAP_BYTES:]
        except ZIP_ERRORS as error:
            raise SubmissionRejected("file_unreadable", str(error)[:200]) from None
        return SheetLayout(frozenset(hidden_rows), frozenset(hidden_columns), tuple(merged))


def _hidden(buffer: bytes, seen: int, rows: set[int], columns: set[int]) -> None:
    """Add the hidden rows and columns whose tags end past `seen` (not found before).

    Each `hidden` is found by a byte search and only its own tag is matched: a regex
    scan over every tag of the sheet would cost far more than inflating it.
    """
    position = buffer.find(b"hidden")
    while position >= 0:
        start = buffer.rfind(b"<", 0, position)
        position = buffer.find(b"hidden", position + 6)
        match = _HIDDEN_TAG.match(buffer, start) if start >= 0 else None
        if match is None or match.end() <= seen:
            continue
        tag = match.group(0)
        if match.group(1) == b"row":
            number = _ROW_NUMBER.search(tag)
            if number is not None:
                rows.add(int(number.group(1)))
            continue
        low, high = _COL_MIN.search(tag), _COL_MAX.search(tag)
        if low is None:
            continue
        first = int(low.group(1))
        last = int(high.group(1)) if high is not None else first
        # A `<col>` may span to column 16384 (Excel writes that for "hide the rest").
        columns.update(range(max(first, 1), min(last, _MAX_COLUMN) + 1))


def _merges(buffer: bytes, seen: int) -> list[CellRange]:
    """Merged ranges whose tags end past `seen`; the regex starts at the first `<mergeCell`
    (they sit together after the cells)."""
    start = buffer.find(b"mergeCell")
    start = max(buffer.rfind(b"<", 0, start), 0)
    return [_cell_range(match.groups()) for match in _MERGE.finditer(buffer, start) if match.end() > seen]


def _sheet_entries(archive: zipfile.ZipFile, names: set[str]) -> list[SheetEntry]:
    """Sheets in workbook order with their parts, from workbook.xml and its rels."""

    def parse(name: str) -> ElementTree.Element | None:
        if name not in names or archive.getinfo(name).file_size > _MAX_PART_BYTES:
            return None
        try:
            return ElementTree.fromstring(archive.read(name))
        except Exception:  # malformed or hostile XML: no layout, values still read
            return None

    workbook = parse("xl/workbook.xml")
    rels = parse("xl/_rels/workbook.xml.rels")
    if workbook is None:
        return []
    targets: dict[str, str] = {}
    if rels is not None:
        for rel in rels.iter():
            if _local(rel.tag) == "Relationship" and rel.get("Id"):
                target = rel.get("Target", "")
                targets[str(rel.get("Id"))] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    entries: list[SheetEntry] = []
    for element in workbook.iter():
        if _local(element.tag) != "sheet":
            continue
        rel_id = next((v for k, v in element.attrib.items() if _local(k) == "id"), None)
        part = targets.get(rel_id) if rel_id else None
        entries.append(SheetEntry(element.get("name", ""), part if part in names else None,
                                  element.get("state", "visible") == "visible"))
        if len(entries) > MAX_SHEETS:
            raise SubmissionRejected("spreadsheet_too_large", f"> {MAX_SHEETS} sheets")
    return entries


def open_workbook(data: bytes, *, max_cells: int, max_columns: int,
                  max_uncompressed: int = MAX_UNCOMPRESSED_BYTES) -> Workbook:
    """Check the zip from its directory alone and list the sheets; every sheet's declared
    dimension must fit the limits (nothing is inflated but the first kilobytes of each)."""
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        sniff_binary(data, "xlsx")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except ZIP_ERRORS as error:
        raise SubmissionRejected("file_unreadable", f"not a valid xlsx (zip): {error}"[:200]) from None
    try:
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
        sheets = _sheet_entries(archive, names)
        if not any(sheet.part for sheet in sheets):
            if _DEFAULT_SHEET not in names:
                raise SubmissionRejected("file_unreadable", "the workbook has no worksheet")
            sheets = [SheetEntry(sheets[0].name if sheets else "Sheet1", _DEFAULT_SHEET)]
        workbook = Workbook(archive, sheets, max_uncompressed)
        for sheet in sheets:
            dimension = workbook.dimension(sheet.part) if sheet.part else None
            if dimension is not None:
                check_size(dimension.rows, dimension.columns, max_cells=max_cells,
                           max_columns=max_columns)
    except BaseException:
        archive.close()
        raise
    return workbook
