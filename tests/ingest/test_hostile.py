"""Hostile and broken inputs: every one ends in a `SubmissionRejected` with a precise rule,
within bounded memory, and nothing else escapes the reader."""

from __future__ import annotations

import contextlib
import gc
import io
import json
import random
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from countyflow.ingest.model import SubmissionRejected
from countyflow.ingest.read import read_submission
from countyflow.ingest.readers import xlsx_file
from countyflow.ingest.validate import validate_submission
from countyflow.periods import parse_period
from schemas import CONTRACTS
from tests.ingest.files import (
    SHEET_XML,
    SITES_HEADER,
    billion_laughs_sheet,
    csv_bytes,
    forge_uncompressed_size,
    json_bytes,
    replace_member,
    site_row,
    strip_dimension,
    xlsx_bytes,
    zip_bomb_xlsx,
)

SITES = CONTRACTS["childcare_sites"]
LIMITS = {"max_cells": 100_000, "max_columns": 500}
MEMORY_BOUND = 50 * 1024 * 1024


def rule_of(data: bytes, extension: str, **limits: int) -> str:
    with pytest.raises(SubmissionRejected) as caught:
        read_submission(data, extension=extension, contract=SITES, **{**LIMITS, **limits})
    return caught.value.rule


def peak_bytes(action: Callable[[], object]) -> int:
    """Peak Python allocation while running `action` (the rejection is expected)."""
    gc.collect()
    tracemalloc.start()
    try:
        with pytest.raises(SubmissionRejected):
            action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def bomb() -> Iterator[bytes]:
    yield zip_bomb_xlsx(megabytes=20)


def garbage(size: int = 4096, seed: int = 20250706) -> bytes:
    return random.Random(seed).randbytes(size)


# --- XLSX ---------------------------------------------------------------------------------


def test_truncated_xlsx_is_unreadable() -> None:
    data = xlsx_bytes([SITES_HEADER, site_row(1)])
    assert rule_of(data[: len(data) // 2], "xlsx") == "file_unreadable"


def test_zip_bomb_is_rejected_from_the_directory(bomb: bytes) -> None:
    assert len(bomb) < 200_000  # 20 MB of sheet XML in a few dozen kB
    member = zipfile.ZipFile(io.BytesIO(bomb)).getinfo("xl/worksheets/sheet1.xml")
    assert member.file_size > 100 * member.compress_size
    assert rule_of(bomb, "xlsx") == "spreadsheet_too_large"
    peak = peak_bytes(lambda: read_submission(bomb, extension="xlsx", contract=SITES, **LIMITS))
    assert peak < MEMORY_BOUND


def test_directory_claiming_huge_expansion_is_rejected_without_inflating() -> None:
    data = xlsx_bytes([SITES_HEADER, site_row(1)])
    forged = forge_uncompressed_size(data, "xl/sharedStrings.xml", 3_000_000_000)
    assert rule_of(forged, "xlsx") == "spreadsheet_too_large"


def test_total_expansion_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    data = xlsx_bytes([SITES_HEADER, *(site_row(i) for i in range(50))])
    with pytest.raises(SubmissionRejected) as caught:
        xlsx_file.check_workbook(data, max_cells=10**6, max_columns=500, max_uncompressed=10_000)
    assert caught.value.rule == "spreadsheet_too_large"


def test_dimension_past_max_cells_is_rejected() -> None:
    rows: list[list[object]] = [SITES_HEADER, site_row(1), *([[]] * 20_000), ["530602"]]
    data = xlsx_bytes(rows)  # dimension A1:I20003 = 180k cells
    assert xlsx_file.check_workbook(data, max_cells=10**6, max_columns=500) is not None
    assert rule_of(data, "xlsx", max_cells=100_000) == "spreadsheet_too_large"


def test_dimension_wider_than_max_columns_is_rejected() -> None:
    data = xlsx_bytes([SITES_HEADER, [*site_row(1), *([None] * 600), "x"]])
    assert rule_of(data, "xlsx") == "too_many_columns"


def test_sheet_without_dimension_is_still_bounded() -> None:
    rows: list[list[object]] = [SITES_HEADER, *([site_row(1)] * 12_000)]
    data = strip_dimension(xlsx_bytes(rows))
    assert xlsx_file.check_workbook(data, max_cells=10**9, max_columns=500) is None
    assert rule_of(data, "xlsx", max_cells=100_000) == "spreadsheet_too_large"


def test_xml_entity_expansion_is_not_performed() -> None:
    """A billion-laughs DTD in the sheet must not expand (calamine ignores DTDs; openpyxl
    would refuse them through defusedxml)."""
    data = replace_member(xlsx_bytes([SITES_HEADER, site_row(1)]), SHEET_XML, billion_laughs_sheet())
    peak = peak_bytes(lambda: read_submission(data, extension="xlsx", contract=SITES, **LIMITS))
    assert peak < MEMORY_BOUND


def test_old_xls_named_xlsx_is_explained() -> None:
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + garbage(2048)
    with pytest.raises(SubmissionRejected) as caught:
        read_submission(data, extension="xlsx", contract=SITES, **LIMITS)
    assert caught.value.rule == "file_unreadable"
    assert "xls" in caught.value.detail


def test_zip_that_is_not_a_workbook() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    assert rule_of(buffer.getvalue(), "xlsx") == "file_unreadable"


# --- CSV ----------------------------------------------------------------------------------


def test_hundred_thousand_column_csv_is_rejected_cheaply() -> None:
    header = ",".join(f"列{i}" for i in range(100_000))
    data = (header + "\r\n" + ",".join("1" for _ in range(100_000)) + "\r\n").encode()
    assert rule_of(data, "csv") == "too_many_columns"
    peak = peak_bytes(lambda: read_submission(data, extension="csv", contract=SITES, **LIMITS))
    assert peak < MEMORY_BOUND


def test_wide_csv_hiding_commas_in_quotes_is_counted_exactly() -> None:
    header = ",".join(f'"{name}"' for name in SITES_HEADER) + "," + ",".join('"a,b,c"' for _ in range(200))
    data = (header + "\r\n" + ",".join(site_row(1)) + "\r\n").encode()
    parsed = read_submission(data, extension="csv", contract=SITES, max_cells=10**6, max_columns=500)
    assert parsed.frame.height == 1
    assert parsed.issues.height == 200  # one unknown_column warning per extra column


def test_csv_xlsx_bytes_named_csv_is_explained() -> None:
    with pytest.raises(SubmissionRejected) as caught:
        read_submission(xlsx_bytes([SITES_HEADER]), extension="csv", contract=SITES, **LIMITS)
    assert caught.value.rule == "file_unreadable"
    assert "xlsx" in caught.value.detail


def test_utf16_csv_is_rejected() -> None:
    data = csv_bytes([SITES_HEADER, site_row(1)], encoding="utf-16")
    assert rule_of(data, "csv") in {"file_undecodable", "file_unreadable"}
    data_le = csv_bytes([["county_code", "site_code"], ["530602", "ZY-1"]], encoding="utf-16-le")
    assert rule_of(data_le, "csv") == "file_unreadable"  # decodes as UTF-8, full of NULs


def test_unterminated_quote_is_unreadable() -> None:
    data = csv_bytes([SITES_HEADER, site_row(1)]) + b'530602,"ZY-2,x\r\n'
    assert rule_of(data, "csv") == "file_unreadable"


def test_mixed_encoding_json_names_the_line() -> None:
    good = json.dumps(_site_record(1), ensure_ascii=False)
    bad = json.dumps(_site_record(2), ensure_ascii=False).encode("gb18030")
    data = b"[\n" + good.encode() + b",\n" + bad + b"\n]"
    assert rule_of(data, "json") == "mixed_encoding"
    with pytest.raises(SubmissionRejected) as caught:
        read_submission(data, extension="json", contract=SITES, **LIMITS)
    assert "line 3" in caught.value.detail


def test_csv_without_known_header() -> None:
    data = csv_bytes([["a", "b", "c"], ["1", "2", "3"]])
    assert rule_of(data, "csv") == "header_not_found"


# --- every format -------------------------------------------------------------------------


@pytest.mark.parametrize(("extension", "rule"), [
    ("csv", "file_undecodable"), ("xlsx", "file_unreadable"), ("json", "file_undecodable"),
])
def test_binary_garbage(extension: str, rule: str) -> None:
    assert rule_of(garbage(), extension) == rule


@pytest.mark.parametrize("extension", ["csv", "xlsx", "json"])
def test_empty_file(extension: str) -> None:
    assert rule_of(b"", extension) == "empty_file"


@pytest.mark.parametrize(("data", "extension"), [
    (b"   \r\n\r\n", "csv"),
    (b"\xef\xbb\xbf", "csv"),
    (",,,\r\n,,,\r\n", "csv"),
    (None, "csv"),
    (None, "xlsx"),
    (b" \n ", "json"),
])
def test_no_data_rows(data: bytes | str | None, extension: str) -> None:
    if data is None:
        data = (csv_bytes if extension == "csv" else xlsx_bytes)([SITES_HEADER])
    if isinstance(data, str):
        data = data.encode()
    assert rule_of(data, extension) == "empty_file"


def test_xlsx_with_header_total_and_notes_only_is_empty() -> None:
    rows: list[list[object]] = [SITES_HEADER, ["合计", None, None, None, None, None, None, 0, 0], ["填表说明：无"]]
    assert rule_of(xlsx_bytes(rows), "xlsx") == "empty_file"


def test_deeply_nested_json_is_unreadable() -> None:
    assert rule_of(b"[" * 100_000 + b"]" * 100_000, "json") == "file_unreadable"


def test_json_with_too_many_keys() -> None:
    record = {f"key{i}": i for i in range(1000)}
    assert rule_of(json_bytes([record]), "json") == "too_many_columns"


def _site_record(index: int) -> dict[str, object]:
    return dict(zip(SITES_HEADER, site_row(index), strict=True))


def _records_text(*records: str) -> bytes:
    return ("[" + ",".join(records) + "]").encode()


def test_json_duplicate_key_in_a_record_names_the_key() -> None:
    good = json.dumps(_site_record(1), ensure_ascii=False)
    twice = json.dumps(_site_record(2), ensure_ascii=False)[:-1] + ', "托管儿童数": "5"}'
    with pytest.raises(SubmissionRejected) as caught:
        read_submission(_records_text(good, twice), extension="json", contract=SITES, **LIMITS)
    assert caught.value.rule == "json_duplicate_key"
    assert "托管儿童数" in caught.value.detail and caught.value.value == "托管儿童数"
    (issue,) = caught.value.issues().rows(named=True)
    assert "托管儿童数" in issue["message_zh"] and "托管儿童数" in issue["message_en"]
    # the same records without the repeat are read
    assert read_submission(_records_text(good), extension="json", contract=SITES, **LIMITS).rows_in == 1


def test_json_duplicate_key_in_the_header_object() -> None:
    data = ('{"county_code": "530602", "period": "2025-summer", "county_code": "530621", "records": ['
            + json.dumps(_site_record(1), ensure_ascii=False) + "]}").encode()
    with pytest.raises(SubmissionRejected) as caught:
        read_submission(data, extension="json", contract=SITES, **LIMITS)
    assert (caught.value.rule, caught.value.value) == ("json_duplicate_key", "county_code")


def test_json_duplicate_key_is_shown_short_and_writable() -> None:
    key = "\\ud800" + "键" * 500
    data = f'[{{"{key}": 1, "{key}": 2}}]'.encode()
    with pytest.raises(SubmissionRejected) as caught:
        read_submission(data, extension="json", contract=SITES, **LIMITS)
    assert caught.value.rule == "json_duplicate_key"
    assert len(caught.value.detail) < 60
    caught.value.detail.encode("utf-8")  # the lone surrogate is escaped, not carried


def test_json_integer_past_python_s_digit_limit_is_a_row_error() -> None:
    """4,301 digits made `int()` raise out of the reader and fail the whole run."""
    huge = "9" * 4301
    good = json.dumps(_site_record(1), ensure_ascii=False)
    bad = json.dumps({**_site_record(2), "托管儿童数": 0}, ensure_ascii=False).replace(
        '"托管儿童数": 0', f'"托管儿童数": {huge}')
    big = json.dumps({**_site_record(3), "托管儿童数": 0}, ensure_ascii=False).replace(
        '"托管儿童数": 0', f'"托管儿童数": {"1" * 19}')
    parsed = read_submission(_records_text(good, bad, big), extension="json", contract=SITES, **LIMITS)
    assert parsed.frame["children_enrolled"].to_list() == ["901", huge, "1" * 19]
    result = validate_submission(parsed, SITES, county_code="530602",
                                 period=parse_period("2025-summer"), policy="partial")
    errors = result.issues.filter(pl.col("severity") == "error")
    assert errors.select("source_row", "column", "rule").rows() == [
        (2, "children_enrolled", "text_too_long"), (3, "children_enrolled", "count_format")]
    assert (result.counts.rows_loaded, result.counts.rows_rejected) == (1, 2)
    assert result.valid["site_code"].to_list() == ["ZY-0001"]


@pytest.mark.parametrize("text", ["9" * 4301, "-" + "9" * 5000, "1" * 100_000])
def test_json_huge_integers_anywhere_never_escape(text: str) -> None:
    for data in (f"[{{\"a\": {text}}}]", f'{{"records": [], "county_code": {text}}}', text):
        with contextlib.suppress(SubmissionRejected):
            read_submission(data.encode(), extension="json", contract=SITES, **LIMITS)


def test_json_lone_surrogate_escape_is_unreadable() -> None:
    record = json.dumps(_site_record(1), ensure_ascii=False)
    lone = record.replace("第1托管点", "第1\\udc80托管点")
    with pytest.raises(SubmissionRejected) as caught:
        read_submission(_records_text(lone), extension="json", contract=SITES, **LIMITS)
    assert caught.value.rule == "file_unreadable" and "surrogate" in caught.value.detail
    # an escaped pair is one real character (an emoji) and reads
    pair = record.replace("第1托管点", "第1\\ud83d\\ude00托管点")
    parsed = read_submission(_records_text(pair), extension="json", contract=SITES, **LIMITS)
    assert parsed.frame["site_name"].to_list() == ["第1\U0001f600托管点"]


def test_malformed_json_is_unreadable() -> None:
    assert rule_of(b'{"records": [{"site_code": "x",}', "json") == "file_unreadable"


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2048), st.sampled_from(["csv", "xlsx", "json"]))
def test_arbitrary_bytes_only_ever_raise_rejections(data: bytes, extension: str) -> None:
    with contextlib.suppress(SubmissionRejected):
        read_submission(data, extension=extension, contract=SITES, **LIMITS)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 64))
def test_corrupted_xlsx_bytes_only_ever_raise_rejections(position: int, length: int) -> None:
    data = bytearray(xlsx_bytes([SITES_HEADER, site_row(1), site_row(2)]))
    position %= len(data)
    data[position: position + length] = garbage(length, seed=position)
    with contextlib.suppress(SubmissionRejected):
        read_submission(bytes(data), extension="xlsx", contract=SITES, **LIMITS)
