"""Workbooks whose true extent the directory and `<dimension>` do not tell (issue 11 §2).

calamine allocates a sheet as a dense grid from its first to its last cell, so one cell at
XFD1048576 in a 10 kB file asks for 17 billion cells. The reader must find the extent from
the XML itself and refuse the sheet before any spreadsheet library sees it: every test here
makes calamine (and openpyxl) unusable and expects the rejection anyway.
"""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from countyflow.ingest.model import SubmissionRejected
from countyflow.ingest.read import read_submission
from countyflow.ingest.readers import xlsx_file
from schemas import CONTRACTS
from tests.ingest.files import (
    SHEET_XML,
    SITES_HEADER,
    forge_uncompressed_size,
    replace_member,
    sheet_with_cell,
    site_row,
    xlsx_bytes,
)

SITES = CONTRACTS["childcare_sites"]
LIMITS = {"max_cells": 5_000_000, "max_columns": 500}
SHEET = SHEET_XML


@pytest.fixture
def no_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rejection must come before calamine or openpyxl would allocate the sheet."""

    def refuse(*_args: object, **_kwargs: object) -> object:
        raise AssertionError("a spreadsheet library was asked to load the sheet")

    monkeypatch.setattr(xlsx_file.fastexcel, "read_excel", refuse)
    monkeypatch.setattr(xlsx_file.OpenpyxlSheets, "__init__", refuse)


def rule_of(data: bytes) -> str:
    with pytest.raises(SubmissionRejected) as caught:
        read_submission(data, extension="xlsx", contract=SITES, **LIMITS)
    return caught.value.rule


def test_one_cell_at_the_last_cell_of_excel_is_refused(no_reader: None) -> None:
    data = sheet_with_cell("XFD1048576")
    assert len(data) < 20_000
    assert rule_of(data) == "too_many_columns"


def test_one_cell_at_the_last_row_is_refused(no_reader: None) -> None:
    # 1,048,576 rows × the 9 columns of the table: past 5 million cells.
    assert rule_of(sheet_with_cell("I1048576")) == "spreadsheet_too_large"


def test_a_far_row_placed_first_is_still_found(no_reader: None) -> None:
    assert rule_of(sheet_with_cell("I1048576", first=True)) == "spreadsheet_too_large"


def test_a_tall_narrow_sheet_within_the_limit_is_read() -> None:
    """The extent estimate (A–Z) is refined from the cells before refusing: 300,000 rows
    of a 9-column table is 2.7 million cells, under the limit."""
    parsed = read_submission(sheet_with_cell("I300000"), extension="xlsx", contract=SITES, **LIMITS)
    assert parsed.frame["site_code"].to_list()[:2] == ["ZY-0001", "ZY-0002"]


def test_rows_written_without_r_first_are_counted(no_reader: None) -> None:
    data = sheet_with_cell("I1048576")
    sheet = zipfile.ZipFile(io.BytesIO(data)).read(SHEET)
    # Another writer's attribute order: `<row spans=… r=…>`.
    sheet = re.sub(rb'<row r="(\d+)"', rb'<row ht="15" r="\1"', sheet)
    assert rule_of(replace_member(data, SHEET, sheet)) == "spreadsheet_too_large"


def test_a_million_hidden_row_tags_do_not_hang() -> None:
    rows = b"".join(b'<row r="%d" hidden="1"/>' % r for r in range(10, 200_010))
    data = xlsx_bytes([SITES_HEADER, site_row(1)])
    sheet = zipfile.ZipFile(io.BytesIO(data)).read(SHEET).replace(b"</sheetData>", rows + b"</sheetData>")
    parsed = read_submission(replace_member(data, SHEET, sheet), extension="xlsx", contract=SITES,
                             max_cells=50_000_000, max_columns=500)
    assert parsed.frame.height == 1


@pytest.mark.parametrize("member", ["xl/sharedStrings.xml", SHEET])
def test_parts_larger_than_declared_are_refused(no_reader: None, member: str) -> None:
    """The directory says 100 bytes. Every part a reader would load whole is streamed
    first; zip stops at the declared size and the checksum then fails, so the lie is
    refused having inflated 100 bytes — calamine would have inflated all of it."""
    data = xlsx_bytes([SITES_HEADER, *(site_row(i) for i in range(200))])
    forged = forge_uncompressed_size(data, member, 100)
    with pytest.raises(SubmissionRejected) as caught:
        read_submission(forged, extension="xlsx", contract=SITES, **LIMITS)
    assert caught.value.rule == "file_unreadable"
    assert "CRC" in caught.value.detail


def test_header_is_found_from_the_sheet_xml_without_a_reader_peek(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first rows come from the XML (shared and inline strings, rich text): the reader
    loads only the body of the sheet it reads."""
    loads: list[int] = []
    original = xlsx_file.CalamineSheets.top

    def counting(self: xlsx_file.CalamineSheets, name: str) -> object:
        loads.append(1)
        return original(self, name)

    monkeypatch.setattr(xlsx_file.CalamineSheets, "top", counting)
    parsed = read_submission(xlsx_bytes([["标题"], SITES_HEADER, site_row(1)]), extension="xlsx",
                             contract=SITES, **LIMITS)
    assert parsed.frame["site_code"].to_list() == ["ZY-0001"]
    assert loads == []


def test_an_external_entity_is_never_resolved_and_the_clerk_is_told_why() -> None:
    """A DTD in the shared strings (XXE to /etc/passwd): refused, nothing of the file it
    names read, and the message says what is wrong instead of a Python class name."""
    from tests.hostile.builders import far_string_xxe

    with pytest.raises(SubmissionRejected) as caught:
        read_submission(far_string_xxe("530602"), extension="xlsx", contract=SITES, **LIMITS)
    assert caught.value.rule == "file_unreadable"
    assert "DTD" in caught.value.detail and "root:" not in caught.value.detail
