"""Generate submission files for tests (no binary fixtures are committed).

Rows are lists of cell values; `None` is an empty cell. XLSX files are written with
xlsxwriter so dates are real Excel date cells and numbers real number cells.
"""

from __future__ import annotations

import csv
import io
import json
import re
import struct
import zipfile
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

import xlsxwriter

Row = Sequence[object]

SITES_HEADER: list[str] = [
    "县（区）代码", "托管点编码", "托管点名称", "托管点类型", "开始日期", "结束日期",
    "每日托管时长", "托管儿童数", "其中留守儿童数",
]


def site_row(index: int, *, county: str = "530602") -> list[object]:
    """One valid-looking childcare_sites row (values as a clerk would type them)."""
    return [county, f"ZY-{index:04d}", f"第{index}托管点", "学校", "2025-07-06", "2025-08-10",
            "5.5", str(900 + index), str(300 + index)]


def csv_bytes(rows: Sequence[Row], *, encoding: str = "utf-8", bom: bool = False,
              newline: str = "\r\n") -> bytes:
    """CSV as Excel writes it (CRLF, minimal quoting), in the given encoding."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    data = buffer.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def xlsx_bytes(rows: Sequence[Row], *, first_row: int = 0, first_col: int = 0) -> bytes:
    """An XLSX whose first sheet holds `rows` from (first_row, first_col), 0-based."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet("Sheet1")
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    datetime_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    time_format = workbook.add_format({"num_format": "hh:mm:ss"})
    elapsed_format = workbook.add_format({"num_format": "[h]:mm:ss"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            at = (first_row + r, first_col + c)
            if value is None:
                continue
            if isinstance(value, datetime):
                sheet.write_datetime(*at, value, datetime_format)
            elif isinstance(value, date):
                sheet.write_datetime(*at, datetime(value.year, value.month, value.day), date_format)
            elif isinstance(value, time):
                sheet.write_datetime(*at, value, time_format)
            elif isinstance(value, timedelta):
                sheet.write_number(*at, value.total_seconds() / 86400, elapsed_format)
            elif isinstance(value, bool):
                sheet.write_boolean(*at, value)
            elif isinstance(value, int | float):
                sheet.write_number(*at, value)
            else:
                sheet.write_string(*at, str(value))
    workbook.close()
    return buffer.getvalue()


def json_bytes(document: object) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def replace_member(xlsx: bytes, member: str, content: bytes, *,
                   compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A copy of a zip with one member's content replaced."""
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as target:
        for info in source.infolist():
            data = content if info.filename == member else source.read(info.filename)
            target.writestr(info.filename, data, compress_type=compression)
    return buffer.getvalue()


def strip_dimension(xlsx: bytes) -> bytes:
    """The same workbook without `<dimension>` in its first sheet (some writers omit it)."""
    sheet = zipfile.ZipFile(io.BytesIO(xlsx)).read("xl/worksheets/sheet1.xml")
    return replace_member(xlsx, "xl/worksheets/sheet1.xml",
                          re.sub(rb"<dimension[^>]*/>", b"", sheet))


def zip_bomb_xlsx(megabytes: int = 20) -> bytes:
    """A workbook whose sheet XML is `megabytes` MB of identical rows: compresses > 500:1.

    Streamed into the zip chunk by chunk, so building it stays fast and small.
    """
    shell = xlsx_bytes([["县（区）代码", "托管点编码"], ["530602", "ZY-0001"]])
    source = zipfile.ZipFile(io.BytesIO(shell))
    row = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>'
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                target.writestr(info.filename, source.read(info.filename))
                continue
            with target.open(info.filename, "w", force_zip64=True) as stream:
                stream.write(b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.'
                             b'org/spreadsheetml/2006/main"><sheetData>')
                block = row * 20_000
                for _ in range(megabytes * 1024 * 1024 // len(block)):
                    stream.write(block)
                stream.write(b"</sheetData></worksheet>")
    return buffer.getvalue()


def forge_uncompressed_size(archive: bytes, member: str, size: int) -> bytes:
    """Patch the central directory so `member` claims `size` uncompressed bytes.

    A directory can lie; this checks the size guard reads the directory (instant) and
    never needs to inflate anything to reject.
    """
    data = bytearray(archive)
    signature = b"PK\x01\x02"
    name = member.encode()
    position = data.find(signature)
    while position >= 0:
        name_length = struct.unpack_from("<H", data, position + 28)[0]
        if bytes(data[position + 46: position + 46 + name_length]) == name:
            struct.pack_into("<I", data, position + 24, size)
            return bytes(data)
        position = data.find(signature, position + 4)
    raise KeyError(member)


SHEET_XML = "xl/worksheets/sheet1.xml"


def sheet_with_cell(reference: str, *, first: bool = False) -> bytes:
    """A small valid sites workbook without `<dimension>`, plus one cell at `reference`
    (in a row of its own, placed after the data or, `first`, before it)."""
    data = strip_dimension(xlsx_bytes([SITES_HEADER, site_row(1), site_row(2)]))
    sheet = zipfile.ZipFile(io.BytesIO(data)).read(SHEET_XML)
    row = int(re.sub(r"[A-Z]", "", reference))
    far = b'<row r="%d"><c r="%s" t="inlineStr"><is><t>x</t></is></c></row>' % (row, reference.encode())
    if first:
        sheet = sheet.replace(b"<sheetData>", b"<sheetData>" + far, 1)
    else:
        sheet = sheet.replace(b"</sheetData>", far + b"</sheetData>", 1)
    return replace_member(data, SHEET_XML, sheet)


def billion_laughs_sheet() -> bytes:
    """Sheet XML whose one cell is `&lol9;` of a billion-laughs DTD (10⁹ `lol`s if expanded)."""
    return (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            + b"".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
                       for i in range(1, 10))
            + b']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
            b"</sheetData></worksheet>")


class Sheet:
    """One worksheet as a clerk lays it out in Excel or WPS, for `workbook_bytes`.

    `rows` start at A1 (`None` is an empty cell, a date becomes a date cell, a number a
    number cell); `merge` holds (first_row, first_col, last_row, last_col) 0-based ranges,
    the value written in the top-left cell only (as Excel keeps it); `hidden_rows` and
    `hidden_columns` are 0-based.
    """

    def __init__(self, name: str, rows: Sequence[Row], *,
                 merge: Sequence[tuple[int, int, int, int]] = (),
                 hidden_rows: Sequence[int] = (), hidden_columns: Sequence[int] = (),
                 hidden: bool = False) -> None:
        self.name = name
        self.rows = rows
        self.merge = merge
        self.hidden_rows = hidden_rows
        self.hidden_columns = hidden_columns
        self.hidden = hidden


def workbook_bytes(*sheets: Sheet) -> bytes:
    """An XLSX holding `sheets` in order, with their merged ranges and hidden rows/columns."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    for spec in sheets:
        sheet = workbook.add_worksheet(spec.name)
        merged_cells = {(r, c) for r1, c1, r2, c2 in spec.merge
                        for r in range(r1, r2 + 1) for c in range(c1, c2 + 1) if (r, c) != (r1, c1)}
        for r1, c1, r2, c2 in spec.merge:
            value = spec.rows[r1][c1] if r1 < len(spec.rows) and c1 < len(spec.rows[r1]) else None
            sheet.merge_range(r1, c1, r2, c2, None)
            _write(sheet, r1, c1, value, date_format)
        for r, row in enumerate(spec.rows):
            for c, value in enumerate(row):
                if (r, c) in merged_cells or any((r, c) == (r1, c1) for r1, c1, _, _ in spec.merge):
                    continue
                _write(sheet, r, c, value, date_format)
        for r in spec.hidden_rows:
            sheet.set_row(r, None, None, {"hidden": True})
        for c in spec.hidden_columns:
            sheet.set_column(c, c, None, None, {"hidden": True})
        if spec.hidden:
            sheet.hide()
    workbook.close()
    return buffer.getvalue()


def _write(sheet: xlsxwriter.worksheet.Worksheet, r: int, c: int, value: object,
           date_format: xlsxwriter.format.Format) -> None:
    if value is None:
        return
    if isinstance(value, date):
        sheet.write_datetime(r, c, datetime(value.year, value.month, value.day), date_format)
    elif isinstance(value, bool):
        sheet.write_boolean(r, c, value)
    elif isinstance(value, int | float):
        sheet.write_number(r, c, value)
    else:
        sheet.write_string(r, c, str(value))
