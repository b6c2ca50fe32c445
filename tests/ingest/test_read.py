"""Reading submissions: header mapping, CSV encodings, XLSX layouts, JSON shapes."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta

import fastexcel
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from countyflow.ingest.model import SOURCE_ROW, ParsedSubmission, SubmissionRejected
from countyflow.ingest.read import read_submission
from countyflow.ingest.readers import xlsx_file
from countyflow.ingest.readers.headers import header_lookup, normalise_header
from schemas import CONTRACTS
from schemas.contract import Contract
from tests.ingest.files import SITES_HEADER, csv_bytes, json_bytes, site_row, xlsx_bytes

SITES = CONTRACTS["childcare_sites"]
LIMITS = {"max_cells": 1_000_000, "max_columns": 500}
EXPECTED = {"county_code": "530602", "dataset": "childcare_sites", "period": "2025-summer"}


def read(data: bytes, extension: str, contract: Contract = SITES,
         expected: dict[str, str] | None = None) -> ParsedSubmission:
    return read_submission(data, extension=extension, contract=contract, expected=expected, **LIMITS)


def rejection(data: bytes, extension: str, contract: Contract = SITES,
              expected: dict[str, str] | None = None) -> SubmissionRejected:
    with pytest.raises(SubmissionRejected) as caught:
        read(data, extension, contract, expected)
    return caught.value


def assert_text_frame(parsed: ParsedSubmission, contract: Contract = SITES) -> None:
    """Every contract column as text, in contract order, then source_row as Int64."""
    assert parsed.frame.columns == [*contract.column_names, SOURCE_ROW]
    for name in contract.column_names:
        assert parsed.frame.schema[name] == pl.Utf8
    assert parsed.frame.schema[SOURCE_ROW] == pl.Int64


def everything_text(parsed: ParsedSubmission) -> str:
    """All text a parsed submission carries (frame, total row, issues), for PII checks."""
    frames = [parsed.frame, parsed.issues]
    if parsed.total_row is not None:
        frames.append(parsed.total_row)
    parts: list[str] = []
    for frame in frames:
        parts.extend(frame.columns)
        for column in frame.columns:
            parts.extend(str(value) for value in frame[column].to_list())
    return "\n".join(parts)


# --- contracts and header normalisation ---------------------------------------------------


@pytest.mark.parametrize("dataset", sorted(CONTRACTS))
def test_contract_headers_are_unambiguous(dataset: str) -> None:
    header_lookup(CONTRACTS[dataset])  # raises when two columns share a normalised header


@pytest.mark.parametrize("written", [
    "县（区）代码", "县(区)代码", "县 (区) 代码", "县（区）\n代码", "县\u3000（区）代码",
    " county_code ", "County_Code", "*县（区）代码", "县区代码", "县（区）",
])
def test_county_header_variants(written: str) -> None:
    column = header_lookup(SITES).match(written)
    assert column is not None and column.name == "county_code"


def test_header_with_unit_in_brackets() -> None:
    lookup = header_lookup(SITES)
    assert lookup.match("托管儿童数（人）").name == "children_enrolled"  # type: ignore[union-attr]
    assert lookup.match("每日托管时长（小时）").name == "hours_per_day"  # type: ignore[union-attr]
    assert lookup.match("托管儿童数（其他）").name == "children_enrolled"  # type: ignore[union-attr]
    assert lookup.match("不存在的列（人）") is None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([" ", "\u3000", "\n", "\t"]), max_size=4), st.booleans(), st.data())
def test_header_normalisation_ignores_spacing_and_width(
    spaces: list[str], full_width: bool, data: st.DataObject
) -> None:
    column = data.draw(st.sampled_from(SITES.columns))
    header = data.draw(st.sampled_from(column.headers))
    if full_width:
        header = header.replace("(", "（").replace(")", "）")
    else:
        header = header.replace("（", "(").replace("）", ")")
    position = data.draw(st.integers(0, len(header)))
    spaced = header[:position] + "".join(spaces) + header[position:]
    assert normalise_header(spaced) == normalise_header(header)
    assert header_lookup(SITES).match(spaced).name == column.name  # type: ignore[union-attr]


# --- CSV ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("encoding", "bom"), [("utf-8", False), ("utf-8", True), ("gb18030", False)])
def test_csv_encodings(encoding: str, bom: bool) -> None:
    rows = [SITES_HEADER, site_row(1), site_row(2)]
    rows[1][2] = "红路馨居小学托管点"
    parsed = read(csv_bytes(rows, encoding=encoding, bom=bom), "csv")
    assert_text_frame(parsed)
    assert parsed.frame["site_name"].to_list() == ["红路馨居小学托管点", "第2托管点"]
    assert parsed.frame["county_code"].to_list() == ["530602", "530602"]
    assert parsed.frame[SOURCE_ROW].to_list() == [2, 3]
    assert parsed.issues.height == 0
    assert parsed.total_row is None


def test_csv_gbk_bytes_are_not_mistaken_for_utf8() -> None:
    data = csv_bytes([SITES_HEADER, site_row(1)], encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert read(data, "csv").frame["site_name"].to_list() == ["第1托管点"]


def test_csv_utf8_with_one_gb18030_row_is_mixed_encoding() -> None:
    """Read whole as GB18030 it loaded `鏈ㄦ潌闀囦腑…` for every UTF-8 site name."""
    rows = [SITES_HEADER, *(site_row(index) for index in range(1, 40))]
    rows[5][2] = "木杆镇中心小学"
    utf8 = csv_bytes(rows)
    gbk_row = csv_bytes([site_row(40)], encoding="gb18030")
    error = rejection(utf8 + gbk_row, "csv")
    assert error.rule == "mixed_encoding"
    assert "第 41 行" in error.detail and "line 41" in error.detail
    assert read(utf8, "csv").frame["site_name"][4] == "木杆镇中心小学"  # the UTF-8 part alone reads


def test_csv_gbk_row_in_a_bom_file_is_mixed_encoding() -> None:
    data = csv_bytes([SITES_HEADER], bom=True) + csv_bytes([site_row(1)], encoding="gbk")
    assert rejection(data, "csv").rule == "mixed_encoding"


@pytest.mark.parametrize("header", [
    SITES_HEADER,
    ["county_code", "site_code", "site_name", "host_type", "start_date", "end_date",
     "hours_per_day", "children_enrolled", "left_behind_children"],
    # GBK 学校 is D1 A7 D0 A3: valid two-byte UTF-8 before the first invalid byte
    ["学校名称", *SITES_HEADER],
])
def test_pure_gbk_csv_still_reads_as_gb18030(header: list[str]) -> None:
    rows = [header, *(site_row(index) for index in range(1, 6))]
    if len(header) > len(SITES_HEADER):
        rows[1:] = [["学校", *row] for row in rows[1:]]
    rows[2][-7] = "木杆镇中心小学"
    parsed = read(csv_bytes(rows, encoding="gbk"), "csv")
    assert "木杆镇中心小学" in parsed.frame["site_name"].to_list()


def test_csv_values_are_kept_as_text() -> None:
    row = site_row(1)
    row[6], row[8] = "0005.50", "0300"
    parsed = read(csv_bytes([SITES_HEADER, row]), "csv")
    assert parsed.frame.row(0, named=True)["hours_per_day"] == "0005.50"
    assert parsed.frame.row(0, named=True)["left_behind_children"] == "0300"


def test_csv_line_numbers_count_blank_lines_and_embedded_newlines() -> None:
    rows = [SITES_HEADER, site_row(1), [], site_row(2), site_row(3)]
    rows[3][2] = "两行\n名称"
    parsed = read(csv_bytes(rows), "csv")
    # header line 1, row 1 on line 2, blank line 3, row 2 spans lines 4-5, row 3 on line 6
    assert parsed.frame[SOURCE_ROW].to_list() == [2, 4, 6]
    assert parsed.frame["site_name"][1] == "两行\n名称"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.just("\n"),
                        max_size=8), min_size=1, max_size=6))
def test_csv_source_row_is_the_starting_line(names: list[str]) -> None:
    rows: list[list[object]] = [SITES_HEADER]
    for index, name in enumerate(names):
        row = site_row(index)
        row[2] = name
        rows.append(row)
    data = csv_bytes(rows, newline="\n")
    parsed = read(data, "csv")
    lines = data.decode().split("\n")
    for source_row, code in zip(parsed.frame[SOURCE_ROW], parsed.frame["site_code"], strict=True):
        assert lines[source_row - 1].startswith(f"530602,{code},")
    expected = [name or None for name in names]
    assert parsed.frame["site_name"].to_list() == expected


def test_csv_title_total_and_notes_rows() -> None:
    width = len(SITES_HEADER)
    rows = [
        ["昭通市2025年暑期托管点统计表", *[""] * (width - 1)],
        ["填报单位：昭阳区教育体育局", *[""] * (width - 1)],
        SITES_HEADER, site_row(1), site_row(2),
        ["合计", "", "", "", "", "", "", "1803", "603"],
        ["填表说明：托管儿童数含留守儿童。", *[""] * (width - 1)],
        ["填报人：张三", "", "联系电话：13800138000", *[""] * (width - 3)],
    ]
    parsed = read(csv_bytes(rows), "csv")
    assert parsed.frame[SOURCE_ROW].to_list() == [4, 5]
    assert parsed.total_row is not None
    assert parsed.total_row.row(0, named=True)["children_enrolled"] == "1803"
    assert parsed.total_row[SOURCE_ROW].to_list() == [6]
    assert "13800138000" not in everything_text(parsed)


def test_csv_row_longer_than_header_is_rejected() -> None:
    data = csv_bytes([SITES_HEADER, site_row(1)]) + b"530602,ZY-9,x,1,234,2025-07-06,2025-08-10,5,900,300\r\n"
    error = rejection(data, "csv")
    assert error.rule == "file_unreadable"
    assert "3" in error.detail


def test_csv_value_opening_with_a_quote_is_read_leniently() -> None:
    """`"3+2"高本贯通` typed by hand is not valid CSV quoting; read it as Python's csv would."""
    contract = CONTRACTS["vocational_enrollment"]
    header = "县区代码,学校代码,学校名称,专业,办学类型,年级,在校生数,招生数,流失学生数\r\n"
    lines = [
        '530602,5306020001,昭通市职业中学,"护理\n（含助产）",中职,1,120,120,2\r\n',
        '530602,5306020001,昭通市职业中学,数控,"3+2"高本贯通,2,80,0,1\r\n',
        '530602,5306020001,昭通市职业中学,学前教育,"""3+4""中本贯通",3,60,0,0\r\n',
    ]
    parsed = read((header + "".join(lines)).encode(), "csv", contract)
    assert parsed.frame["track"].to_list() == ["中职", "3+2高本贯通", '"3+4"中本贯通']
    assert parsed.frame["program"][0] == "护理\n（含助产）"
    assert parsed.frame[SOURCE_ROW].to_list() == [2, 4, 5]


def test_csv_short_rows_are_padded_with_nulls() -> None:
    parsed = read(csv_bytes([SITES_HEADER, site_row(1)[:5]]), "csv")
    assert parsed.frame.row(0, named=True)["children_enrolled"] is None


# --- XLSX ---------------------------------------------------------------------------------


@pytest.mark.parametrize("title_rows", range(6))
def test_xlsx_title_rows_above_header(title_rows: int) -> None:
    titles: list[list[object]] = [["昭通市2025年暑期托管点统计表"] if i % 2 == 0 else [] for i in range(title_rows)]
    parsed = read(xlsx_bytes([*titles, SITES_HEADER, site_row(1), site_row(2)]), "xlsx")
    assert_text_frame(parsed)
    assert parsed.frame[SOURCE_ROW].to_list() == [title_rows + 2, title_rows + 3]
    assert parsed.frame["site_code"].to_list() == ["ZY-0001", "ZY-0002"]


def test_xlsx_header_below_row_twenty_is_not_found() -> None:
    titles: list[list[object]] = [["标题"]] * 20
    assert rejection(xlsx_bytes([*titles, SITES_HEADER, site_row(1)]), "xlsx").rule == "header_not_found"


def test_xlsx_table_not_in_column_a() -> None:
    parsed = read(xlsx_bytes([["表一"], [], SITES_HEADER, site_row(1)], first_row=2, first_col=2), "xlsx")
    assert parsed.frame[SOURCE_ROW].to_list() == [6]
    assert parsed.frame["site_code"].to_list() == ["ZY-0001"]


def test_xlsx_blank_rows_skipped_and_numbering_kept() -> None:
    parsed = read(xlsx_bytes([SITES_HEADER, site_row(1), [], [None, "  "], site_row(2)]), "xlsx")
    assert parsed.frame[SOURCE_ROW].to_list() == [2, 5]


@pytest.mark.parametrize("label", ["合计", "总计", "合 计", " 总计：", "合\u3000计"])
def test_xlsx_total_row_is_set_aside(label: str) -> None:
    rows = [SITES_HEADER, site_row(1), site_row(2), [label, None, None, None, None, None, None, 1803, 603]]
    parsed = read(xlsx_bytes(rows), "xlsx")
    assert parsed.frame[SOURCE_ROW].to_list() == [2, 3]
    assert parsed.total_row is not None
    assert parsed.total_row.columns == [*SITES.column_names, SOURCE_ROW, "total_kind", "scope_first",
                                        "scope_last"]
    total = parsed.total_row.row(0, named=True)
    assert (total["children_enrolled"], total["left_behind_children"], total[SOURCE_ROW]) == ("1803", "603", 4)
    assert (total["total_kind"], total["scope_first"], total["scope_last"]) == ("total", 2, 3)


def test_xlsx_total_row_right_under_the_header() -> None:
    rows = [SITES_HEADER, ["合计", None, None, None, None, None, None, 1803], site_row(1)]
    parsed = read(xlsx_bytes(rows), "xlsx")
    assert parsed.frame[SOURCE_ROW].to_list() == [3]
    assert parsed.total_row is not None and parsed.total_row[SOURCE_ROW].to_list() == [2]


@pytest.mark.parametrize("note", [
    "填表说明：1. 托管儿童数含留守儿童", "说明：数据截至7月31日", "填报人：张三", "注：单位为人",
    "备注：无", "审核人：李四", "注1：口径同上年",
])
def test_xlsx_notes_rows_after_data_are_excluded(note: str) -> None:
    rows = [SITES_HEADER, site_row(1), site_row(2), [], [note], ["2. 本表由县教体局汇总"],
            ["填报人：张三", None, "联系电话：13800138000"]]
    parsed = read(xlsx_bytes(rows), "xlsx")
    assert parsed.frame[SOURCE_ROW].to_list() == [2, 3]
    assert "13800138000" not in everything_text(parsed)
    assert "张三" not in everything_text(parsed)


def test_xlsx_single_cell_row_without_notes_prefix_stays_data() -> None:
    """Nothing is dropped silently: an odd last row is kept and will fail validation."""
    parsed = read(xlsx_bytes([SITES_HEADER, site_row(1), ["ZY-0099"]]), "xlsx")
    assert parsed.frame[SOURCE_ROW].to_list() == [2, 3]


def test_xlsx_cells_render_as_clerks_see_them() -> None:
    row: list[object] = ["530602", "ZY-0001", "红路馨居小学", "学校", date(2025, 7, 6),
                         datetime(2025, 8, 10, 0, 0), 5.5, 940, 300.0]
    second: list[object] = ["530602", "ZY-0002", "二", "学校", datetime(2025, 7, 6, 8, 30),
                            "2025年8月10日", 1 / 3, 12345678901, 12.345]
    parsed = read(xlsx_bytes([SITES_HEADER, row, second]), "xlsx")
    first, other = parsed.frame.rows(named=True)
    assert (first["start_date"], first["end_date"]) == ("2025-07-06", "2025-08-10")
    assert (first["hours_per_day"], first["children_enrolled"], first["left_behind_children"]) == (
        "5.5", "940", "300")
    assert other["start_date"] == "2025-07-06 08:30:00"
    assert other["end_date"] == "2025年8月10日"
    assert other["hours_per_day"] == repr(1 / 3)
    assert other["children_enrolled"] == "12345678901"
    assert other["left_behind_children"] == "12.345"


def test_xlsx_date_cell_in_a_text_column_is_iso() -> None:
    rows = [SITES_HEADER,
            ["530602", "ZY-1", "a", "学校", date(2025, 7, 6), "2025/8/10", 5, 9, 3],
            ["530602", "ZY-2", "b", "学校", "7月6日", date(2025, 8, 10), 5, 9, 3]]
    parsed = read(xlsx_bytes(rows), "xlsx")
    assert parsed.frame["start_date"].to_list() == ["2025-07-06", "7月6日"]
    assert parsed.frame["end_date"].to_list() == ["2025/8/10", "2025-08-10"]


def test_xlsx_openpyxl_fallback_matches_fastexcel(caplog: pytest.LogCaptureFixture) -> None:
    rows: list[list[object]] = [["标题"], [], [*SITES_HEADER, "序号"], site_row(1),
                                ["530602", "ZY-2", "b", "学校", date(2025, 7, 6), datetime(2025, 8, 1, 9, 0),
                                 5.5, 940, 300.0, 2],
                                ["530602", "ZY-3", "c", "学校", time(8, 30), timedelta(hours=30, minutes=5),
                                 True, 1e-7, "文本", None],
                                [], ["合计", None, None, None, None, None, None, 1840],
                                ["填表说明：略"]]
    data = xlsx_bytes(rows)
    fast = read(data, "xlsx")

    def broken(_source: object) -> object:
        raise fastexcel.CalamineError("calamine cannot open this")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(xlsx_file.fastexcel, "read_excel", broken)
        slow = read(data, "xlsx")
    assert slow.frame.equals(fast.frame)
    assert slow.issues.equals(fast.issues)
    assert slow.total_row is not None and fast.total_row is not None
    assert slow.total_row.equals(fast.total_row)
    third = fast.frame.row(2, named=True)
    assert (third["start_date"], third["end_date"]) == ("08:30:00", "30:05:00")
    assert (third["hours_per_day"], third["children_enrolled"]) == ("true", "1e-07")


def test_xlsx_falls_back_to_openpyxl_when_calamine_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_source: object) -> object:
        raise fastexcel.CalamineError("calamine cannot open this")

    monkeypatch.setattr(xlsx_file.fastexcel, "read_excel", broken)
    parsed = read(xlsx_bytes([SITES_HEADER, site_row(1)]), "xlsx")
    assert parsed.frame["site_code"].to_list() == ["ZY-0001"]


def test_openpyxl_parses_xml_with_defusedxml() -> None:
    from openpyxl.xml import DEFUSEDXML

    assert DEFUSEDXML is True


# --- header mapping (all formats share it) ------------------------------------------------


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
def test_header_alias_variants_in_files(extension: str) -> None:
    header = ["县 (区) 代码", "托管点代码", "托管点\n名称", "举办类型", "开班日期", "结束日期",
              "每天托管小时数", "托管儿童数（人）", "留守儿童数"]
    writer = csv_bytes if extension == "csv" else xlsx_bytes
    parsed = read(writer([header, site_row(1)]), extension)
    assert parsed.frame.row(0, named=True)["site_name"] == "第1托管点"
    assert parsed.issues.height == 0


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
def test_unknown_columns_give_one_warning_each(extension: str) -> None:
    """`序号` (a form's numbering column) is ignored silently: it is never data."""
    writer = csv_bytes if extension == "csv" else xlsx_bytes
    parsed = read(writer([["序号", *SITES_HEADER, "所属片区", "片区"], [1, *site_row(1), "北片", "东"]]),
                  extension)
    assert parsed.issues["rule"].to_list() == ["unknown_column", "unknown_column"]
    assert parsed.issues["column"].to_list() == ["所属片区", "片区"]
    assert set(parsed.issues["severity"]) == {"warning"}
    assert "北片" not in everything_text(parsed)


def test_column_without_header_but_with_values_is_reported() -> None:
    parsed = read(xlsx_bytes([[*SITES_HEADER, None], [*site_row(1), "孤立的值"]]), "xlsx")
    assert parsed.issues["rule"].to_list() == ["unknown_column"]
    assert "10" in parsed.issues["message_en"][0]
    assert "孤立的值" not in everything_text(parsed)


@pytest.mark.parametrize("extension", ["csv", "xlsx", "json"])
def test_duplicate_column_is_rejected(extension: str) -> None:
    header = [*SITES_HEADER, "托管点代码"]
    row = [*site_row(1), "ZY-XXXX"]
    if extension == "json":
        data = json_bytes([dict(zip(header, row, strict=True))])
    else:
        data = (csv_bytes if extension == "csv" else xlsx_bytes)([header, row])
    error = rejection(data, extension)
    assert (error.rule, error.column) == ("duplicate_column", "site_code")
    assert "托管点编码" in error.detail and "托管点代码" in error.detail


@pytest.mark.parametrize("extension", ["csv", "xlsx", "json"])
def test_missing_required_column_is_named(extension: str) -> None:
    header = [h for h in SITES_HEADER if h != "托管点类型"]
    row = site_row(1)
    del row[3]
    if extension == "json":
        data = json_bytes([dict(zip(header, row, strict=True))])
    else:
        data = (csv_bytes if extension == "csv" else xlsx_bytes)([header, row])
    error = rejection(data, extension)
    assert (error.rule, error.column) == ("required_column_missing", "host_type")
    assert "host_type" in error.detail and "托管点类型" in error.detail
    assert "托管点类型" in error.issues()["message_zh"][0]


def test_missing_optional_column_is_null_text() -> None:
    parsed = read(csv_bytes([SITES_HEADER, site_row(1)]), "csv")
    assert parsed.frame["meal_subsidy_yuan"].dtype == pl.Utf8
    assert parsed.frame["meal_subsidy_yuan"].to_list() == [None]


@pytest.mark.parametrize("extension", ["csv", "xlsx", "json"])
def test_personal_columns_are_dropped(extension: str) -> None:
    header = [*SITES_HEADER, "填报人", "联系电话", "手机", "备注"]
    row = [*site_row(1), "王小明", "13912345678", "13700001111", "王小明的孩子也在"]
    total = ["合计", None, None, None, None, None, None, "901", "301", None, "王小明", "13912345678"]
    if extension == "json":
        data = json_bytes({"records": [dict(zip(header, row, strict=True))]})
    else:
        writer = csv_bytes if extension == "csv" else xlsx_bytes
        data = writer([header, row, total, ["填报人：王小明", None, "联系电话：13912345678"]])
    parsed = read(data, extension)
    assert_text_frame(parsed)
    text = everything_text(parsed)
    for secret in ("王小明", "13912345678", "13700001111", "reporter_name", "reporter_phone",
                   "remarks", "填报人", "联系电话", "手机", "备注"):
        assert secret not in text
    assert parsed.issues.height == 0


# --- JSON ---------------------------------------------------------------------------------


def _records() -> list[dict[str, object]]:
    return [
        {"county_code": "530602", "site_code": "ZY-0001", "site_name": "红路馨居小学", "host_type": "学校",
         "start_date": "2025-07-06", "end_date": "2025-08-10", "hours_per_day": 5.5,
         "children_enrolled": 940, "left_behind_children": 300.0, "meal_subsidy_yuan": None},
        {"county_code": "昭阳区", "site_code": "ZY-0002", "site_name": "二", "host_type": "儿童之家",
         "start_date": "2025-07-06", "end_date": "2025-08-10", "hours_per_day": "6",
         "children_enrolled": "2000多", "left_behind_children": 1e3, "relocated_children": True},
    ]


def test_json_list_of_records() -> None:
    parsed = read(json_bytes(_records()), "json", expected=EXPECTED)
    assert_text_frame(parsed)
    first, second = parsed.frame.rows(named=True)
    assert (first["hours_per_day"], first["children_enrolled"], first["left_behind_children"]) == (
        "5.5", "940", "300")
    assert first["meal_subsidy_yuan"] is None
    assert (second["children_enrolled"], second["left_behind_children"], second["relocated_children"]) == (
        "2000多", "1000", "true")
    assert parsed.frame[SOURCE_ROW].to_list() == [1, 2]


@pytest.mark.parametrize("county", ["530602", "昭阳区", "昭阳", "Zhaoyang", "ZHAOYANG", 530602])
def test_json_object_with_agreeing_header(county: object) -> None:
    document = {"county_code": county, "dataset": "childcare_sites", "period": "2025-summer",
                "records": _records()}
    parsed = read(json_bytes(document), "json", expected=EXPECTED)
    assert parsed.frame.height == 2


@pytest.mark.parametrize(("key", "value"), [
    ("county_code", "530621"), ("county_code", "鲁甸县"), ("county_code", "不存在县"),
    ("dataset", "childcare_daily"), ("period", "2024-summer"),
])
def test_json_header_disagreeing_with_path(key: str, value: str) -> None:
    document: dict[str, object] = {**EXPECTED, "records": _records()}
    document[key] = value
    error = rejection(json_bytes(document), "json", expected=EXPECTED)
    assert (error.rule, error.column) == ("json_header_mismatch", key)


def test_json_object_without_header_keys() -> None:
    assert read(json_bytes({"records": _records()}), "json", expected=EXPECTED).frame.height == 2


@pytest.mark.parametrize("document", [
    {"data": []}, 42, "text", {"records": {"a": 1}}, [1, 2], [{"site_code": "x"}, "y"],
])
def test_json_shape_errors(document: object) -> None:
    assert rejection(json_bytes(document), "json").rule == "json_shape"


@pytest.mark.parametrize("document", [[], {"records": []}])
def test_json_without_records_is_empty(document: object) -> None:
    assert rejection(json_bytes(document), "json").rule == "empty_file"


# --- dispatch -----------------------------------------------------------------------------


@pytest.mark.parametrize("extension", ["pdf", "xls", "docx", "", "txt"])
def test_unsupported_extension(extension: str) -> None:
    assert rejection(b"anything", extension).rule == "unsupported_extension"


@pytest.mark.parametrize("extension", [".CSV", "Csv", "csv"])
def test_extension_spelling(extension: str) -> None:
    assert read(csv_bytes([SITES_HEADER, site_row(1)]), extension).frame.height == 1


def test_every_dataset_reads_its_own_labels() -> None:
    for contract in CONTRACTS.values():
        header = [column.label_zh for column in contract.columns]
        buffer = io.StringIO()
        csv.writer(buffer).writerows([header, ["v"] * len(header)])
        parsed = read(buffer.getvalue().encode(), "csv", contract)
        assert_text_frame(parsed, contract)
        assert parsed.frame.height == 1
