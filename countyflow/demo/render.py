"""Write a canonical frame the way a county clerk would: messy, but (unless on purpose) valid.

A `FileStyle` says how one file looks: its format and encoding, which header names it uses,
how values are written (units, thousands separators, full-width digits, 万, date forms,
county names, enumeration aliases, missing-value markers), whether it carries personal data
columns, and for spreadsheets the title rows, the 合计 row and the notes below the data.
Every form used here is one SPEC §3 accepts. Per-cell variation comes from a seeded hash of
the row number, so the same style and frame always give the same bytes.
"""

from __future__ import annotations

import io
import itertools
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

import polars as pl
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from countyflow.demo._random import rng_for, salt_for, uniform
from countyflow.demo.profiles import REPORTERS
from countyflow.reference import counties
from schemas.contract import Column, ColumnType, Contract

Variant = Literal["csv-utf8", "csv-utf8-bom", "csv-gb18030", "xlsx", "json-list", "json-records"]
VARIANTS: tuple[Variant, ...] = ("csv-utf8", "csv-utf8-bom", "csv-gb18030", "xlsx", "json-list",
                                 "json-records")
ENCODINGS: dict[str, str] = {"csv-utf8": "utf-8", "csv-utf8-bom": "utf-8-sig", "csv-gb18030": "gb18030"}

SERIAL_HEADER = "序号"
PERSONAL_HEADERS = ("填报人", "联系电话", "备注")
XLSX_CREATED = datetime(2025, 8, 1, 9, 0, 0)
"""Workbook creation date written into every XLSX, so the bytes do not depend on the clock."""

_DIGITS = [str(d) for d in range(10)]
_FULLWIDTH = [chr(0xFF10 + d) for d in range(10)]
_UNITS: dict[str, str] = {
    "children_enrolled": "人", "left_behind_children": "人", "relocated_children": "人",
    "service_person_times": "人次", "children_present": "人", "volunteers_on_duty": "人",
    "meals_served": "人次", "volunteers": "名", "enrolled": "人", "new_intake": "人",
    "dropouts": "人", "beds_open": "张", "surgeries": "台", "interventional_procedures": "台",
    "outpatient_visits": "人次", "inpatient_admissions": "人次", "resident_experts": "名",
    "experts_dispatched": "人次", "visiting_experts": "人次", "local_surgeons_independent": "名",
    "returned_patients": "名", "hours_per_day": "小时", "meal_subsidy_yuan": "元",
}
_GRADE_WORDS: dict[str, dict[int, str]] = {
    "一年级": {1: "一年级", 2: "二年级", 3: "三年级"},
    "高一": {1: "高一", 2: "高二", 3: "高三"},
    "1年级": {1: "1年级", 2: "2年级", 3: "3年级"},
}
_JSON_BATCH = 1 << 20
"""JSON chunks (tokens) joined and encoded at a time (see `_json`)."""
_REMARKS = ("含易地搬迁安置点儿童", "与村（社区）委员会合办", "分两期开展", "志愿者轮班",
            "联系人：王老师 13900001111", "已购买意外险")


@dataclass(frozen=True)
class FileStyle:
    """How one submission file is written. Fractions are shares of cells, drawn per cell."""

    variant: Variant
    headers: Literal["canonical", "label", "mixed"] = "label"
    """English names, Chinese labels, or a mix of labels and aliases with bracket/space variants."""
    crlf: bool = False
    units: float = 0.0
    """Share of count and decimal cells written with a unit: `12人`, `8元`, `5.5小时`."""
    thousands: bool = False
    """Write values of 1000 or more as `1,234` (most of them)."""
    fullwidth: float = 0.0
    """Share of count cells in full-width digits (`１２`)."""
    wan: bool = False
    """Write whole thousands of 10000 or more with 万 (`1.2万`)."""
    date_style: Literal["iso", "slash", "dot", "cn", "cn_short", "mixed", "excel"] = "iso"
    """`2025-07-06`, `2025/7/6`, `2025.7.6`, `2025年7月6日`, `7月6日`, per cell, or date cells (XLSX)."""
    county_style: Literal["code", "name", "short", "pinyin", "mixed"] = "code"
    enum_style: Literal["canonical", "alias", "mixed"] = "canonical"
    grade_style: Literal["int", "一年级", "高一", "1年级", "mixed"] = "int"
    missing: str = ""
    """How an empty optional value is written: empty, `—`, `/`, `-`, `无` or `N/A`."""
    padding: float = 0.0
    """Share of free-text cells with a stray space or full-width space around them."""
    personal: bool = False
    """Carry 填报人 / 联系电话 / 备注 columns (personal data the pipeline must drop)."""
    serial: bool = False
    """A leading 序号 column (not in any contract: an unknown-column warning)."""
    title_rows: int = 0
    """XLSX: title lines above the header (then a blank row)."""
    total_row: bool = False
    """XLSX: a 合计 row after the data with the count columns' sums."""
    notes: bool = False
    """XLSX: 填表说明 and 填报人/联系电话 lines below the data."""
    extra_sheet: bool = False
    """XLSX: a second sheet of instructions (only the first sheet is data)."""
    omit: tuple[str, ...] = ()
    """Optional columns left out of the file (their values are all null, or implied by the path)."""

    @property
    def format(self) -> str:
        return self.variant.split("-")[0]

    @property
    def extension(self) -> str:
        return self.format

    @property
    def encoding(self) -> str | None:
        return ENCODINGS.get(self.variant)


@dataclass(frozen=True)
class Defect:
    """A value written wrong on purpose (a file meant to be rejected)."""

    row: int
    column: str
    text: str


@dataclass(frozen=True)
class FileText:
    """The words around the data: spreadsheet title lines and the file's context."""

    title: str
    subtitle: str
    county_code: str
    dataset: str
    period: str


@dataclass(frozen=True)
class Rendered:
    data: bytes
    headers: tuple[str, ...]
    personal_headers: tuple[str, ...]
    unknown_headers: tuple[str, ...]
    rows: int
    raw: pl.DataFrame = field(repr=False)
    """The cells as written (after styling, before encoding), header names as columns."""


def render(contract: Contract, frame: pl.DataFrame, style: FileStyle, text: FileText, *,
           seed: int, defects: Sequence[Defect] = ()) -> Rendered:
    """The bytes of one file holding `frame` (canonical columns, typed)."""
    salt_key = (text.dataset, text.county_code, text.period, style.variant)
    columns = [c for c in contract.columns if c.name in frame.columns and c.name not in style.omit]
    # One noise draw per file (three per cell), sliced per column: a call per column is slow.
    noise = uniform(salt_for(seed, *salt_key), pl.int_range(3 * len(columns) * frame.height,
                                                           dtype=pl.Int64, eager=True))
    work = frame.select([c.name for c in columns]).with_columns(
        noise.slice((3 * i + k) * frame.height, frame.height).alias(f"{column.name}__{part}")
        for i, column in enumerate(columns) for k, part in enumerate("abc")
    )
    alias_rng = rng_for(seed, "aliases", *salt_key)
    raw = work.select(_render_column(column, frame[column.name], style, alias_rng) for column in columns)
    for defect in defects:
        raw = raw.with_columns(
            pl.when(pl.int_range(pl.len()) == defect.row).then(pl.lit(defect.text))
            .otherwise(pl.col(defect.column).cast(pl.Utf8)).alias(defect.column))

    rng = rng_for(seed, "headers", *salt_key)
    headers = [_header(column, style, rng) for column in columns]
    raw = raw.rename(dict(zip([c.name for c in columns], headers, strict=True)))
    unknown: list[str] = []
    personal: list[str] = []
    if style.serial:
        raw = raw.select(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(SERIAL_HEADER), pl.all())
        unknown.append(SERIAL_HEADER)
    reporter, phone = _reporter(seed, salt_key)
    if style.personal:
        remark_noise = uniform(salt_for(seed, *salt_key, "remarks"),
                               pl.int_range(frame.height, dtype=pl.Int64, eager=True))
        remark_index = (remark_noise * len(_REMARKS) * 4).cast(pl.Int64)
        remarks = pl.Series([_REMARKS[i] if i < len(_REMARKS) else None for i in remark_index])
        raw = raw.with_columns(pl.lit(reporter).alias("填报人"), pl.lit(phone).alias("联系电话"),
                               remarks.alias("备注"))
        personal.extend(PERSONAL_HEADERS)

    total = _total_row(columns, frame, headers) if style.total_row else None
    if style.format == "csv":
        data = _csv(raw, style)
    elif style.format == "xlsx":
        data = _xlsx(raw, style, text, total, reporter, phone)
    else:
        data = _json(raw, style, text)
    return Rendered(data, tuple(raw.columns), tuple(personal), tuple(unknown), frame.height, raw)


# --------------------------------------------------------------------------- values


_PADDED = frozenset({"site_name", "school_name", "facility_name", "township", "institution", "program"})
"""Free-text columns a clerk may leave stray spaces around (codes are left alone)."""


@dataclass(frozen=True)
class _Cells:
    """A column's values and three independent per-cell noise columns in [0, 1)."""

    v: pl.Expr
    ua: pl.Expr
    ub: pl.Expr
    uc: pl.Expr


def _render_column(column: Column, values: pl.Series, style: FileStyle, rng: random.Random) -> pl.Expr:
    """The expression writing one column (over the work frame of `render`)."""
    name = column.name
    c = _Cells(pl.col(name), pl.col(f"{name}__a"), pl.col(f"{name}__b"), pl.col(f"{name}__c"))
    v = c.v
    expr: pl.Expr | None
    if column.type is ColumnType.COUNT:
        expr = _count(c, style, _UNITS.get(name, ""))
    elif column.type is ColumnType.DECIMAL:
        expr = _decimal(c, style, _UNITS.get(name, ""))
    elif column.type is ColumnType.DATE:
        expr = _date(c, style)
    elif column.type is ColumnType.COUNTY:
        expr = _county(c, style)
    elif column.type is ColumnType.GRADE:
        expr = _grade(c, style)
    elif column.vocabulary:
        expr = _enum(c, style, column, rng)
    elif name in _PADDED:
        expr = _padded(c, style)
    else:
        expr = None
    needs_marker = not column.required and bool(style.missing) and values.null_count() > 0
    if expr is None and not needs_marker:
        return v
    if expr is None:
        expr = v.cast(pl.Utf8) if column.type is not ColumnType.DECIMAL else _decimal_text(v)
    if needs_marker:
        expr = expr.fill_null(pl.lit(style.missing))
    return expr.alias(name)


def _count(c: _Cells, style: FileStyle, unit: str) -> pl.Expr | None:
    v = c.v
    if not (style.units or style.thousands or style.fullwidth or style.wan):
        return None
    s = v.cast(pl.Utf8)
    if style.thousands:
        s = pl.when((v >= 1000) & (c.ua < 0.8)).then(_thousands(v)).otherwise(s)
    if style.wan:
        s = pl.when((v >= 10_000) & (v % 1000 == 0)).then(_wan(v)).otherwise(s)
    if style.fullwidth:
        s = pl.when(c.ub < style.fullwidth).then(s.str.replace_many(_DIGITS, _FULLWIDTH)).otherwise(s)
    if style.units and unit:
        s = pl.when(c.uc < style.units).then(s + unit).otherwise(s)
    return s


def _thousands(v: pl.Expr) -> pl.Expr:
    millions, thousands, units = v // 1_000_000, (v // 1000) % 1000, v % 1000
    low = pl.concat_str(thousands.cast(pl.Utf8), pl.lit(","), units.cast(pl.Utf8).str.zfill(3))
    high = pl.concat_str(millions.cast(pl.Utf8), pl.lit(","), thousands.cast(pl.Utf8).str.zfill(3),
                         pl.lit(","), units.cast(pl.Utf8).str.zfill(3))
    return pl.when(v >= 1_000_000).then(high).otherwise(low)


def _wan(v: pl.Expr) -> pl.Expr:
    """`1.2万` for 12000: only called where the value is a whole number of thousands."""
    whole, tenth = (v // 10_000).cast(pl.Utf8), ((v % 10_000) // 1000).cast(pl.Utf8)
    return pl.when(v % 10_000 == 0).then(whole + "万").otherwise(pl.concat_str(whole, pl.lit("."), tenth, pl.lit("万")))


def _decimal(c: _Cells, style: FileStyle, unit: str) -> pl.Expr | None:
    v = c.v
    if not style.units:
        return None
    s = _decimal_text(v)
    if unit:
        s = pl.when(c.uc < style.units).then(s + unit).otherwise(s)
    return s


def _decimal_text(v: pl.Expr) -> pl.Expr:
    """`5` or `5.5`: how a person writes a decimal (not `5.0`)."""
    return pl.when(v == v.floor()).then(v.cast(pl.Int64).cast(pl.Utf8)).otherwise(v.round(1).cast(pl.Utf8))


def _date(c: _Cells, style: FileStyle) -> pl.Expr | None:
    v = c.v
    year, month, day = (part.cast(pl.Utf8) for part in (v.dt.year(), v.dt.month(), v.dt.day()))
    forms = {
        "iso": v.dt.to_string("%Y-%m-%d"),
        "slash": pl.concat_str(year, pl.lit("/"), month, pl.lit("/"), day),
        "dot": pl.concat_str(year, pl.lit("."), month, pl.lit("."), day),
        "cn": pl.concat_str(year, pl.lit("年"), month, pl.lit("月"), day, pl.lit("日")),
        "cn_short": pl.concat_str(month, pl.lit("月"), day, pl.lit("日")),
    }
    if style.date_style == "excel":
        return None if style.format == "xlsx" else forms["iso"]
    if style.date_style != "mixed":
        return forms[style.date_style]
    names = list(forms)
    expr = forms[names[-1]]
    for i, name in reversed(list(enumerate(names[:-1]))):
        expr = pl.when(c.ua < (i + 1) / len(names)).then(forms[name]).otherwise(expr)
    return expr


def _county(c: _Cells, style: FileStyle) -> pl.Expr | None:
    v = c.v
    reference = counties()
    codes = reference["county_code"].to_list()
    names = {
        "code": codes,
        "name": reference["name_zh"].to_list(),
        "short": reference["short_zh"].to_list(),
        "pinyin": reference["pinyin"].to_list(),
    }
    if style.county_style == "code":
        return None
    if style.county_style != "mixed":
        return v.replace_strict(codes, names[style.county_style], default=v)
    pinyin_lower = [p.lower() for p in names["pinyin"]]
    choices = [names["code"], names["name"], names["short"], names["pinyin"], pinyin_lower]
    expr = v.replace_strict(codes, choices[-1], default=v)
    for i, choice in reversed(list(enumerate(choices[:-1]))):
        expr = pl.when(c.ua < (i + 1) / len(choices)).then(
            v.replace_strict(codes, choice, default=v)).otherwise(expr)
    return expr


def _grade(c: _Cells, style: FileStyle) -> pl.Expr | None:
    v = c.v
    if style.grade_style == "int":
        return None
    words = list(_GRADE_WORDS)
    if style.grade_style != "mixed":
        mapping = _GRADE_WORDS[style.grade_style]
        return v.replace_strict(list(mapping), list(mapping.values()), return_dtype=pl.Utf8)
    expr = v.cast(pl.Utf8)
    for i, word in enumerate(words):
        mapping = _GRADE_WORDS[word]
        expr = pl.when(c.ua < (i + 1) / (len(words) + 1)).then(
            v.replace_strict(list(mapping), list(mapping.values()), return_dtype=pl.Utf8)).otherwise(expr)
    return expr


def _enum(c: _Cells, style: FileStyle, column: Column, rng: random.Random) -> pl.Expr | None:
    v = c.v
    if style.enum_style == "canonical" or not column.vocabulary:
        return None
    canonical = list(column.vocabulary)
    aliases = [rng.choice(column.vocabulary[value]) if column.vocabulary[value] else value
               for value in canonical]
    aliased = v.replace_strict(canonical, aliases, default=v)
    if style.enum_style == "alias":
        return aliased
    return pl.when(c.ua < 0.5).then(aliased).otherwise(v)


def _padded(c: _Cells, style: FileStyle) -> pl.Expr | None:
    v = c.v
    if not style.padding:
        return None
    return (pl.when(c.ub < style.padding / 2).then(v + "\u3000")
            .when(c.ub < style.padding).then(" " + v).otherwise(v))


# --------------------------------------------------------------------------- headers


def _header(column: Column, style: FileStyle, rng: random.Random) -> str:
    if style.headers == "canonical":
        return column.name
    if style.headers == "label" and rng.random() < 0.9:
        return column.label_zh
    choice = rng.choice(column.headers[1:] or column.headers)
    draw = rng.random()
    if draw < 0.25 and "（" in choice:
        choice = choice.replace("（", "(").replace("）", ")")
    elif draw < 0.35:
        choice = f" {choice}"
    elif draw < 0.45:
        choice = f"{choice} "
    return choice


# --------------------------------------------------------------------------- total row


def _total_row(columns: Sequence[Column], frame: pl.DataFrame, headers: Sequence[str]) -> dict[str, int]:
    """Column sums of the count columns, as a clerk's 合计 row would show them."""
    return {
        header: int(frame[column.name].sum())
        for column, header in zip(columns, headers, strict=True)
        if column.type is ColumnType.COUNT and frame[column.name].null_count() < frame.height
    }


def _reporter(seed: int, salt_key: tuple[str, ...]) -> tuple[str, str]:
    rng = rng_for(seed, "reporter", *salt_key)
    return rng.choice(REPORTERS), f"1380000{rng.randint(0, 9999):04d}"


# --------------------------------------------------------------------------- writers


def _csv(raw: pl.DataFrame, style: FileStyle) -> bytes:
    text = raw.write_csv(line_terminator="\r\n" if style.crlf else "\n", null_value="")
    encoding = style.encoding or "utf-8"
    return text.encode(encoding)


def _json(raw: pl.DataFrame, style: FileStyle, text: FileText) -> bytes:
    records = raw.to_dicts()
    payload: object = records
    if style.variant == "json-records":
        payload = {"county_code": text.county_code, "dataset": text.dataset, "period": text.period,
                   "records": records}
    # The same bytes as `json.dumps(...) + "\n"`, encoded in batches of chunks: with an indent,
    # `dumps` gathers one small string per token first, over 1 GB for a large scale's biggest file.
    chunks = json.JSONEncoder(ensure_ascii=False, indent=1, default=_json_default).iterencode(payload)
    buffer = io.BytesIO()
    while batch := list(itertools.islice(chunks, _JSON_BATCH)):
        buffer.write("".join(batch).encode())
    buffer.write(b"\n")
    return buffer.getvalue()


def _json_default(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _xlsx(raw: pl.DataFrame, style: FileStyle, text: FileText, total: dict[str, int] | None,
          reporter: str, phone: str) -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    workbook.set_properties({"title": text.title, "author": "", "company": "", "created": XLSX_CREATED})
    sheet = workbook.add_worksheet("Sheet1")
    bold = workbook.add_format({"bold": True, "align": "center", "border": 1})
    title_format = workbook.add_format({"bold": True, "font_size": 14, "align": "center"})
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd" if style.date_style == "excel" else "yyyy/m/d"})
    width = len(raw.columns)
    row = 0
    title_lines = [text.title, text.subtitle, "单位：人、元、小时"][: style.title_rows]
    for i, line in enumerate(title_lines):
        if i == 0 and width > 1:
            sheet.merge_range(row, 0, row, width - 1, line, title_format)
        else:
            sheet.write_string(row, 0, line)
        row += 1
    if title_lines:
        row += 1  # a blank row between the title block and the header
    sheet.write_row(row, 0, raw.columns, bold)
    sheet.set_column(0, width - 1, 14)
    row += 1
    for values in raw.iter_rows():
        for col, value in enumerate(values):
            _write_cell(sheet, row, col, value, date_format)
        row += 1
    if total is not None:
        sheet.write_string(row, 0, "合计")
        for col, header in enumerate(raw.columns):
            if header in total:
                sheet.write_number(row, col, total[header])
        row += 1
    if style.notes:
        row += 1
        sheet.write_string(row, 0, "填表说明：1. 数量请填写确数，不填“约”“余”“多”；2. 日期格式如 2025-07-06。")
        sheet.write_string(row + 1, 0, f"填报人：{reporter}　　联系电话：{phone}　　审核人：李四")
    if style.extra_sheet:
        notes = workbook.add_worksheet("填表说明")
        notes.write_string(0, 0, "本表由各县（市、区）填报，报市级汇总。")
    workbook.close()
    return buffer.getvalue()


def _write_cell(sheet: Worksheet, row: int, col: int, value: object, date_format: Format) -> None:
    if value is None:
        return
    if isinstance(value, str):
        sheet.write_string(row, col, value)
    elif isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, int | float):
        sheet.write_number(row, col, value)
    elif isinstance(value, date):
        sheet.write_datetime(row, col, datetime(value.year, value.month, value.day), date_format)
    else:
        raise TypeError(f"cannot write {type(value).__name__} to a spreadsheet")
