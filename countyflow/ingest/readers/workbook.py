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

import html
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
_MERGE = re.compile(rb"<(?:\w+:)?mergeCell\s[^>]*?\bref\s*=\s*[\"']" + _CELL + rb"(?::" + _CELL + rb")?[\"']")
_ANY_ROW_TAG = re.compile(rb"<(?:\w+:)?row\s[^>]*?\br\s*=\s*[\"'](\d{1,7})[\"']")
# A cell reference with a column of two or three letters (AA…XFD): rare in county forms,
# so this search is cheap, and it finds a cell placed far to the right by a hostile file.
_WIDE_CELL = re.compile(rb" r=\"([A-Za-z]{2,3})\d")
_WIDE_CELL_ANY = re.compile(rb"\sr\s*=\s*[\"']([A-Za-z]{2,3})\d")
_ANY_CELL_COLUMN = re.compile(rb"<(?:\w+:)?c\s[^>]*?\br\s*=\s*[\"']([A-Za-z]{1,3})\d")
_NARROW_WIDTH = 26
"""Columns A–Z: the width assumed for rows whose tags do not say (`spans`) when no cell
lies beyond Z — enough for every county form, and a bound for the extent check."""
_TOP_PROBE_BYTES = 4 * 1024 * 1024
_CELL_TAG = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(/>|>(.*?)</(?:\w+:)?c>)", re.DOTALL)
_ATTR_REF = re.compile(rb"\br\s*=\s*[\"']([A-Za-z]{1,3})(\d{1,7})[\"']")
_ATTR_TYPE = re.compile(rb"\bt\s*=\s*[\"'](\w+)[\"']")
_VALUE = re.compile(rb"<(?:\w+:)?v>(.*?)</(?:\w+:)?v>", re.DOTALL)
_TEXT = re.compile(rb"<(?:\w+:)?t(?:\s[^>]*)?>(.*?)</(?:\w+:)?t>", re.DOTALL)
_PHONETIC = re.compile(rb"<(?:\w+:)?rPh\b.*?</(?:\w+:)?rPh>", re.DOTALL)
_ROW_BLOCK = re.compile(rb"<(?:\w+:)?row\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?row>)", re.DOTALL)
_SHARED_ITEM = re.compile(rb"<(?:\w+:)?si\b[^>]*>(.*?)</(?:\w+:)?si>|<(?:\w+:)?si\s*/>", re.DOTALL)
_SHARED_STRINGS = "xl/sharedStrings.xml"
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
    """What a sheet's XML says beyond its values (1-based sheet rows and columns), and how
    far its cells reach (`last_row` × `width` bounds what a reader allocates)."""

    hidden_rows: frozenset[int] = frozenset()
    hidden_columns: frozenset[int] = frozenset()
    merged: tuple[CellRange, ...] = ()
    last_row: int = 0
    width: int = 0


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
                 max_uncompressed: int, max_cells: int | None = None) -> None:
        self._archive = archive
        self.sheets = sheets
        self._max_uncompressed = max_uncompressed
        self._max_cells = max_cells

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
        extent = _Extent()
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
                    extent.scan(buffer)
                    carry = buffer[-_OVERLAP_BYTES:]
        except ZIP_ERRORS as error:
            raise SubmissionRejected("file_unreadable", str(error)[:200]) from None
        width = extent.width
        if self._max_cells is not None and extent.last_row * width > self._max_cells:
            width = self.exact_width(part)
        return SheetLayout(frozenset(hidden_rows), frozenset(hidden_columns), tuple(merged),
                           extent.last_row, width)

    def exact_width(self, part: str) -> int:
        """The rightmost column holding a cell, from every cell reference (a second pass,
        only for a sheet whose estimated extent is over the limit)."""
        width = 0
        carry = b""
        try:
            with self._archive.open(part) as stream:
                while chunk := stream.read(_CHUNK_BYTES):
                    buffer = carry + chunk
                    letters = set(_ANY_CELL_COLUMN.findall(buffer))
                    if letters:
                        width = max(width, max(column_number(text.decode()) for text in letters))
                    carry = buffer[-_OVERLAP_BYTES:]
        except ZIP_ERRORS as error:
            raise SubmissionRejected("file_unreadable", str(error)[:200]) from None
        return width

    def top_rows(self, part: str | None, rows: int) -> list[list[str | None]] | None:
        """The sheet's first `rows` rows as text, column A first, read from the XML itself:
        enough to find the header without having a reader load the whole sheet. Numbers
        come as written in the XML (no date styles: a header needs none). None when the
        XML is not laid out as expected, so the caller asks the reader instead."""
        if part is None:
            return None
        head = b""
        try:
            with self._archive.open(part) as stream:
                # Small reads: the first rows are near the start of any sheet.
                while len(head) < _TOP_PROBE_BYTES and (chunk := stream.read(_TOP_CHUNK_BYTES)):
                    head += chunk
                    if b"</sheetData>" in head or _row_after(head, rows):
                        break
        except ZIP_ERRORS as error:
            raise SubmissionRejected("file_unreadable", str(error)[:200]) from None
        start = head.find(b"sheetData")
        if start < 0:
            return None
        cells: list[tuple[int, int, str | None, bytes]] = []  # row, column, type, content
        shared: set[int] = set()
        next_row = 1
        for block in _ROW_BLOCK.finditer(head, start):
            number = _ATTR_REF_ROW.search(block.group(1))
            row = int(number.group(1)) if number else next_row
            next_row = row + 1
            if row > rows:
                break
            next_column = 1
            for cell in _CELL_TAG.finditer(block.group(2) or b""):
                attributes, content = cell.group(1), cell.group(3) or b""
                reference = _ATTR_REF.search(attributes)
                column = column_number(reference.group(1).decode()) if reference else next_column
                next_column = column + 1
                kind = _ATTR_TYPE.search(attributes)
                cell_type = kind.group(1).decode() if kind else None
                if column > MAX_COLUMNS_PEEKED:
                    return None
                cells.append((row, column, cell_type, content))
                if cell_type == "s" and (value := _VALUE.search(content)) and value.group(1).strip().isdigit():
                    shared.add(int(value.group(1)))
        else:
            if b"</sheetData>" not in head and not _row_after(head, rows):
                return None  # the first rows do not fit the probe: let the reader do it
        strings = self._shared_strings(shared)
        grid: list[list[str | None]] = [[] for _ in range(rows)]
        for row, column, cell_type, content in cells:
            line = grid[row - 1]
            line.extend([None] * (column - len(line)))
            line[column - 1] = _cell_text(cell_type, content, strings)
        while grid and not grid[-1]:
            grid.pop()
        return grid

    def _shared_strings(self, wanted: set[int]) -> dict[int, str]:
        """The shared strings at `wanted` indices, streamed only as far as the largest."""
        if not wanted or _SHARED_STRINGS not in self._archive.namelist():
            return {}
        last = max(wanted)
        found: dict[int, str] = {}
        index = 0
        carry = b""
        try:
            with self._archive.open(_SHARED_STRINGS) as stream:
                while index <= last and (chunk := stream.read(_CHUNK_BYTES)):
                    buffer = carry + chunk
                    end = 0
                    for item in _SHARED_ITEM.finditer(buffer):
                        if index in wanted:
                            found[index] = _joined_text(item.group(1) or b"")
                        index += 1
                        end = item.end()
                        if index > last:
                            break
                    carry = buffer[end:]
                    if len(carry) > self._max_uncompressed:
                        break
        except ZIP_ERRORS as error:
            raise SubmissionRejected("file_unreadable", str(error)[:200]) from None
        return found


MAX_COLUMNS_PEEKED = _MAX_COLUMN
_TOP_CHUNK_BYTES = 64 * 1024


def _row_after(head: bytes, rows: int) -> bool:
    """Has the XML read so far reached a row past the first `rows` (so they are complete)?"""
    last = head.rfind(b'<row r="')
    if last < 0:
        return False
    number = _ROW_NUMBER.search(head, last)
    return number is not None and int(number.group(1)) > rows
_ATTR_REF_ROW = re.compile(rb"\br\s*=\s*[\"'](\d{1,7})[\"']")


def _joined_text(content: bytes) -> str:
    """A string item's text: its `<t>` runs joined (rich text), phonetic guides left out."""
    content = _PHONETIC.sub(b"", content)
    return html.unescape(b"".join(_TEXT.findall(content)).decode("utf-8", "replace"))


def _cell_text(cell_type: str | None, content: bytes, strings: dict[int, str]) -> str | None:
    """One cell of the peeked rows as text (see `Workbook.top_rows`)."""
    if cell_type == "inlineStr":
        return _joined_text(content) or None
    value = _VALUE.search(content)
    if value is None:
        return None
    text = html.unescape(value.group(1).decode("utf-8", "replace"))
    if cell_type == "s":
        return strings.get(int(text)) if text.strip().isdigit() else None
    if cell_type == "b":
        return "true" if text.strip() == "1" else "false"
    if cell_type in (None, "n"):
        try:
            number = float(text)
        except ValueError:
            return text or None
        return str(int(number)) if number.is_integer() and abs(number) < 2**53 else repr(number)
    return text or None


class _Extent:
    """How far a sheet's cells reach, found while its XML streams by, with byte searches
    rather than a match per row: the last row (rows come in order; a longer row number
    anywhere, as a hostile file would place first, is looked for and counted), and the
    width: columns A–Z, widened to any cell reference beyond Z (two or three letters).
    `Workbook.layout` narrows the width from the cells themselves only when the estimate
    would exceed the cell limit, i.e. for the rare very tall sheet."""

    def __init__(self) -> None:
        self.last_row = 0
        self._wide = 0
        self.irregular = False
        """Rows written without `r` first, with a prefix, or out of order."""

    @property
    def width(self) -> int:
        return max(_NARROW_WIDTH if self.last_row else 0, self._wide)

    def scan(self, buffer: bytes) -> None:
        # Matches inside the overlap with the previous buffer are looked at again:
        # harmless for a maximum.
        last = buffer.rfind(b'<row r="')
        if last >= 0:
            number = _ROW_NUMBER.search(buffer, last)
            if number is not None:
                self.last_row = max(self.last_row, int(number.group(1)))
        digits = len(str(self.last_row)) if self.last_row else 0
        longer = re.compile(rb'<row r="\d{%d,}"' % (digits + 1)) if digits < 7 else None
        if (longer is not None and longer.search(buffer)) or (last < 0 and b"row" in buffer
                                                                and _ANY_ROW_TAG.search(buffer)):
            self.irregular = True
            numbers = [int(number) for number in _ANY_ROW_TAG.findall(buffer)]
            if numbers:
                self.last_row = max(self.last_row, max(numbers))
        if _WIDE_CELL.search(buffer) is not None:
            self._wide = max(self._wide, max(column_number(letters.decode())
                                             for letters in _WIDE_CELL.findall(buffer)))
        elif b" r='" in buffer and _WIDE_CELL_ANY.search(buffer) is not None:
            self._wide = max(self._wide, max(column_number(letters.decode())
                                             for letters in _WIDE_CELL_ANY.findall(buffer)))


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


def _count_inflated(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], budget: int) -> None:
    """Inflate `members` (the parts a reader loads whole: shared strings, styles, the
    workbook) counting the bytes they really hold, since a directory can under-declare
    them; stop at `budget`. Sheets are counted as they stream (`Workbook.layout`)."""
    total = 0
    try:
        for member in members:
            with archive.open(member) as stream:
                while chunk := stream.read(_CHUNK_BYTES):
                    total += len(chunk)
                    if total > budget:
                        raise SubmissionRejected(
                            "spreadsheet_too_large",
                            f"{member.filename}: more than {budget} bytes uncompressed")
    except ZIP_ERRORS as error:
        raise SubmissionRejected("file_unreadable", str(error)[:200]) from None


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
        _count_inflated(archive, [m for m in members if not m.filename.startswith("xl/worksheets/")],
                        max_uncompressed)
        if "xl/workbook.xml" not in names:
            raise SubmissionRejected("file_unreadable", "not an xlsx workbook (no xl/workbook.xml)")
        sheets = _sheet_entries(archive, names)
        if not any(sheet.part for sheet in sheets):
            if _DEFAULT_SHEET not in names:
                raise SubmissionRejected("file_unreadable", "the workbook has no worksheet")
            sheets = [SheetEntry(sheets[0].name if sheets else "Sheet1", _DEFAULT_SHEET)]
        workbook = Workbook(archive, sheets, max_uncompressed, max_cells)
        for sheet in sheets:
            dimension = workbook.dimension(sheet.part) if sheet.part else None
            if dimension is not None:
                check_size(dimension.rows, dimension.columns, max_cells=max_cells,
                           max_columns=max_columns)
    except BaseException:
        archive.close()
        raise
    return workbook
