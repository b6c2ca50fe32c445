"""Write a canonical frame the way a county clerk would: messy, but (unless on purpose) valid.

A `FileStyle` says how one file looks: its format and encoding, which header names it uses,
how values are written (units, thousands separators, full-width digits, 万, date forms,
county names, enumeration aliases, missing-value markers), whether it carries personal data
columns, and for spreadsheets the title rows, the 合计 row and the notes below the data, and
the layouts of real county forms (SPEC §3.1; `countyflow.demo.forms`): merged group cells,
小计 rows, two-row headers, month sheets, a 填表说明 sheet, the 卫统 block, a hidden row.
Every form used here is one SPEC §3 accepts. Per-cell variation comes from a seeded hash of
the row number, so the same style and frame always give the same bytes.
"""

from __future__ import annotations

import io
import itertools
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

import polars as pl
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from countyflow.demo import forms
from countyflow.demo._random import rng_for, salt_for, uniform
from countyflow.demo.profiles import REPORTERS
from countyflow.periods import parse_period
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
    date_style: Literal["iso", "slash", "dot", "cn", "cn_short", "md", "mixed", "excel"] = "iso"
    """`2025-07-06`, `2025/7/6`, `2025.7.6`, `2025年7月6日`, `7月6日`, `7.6` (as typed in a cell),
    per cell, or date cells (XLSX)."""
    county_style: Literal["code", "name", "short", "pinyin", "mixed"] = "code"
    enum_style: Literal["canonical", "alias", "mixed"] = "canonical"
    grade_style: Literal["int", "一年级", "高一", "1年级", "cohort", "mixed"] = "int"
    """`1`, `一年级`, `高一`, `1年级`, `2025级` (the cohort: grade 1 of school year 2025), or mixed."""
    missing: str = ""
    """How an empty optional value is written: empty, `—`, `/`, `-`, `无` or `N/A`."""
    padding: float = 0.0
    """Share of free-text cells with a stray space or full-width space around them."""
    personal: bool = False
    """Carry 填报人 / 联系电话 / 备注 columns (personal data the pipeline must drop)."""
    serial: bool = False
    """A leading 序号 column (XLSX; not a contract column, ignored without a warning: SPEC §3.1)."""
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
    # Real county forms (SPEC §3.1), XLSX only; `countyflow.demo.forms` knows the datasets.
    merge_keys: bool = False
    """County, township, school, site or facility written once per group, merged down over its rows."""
    subtotals: bool = False
    """A 小计 row after each group (`龙头山镇小计`, `昭通市职业教育中心小计` or `小计`)."""
    total_label: str = "合计"
    """The total row's label: 合计, 总合计, 总计 or 全县合计."""
    total_at_top: bool = False
    """The total row directly under the header instead of after the data."""
    two_row_header: bool = False
    """`其中` over `留守儿童数 | 搬迁群众子女数` (sites), `在校生数` over `合计 | 其中：女` (vocational)."""
    month_sheets: bool = False
    """One sheet per month: a yearly workbook `1月`…`M月` (monthly data), or the season by month."""
    instructions_first: bool = False
    """A 填表说明 sheet before the data sheet(s)."""
    health_block: bool = False
    """The 卫统 block (表号, 制表机关, 批准机关, …) above a health table: header on row 9–12."""
    hidden_row: bool = False
    """A cancelled site (programme, facility) kept in the sheet but hidden: not canonical data."""
    dash_zero: str = ""
    """Write 0 in required count columns as this marker (`—`, `－`, `/`): read back as 0."""
    no_county: bool = False
    """No county column at all: the path gives the county."""
    wide: bool = False
    """Volunteers as one row per site with one column per kind (and 合计)."""

    @property
    def format(self) -> str:
        return self.variant.split("-")[0]

    @property
    def layouts(self) -> tuple[str, ...]:
        """The real-form layouts (SPEC §3.1) this style uses, by name."""
        flags = {
            "merged_keys": self.merge_keys, "subtotals": self.subtotals, "total_at_top": self.total_at_top,
            "two_row_header": self.two_row_header, "month_sheets": self.month_sheets,
            "instructions_first": self.instructions_first, "health_block": self.health_block,
            "hidden_row": self.hidden_row, "dash_zero": bool(self.dash_zero), "no_county": self.no_county,
            "cohort_grades": self.grade_style == "cohort", "month_day_dates": self.date_style == "md",
            "wide_volunteers": self.wide,
        }
        return tuple(name for name, on in flags.items() if on)

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
           seed: int, defects: Sequence[Defect] = (), earlier: Sequence[pl.DataFrame] = ()) -> Rendered:
    """The bytes of one file holding `frame` (canonical columns, typed).

    `earlier`: for a monthly dataset written with month sheets, the frames of the year's
    earlier months (same county), each written as its own sheet before the period's; only
    the period's sheet is this submission's data (`Rendered.raw`, `Rendered.rows`).
    """
    salt_key = (text.dataset, text.county_code, text.period, style.variant)
    year = parse_period(text.period).year
    reporter, phone = _reporter(seed, salt_key)
    if style.wide:
        return _render_wide(contract, frame, style, text, seed, salt_key, reporter, phone)
    columns = [c for c in contract.columns if c.name in frame.columns and c.name not in style.omit
               and not (style.no_county and c.type is ColumnType.COUNTY)]
    rng = rng_for(seed, "headers", *salt_key)
    headers = [_header(column, style, rng) for column in columns]
    tiers: dict[str, tuple[str, str]] = {}
    if style.two_row_header:
        headers, tiers = _two_row_headers(columns, headers)
    table = _Columns(columns, headers, tiers)
    raw = _cells(table, frame, style, seed, salt_key, year, defects=defects)
    merged = _merged(text.dataset, table, style)
    if merged:
        raw = _merged_values(raw, frame, table, merged)
    unknown = [forms.FEMALE_HEADER] if forms.FEMALE_HEADER in raw.columns else []
    personal = list(PERSONAL_HEADERS) if style.personal else []
    if style.format == "csv":
        data = _csv(raw, style)
    elif style.format == "xlsx":
        sheets = _sheets(contract, table, frame, raw, style, text, seed, salt_key, year, earlier, merged)
        data = _xlsx(sheets, style, text, reporter, phone, table.tiers)
    else:
        data = _json(raw, style, text)
    return Rendered(data, tuple(raw.columns), tuple(personal), tuple(unknown), frame.height, raw)


@dataclass(frozen=True)
class _Columns:
    """The contract columns a file writes and their header names (and two-row header tiers)."""

    columns: Sequence[Column]
    headers: Sequence[str]
    tiers: Mapping[str, tuple[str, str]]
    """Header name → (upper, lower) header cells, for the columns under a merged parent."""

    def header(self, name: str) -> str | None:
        for column, header in zip(self.columns, self.headers, strict=True):
            if column.name == name:
                return header
        return None


def _two_row_headers(columns: Sequence[Column], headers: Sequence[str],
                     ) -> tuple[list[str], dict[str, tuple[str, str]]]:
    """Header names under a merged parent: sites' `其中` over 留守儿童数 | 搬迁群众子女数, or
    vocational `在校生数` over 合计 | 其中：女 (the 其中：女 column is added by `_cells`)."""
    names = [c.name for c in columns]
    renamed = list(headers)
    tiers: dict[str, tuple[str, str]] = {}
    if all(name in names for name in forms.TWO_ROW_LEAVES):
        for name, leaf in forms.TWO_ROW_LEAVES.items():
            renamed[names.index(name)] = leaf
            tiers[leaf] = (forms.TWO_ROW_PARENT, leaf)
    elif "enrolled" in names:
        renamed[names.index("enrolled")] = forms.ENROLLED_PARENT
        tiers[forms.ENROLLED_PARENT] = (forms.ENROLLED_PARENT, forms.ENROLLED_LEAF)
        tiers[forms.FEMALE_HEADER] = (forms.ENROLLED_PARENT, forms.FEMALE_LEAF)
    return renamed, tiers


def _cells(table: _Columns, frame: pl.DataFrame, style: FileStyle, seed: int, salt_key: tuple[str, ...],
           year: int, *, defects: Sequence[Defect] = (), serial: bool = True) -> pl.DataFrame:
    """The cells of `frame` as written, header names as columns (`serial`: number the rows
    in a 序号 column when the style has one, else leave it empty)."""
    columns = table.columns
    # One noise draw per file (three per cell), sliced per column: a call per column is slow.
    noise = uniform(salt_for(seed, *salt_key), pl.int_range(3 * len(columns) * frame.height,
                                                           dtype=pl.Int64, eager=True))
    work = frame.select([c.name for c in columns]).with_columns(
        noise.slice((3 * i + k) * frame.height, frame.height).alias(f"{column.name}__{part}")
        for i, column in enumerate(columns) for k, part in enumerate("abc")
    )
    alias_rng = rng_for(seed, "aliases", *salt_key)
    raw = work.select(_render_column(column, frame[column.name], style, alias_rng, year) for column in columns)
    for defect in defects:
        raw = raw.with_columns(
            pl.when(pl.int_range(pl.len()) == defect.row).then(pl.lit(defect.text))
            .otherwise(pl.col(defect.column).cast(pl.Utf8)).alias(defect.column))
    if style.dash_zero:
        raw = raw.with_columns(
            pl.when(pl.lit(frame[c.name] == 0)).then(pl.lit(style.dash_zero))
            .otherwise(pl.col(c.name).cast(pl.Utf8)).alias(c.name)
            for c in columns if c.type is ColumnType.COUNT and c.required and (frame[c.name] == 0).any())
    raw = raw.rename(dict(zip([c.name for c in columns], table.headers, strict=True)))
    if forms.FEMALE_HEADER in table.tiers:
        enrolled = table.header("enrolled")
        assert enrolled is not None
        raw.insert_column(raw.columns.index(enrolled) + 1, forms.female(frame["enrolled"], seed, *salt_key))
    return _serial_and_personal(raw, style, seed, salt_key, serial=serial)


def _serial_and_personal(raw: pl.DataFrame, style: FileStyle, seed: int, salt_key: tuple[str, ...], *,
                         serial: bool = True) -> pl.DataFrame:
    if style.serial:
        number = pl.int_range(1, pl.len() + 1, dtype=pl.Int64) if serial else pl.lit(None, dtype=pl.Int64)
        raw = raw.select(number.alias(SERIAL_HEADER), pl.all())
    if style.personal:
        reporter, phone = _reporter(seed, salt_key[:4])
        remark_noise = uniform(salt_for(seed, *salt_key, "remarks"),
                               pl.int_range(raw.height, dtype=pl.Int64, eager=True))
        remark_index = (remark_noise * len(_REMARKS) * 4).cast(pl.Int64)
        remarks = pl.Series([_REMARKS[i] if i < len(_REMARKS) else None for i in remark_index], dtype=pl.Utf8)
        raw = raw.with_columns(pl.lit(reporter).alias("填报人"), pl.lit(phone).alias("联系电话"),
                               remarks.alias("备注"))
    return raw


def _merged(dataset: str, table: _Columns, style: FileStyle) -> list[str]:
    """The columns written once per group, outermost first (those this file has)."""
    if not style.merge_keys:
        return []
    present = {c.name for c in table.columns}
    return [name for name in forms.GROUPS[dataset].merge if name in present]


def _merged_values(raw: pl.DataFrame, frame: pl.DataFrame, table: _Columns, merged: Sequence[str]) -> pl.DataFrame:
    """One spelling per group in a merged column (a merged cell shows its top-left value)."""
    keys = [f"__key_{name}" for name in merged]
    work = raw.with_columns(frame[name].alias(key) for name, key in zip(merged, keys, strict=True))
    return work.with_columns(
        pl.col(header).first().over(keys[: depth + 1]).alias(header)
        for depth, header in enumerate(table.header(name) for name in merged) if header is not None
    ).drop(keys)


def _render_wide(contract: Contract, frame: pl.DataFrame, style: FileStyle, text: FileText, seed: int,
                 salt_key: tuple[str, ...], reporter: str, phone: str) -> Rendered:
    """Volunteers as one row per site, one column per kind and a 合计 column."""
    wide = forms.wide(frame)
    rng = rng_for(seed, "headers", *salt_key)
    site_header = _header(contract.column("site_code"), style, rng)
    raw = _serial_and_personal(wide.rename({"site_code": site_header}), style, seed, salt_key)
    unknown: list[str] = []
    personal = list(PERSONAL_HEADERS) if style.personal else []
    if style.format != "xlsx":
        data = _csv(raw, style) if style.format == "csv" else _json(raw, style, text)
        return Rendered(data, tuple(raw.columns), tuple(personal), tuple(unknown), frame.height, raw)
    counts = [label for _, label in forms.WIDE_SOURCES] + [forms.WIDE_TOTAL]
    hidden = None
    if style.hidden_row:
        after = forms.hidden_position(wide, "site_code", rng_for(seed, "hidden-row", *salt_key))
        row = {**forms.wide_hidden_row(text.county_code)}
        row[site_header] = row.pop("site_code")
        cells = tuple(row.get(column) for column in raw.columns)
        hidden = _Hidden(after, cells, ())
    sheet = _Sheet(
        name="Sheet1", title=text.title, month=parse_period(text.period).start.month, raw=raw,
        total=({h: int(wide[h].sum()) for h in counts} if style.total_row else None),
        total_column=_label_column(raw, style), hidden=hidden)
    return Rendered(_xlsx([sheet], style, text, reporter, phone, {}), tuple(raw.columns), tuple(personal),
                    tuple(unknown), frame.height, raw)


@dataclass(frozen=True)
class _Hidden:
    after: int
    """The data row (0-based, in the sheet's data) the hidden row follows."""
    cells: tuple[object, ...]
    keys: tuple[object, ...]
    """Its canonical values of the merged columns."""


@dataclass(frozen=True)
class _Subtotal:
    after: int
    label: str
    sums: Mapping[str, int]


@dataclass(frozen=True)
class _Sheet:
    """One data sheet: its rows as written and everything around them."""

    name: str
    title: str
    month: int
    raw: pl.DataFrame
    keys: Sequence[tuple[object, ...]] = ()
    """Per data row, the canonical values of the merged columns (a merged run spans equal prefixes)."""
    merge_columns: tuple[int, ...] = ()
    subtotals: Sequence[_Subtotal] = ()
    label_column: int = 0
    total: Mapping[str, int] | None = None
    total_column: int = 0
    hidden: _Hidden | None = None
    numeric: frozenset[int] = frozenset()
    """Columns whose digit-only text cells are written as numbers (counts with `—` for 0)."""
    year: int = 0
    facility: str = ""
    """The 卫统 block's 机构名称 (health)."""


def _sheets(contract: Contract, table: _Columns, frame: pl.DataFrame, raw: pl.DataFrame, style: FileStyle,
            text: FileText, seed: int, salt_key: tuple[str, ...], year: int, earlier: Sequence[pl.DataFrame],
            merged: Sequence[str]) -> list[_Sheet]:
    dataset = text.dataset
    month = parse_period(text.period).start.month
    parts: list[tuple[str, int, pl.DataFrame, pl.DataFrame, str]] = []
    if style.month_sheets and dataset == "childcare_daily":
        months = frame["date"].dt.month()
        for value in months.unique(maintain_order=True).to_list():
            mask = months == value
            parts.append((forms.MONTH_SHEET.format(month=value), value, frame.filter(mask), raw.filter(mask),
                          text.title))
    elif style.month_sheets:
        for other in earlier:
            other = forms.arrange(dataset, other, merge_keys=style.merge_keys, subtotals=style.subtotals,
                                  month_sheets=False, wide=False)
            other_month = int(str(other["period"][0])[5:7])
            other_raw = _cells(table, other, style, seed, (*salt_key, f"sheet-{other_month}"), year)
            if merged:
                other_raw = _merged_values(other_raw, other, table, merged)
            title = text.title.replace(f"年{month}月", f"年{other_month}月")
            parts.append((forms.MONTH_SHEET.format(month=other_month), other_month, other, other_raw, title))
        parts.append((forms.MONTH_SHEET.format(month=month), month, frame, raw, text.title))
    else:
        parts.append(("Sheet1", month, frame, raw, text.title))
    hidden_part = len(parts) - 1 if dataset == "health_monthly" else 0
    layouts = bool(style.layouts)
    sheets = []
    for index, (name, sheet_month, part, part_raw, title) in enumerate(parts):
        hidden = None
        if style.hidden_row and index == hidden_part:
            hidden = _hidden(table, part, part_raw, style, text, seed, salt_key, year, merged)
        dashed = frozenset(i for i, h in enumerate(part_raw.columns)
                           if style.dash_zero and h in {table.header(c.name) for c in table.columns
                                                        if c.type is ColumnType.COUNT})
        total = None
        if style.total_row:
            total = _total_row(table.columns, part, table.headers)
            if forms.FEMALE_HEADER in part_raw.columns:
                total[forms.FEMALE_HEADER] = int(part_raw[forms.FEMALE_HEADER].sum())
        sheets.append(_Sheet(
            name=name, title=title, month=sheet_month, raw=part_raw,
            keys=part.select(merged).rows() if merged else (),
            merge_columns=tuple(part_raw.columns.index(h) for h in (table.header(n) for n in merged) if h),
            subtotals=_subtotals(dataset, table, part, part_raw) if style.subtotals else (),
            label_column=_subtotal_column(dataset, table, part_raw, style),
            total=total, total_column=_label_column(part_raw, style) if layouts else 0,
            hidden=hidden, numeric=dashed, year=year,
            facility=str(part["facility_name"][0]) if "facility_name" in part.columns else ""))
    return sheets


def _hidden(table: _Columns, part: pl.DataFrame, part_raw: pl.DataFrame, style: FileStyle, text: FileText,
            seed: int, salt_key: tuple[str, ...], year: int, merged: Sequence[str]) -> _Hidden:
    """The cancelled row, written like its neighbours (merged cells spelled as the group's)."""
    after, row = forms.hidden_row(text.dataset, part, text.county_code, seed, text.period)
    cells = _cells(table, row, style, seed, (*salt_key, "hidden"), year, serial=False)
    cells = cells.with_columns(pl.col(h).cast(part_raw[h].dtype, strict=False) for h in cells.columns)
    values = list(cells.row(0))
    keys = row.select(merged).row(0) if merged else ()
    neighbour = part.select(merged).row(after) if merged else ()
    for depth, name in enumerate(merged):
        header = table.header(name)
        if header is not None and keys[: depth + 1] == neighbour[: depth + 1]:
            values[part_raw.columns.index(header)] = part_raw[header][after]
    return _Hidden(after, tuple(values), tuple(keys))


def _subtotals(dataset: str, table: _Columns, part: pl.DataFrame, part_raw: pl.DataFrame) -> list[_Subtotal]:
    """A 小计 row after each group of rows (its sums are the group's, computed at once)."""
    groups = forms.GROUPS[dataset]
    if groups.by not in part.columns:
        return []
    sums = {table.header(c.name): c.name for c in table.columns
            if c.type is ColumnType.COUNT and part[c.name].null_count() < part.height}
    work = part.select(pl.col(groups.by).rle_id().alias("__run"), pl.int_range(pl.len()).alias("__row"),
                       pl.col(groups.label).alias("__label"), *[pl.col(c) for c in sums.values()])
    if forms.FEMALE_HEADER in part_raw.columns:
        work = work.with_columns(part_raw[forms.FEMALE_HEADER].alias("__female"))
    aggregated = work.group_by("__run", maintain_order=True).agg(
        pl.col("__row").max(), pl.col("__label").first(),
        *[pl.col(c).sum().alias(c) for c in (*sums.values(), *(["__female"] if "__female" in work.columns else []))],
        *[pl.col(c).is_not_null().any().alias(f"{c}__any") for c in sums.values()])
    result = []
    for group in aggregated.iter_rows(named=True):
        label = f"{group['__label']}小计" if groups.named and group["__label"] else "小计"
        values = {header: int(group[name]) for header, name in sums.items() if header and group[f"{name}__any"]}
        if "__female" in group:
            values[forms.FEMALE_HEADER] = int(group["__female"])
        result.append(_Subtotal(group["__row"], label, values))
    return result


def _subtotal_column(dataset: str, table: _Columns, raw: pl.DataFrame, style: FileStyle) -> int:
    header = table.header(forms.GROUPS[dataset].label)
    return raw.columns.index(header) if header in raw.columns else _label_column(raw, style)


def _label_column(raw: pl.DataFrame, style: FileStyle) -> int:
    """Where a total's label goes: the first column, or the one after 序号."""
    return 1 if style.serial and raw.width > 1 else 0


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


def _render_column(column: Column, values: pl.Series, style: FileStyle, rng: random.Random,
                   year: int) -> pl.Expr:
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
        expr = _grade(c, style, year)
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
        "md": pl.concat_str(month, pl.lit("."), day),
    }
    if style.date_style == "excel":
        return None if style.format == "xlsx" else forms["iso"]
    if style.date_style != "mixed":
        return forms[style.date_style]
    names = [name for name in forms if name != "md"]  # `mixed` predates `md`: the same draws
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


def _grade(c: _Cells, style: FileStyle, year: int) -> pl.Expr | None:
    v = c.v
    if style.grade_style == "int":
        return None
    if style.grade_style == "cohort":
        return pl.concat_str((pl.lit(year) - v + 1).cast(pl.Utf8), pl.lit("级"))
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


class _Formats:
    """Cell formats, created on first use (a workbook's bytes list every format it created)."""

    def __init__(self, workbook: xlsxwriter.Workbook, style: FileStyle) -> None:
        self.workbook = workbook
        self.bold = workbook.add_format({"bold": True, "align": "center", "border": 1})
        self.title = workbook.add_format({"bold": True, "font_size": 14, "align": "center"})
        self.date = workbook.add_format({"num_format": "yyyy-mm-dd" if style.date_style == "excel" else "yyyy/m/d"})
        self._merged: Format | None = None

    @property
    def merged(self) -> Format:
        if self._merged is None:
            self._merged = self.workbook.add_format({"align": "center", "valign": "vcenter"})
        return self._merged


def _xlsx(sheets: Sequence[_Sheet], style: FileStyle, text: FileText, reporter: str, phone: str,
          tiers: Mapping[str, tuple[str, str]]) -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    workbook.set_properties({"title": text.title, "author": "", "company": "", "created": XLSX_CREATED})
    if style.instructions_first:
        instructions = workbook.add_worksheet(forms.INSTRUCTIONS_SHEET)
        for row, line in enumerate(forms.INSTRUCTIONS):
            instructions.write_string(row, 0, line)
        instructions.set_column(0, 0, 80)
    worksheets = [workbook.add_worksheet(sheet.name) for sheet in sheets]
    formats = _Formats(workbook, style)
    for worksheet, sheet in zip(worksheets, sheets, strict=True):
        _write_sheet(worksheet, sheet, style, text, formats, tiers, reporter, phone)
    if style.instructions_first or len(sheets) > 1:
        worksheets[-1].activate()  # the workbook opens on the period's data
    if style.extra_sheet and not style.instructions_first:
        notes = workbook.add_worksheet(forms.INSTRUCTIONS_SHEET)
        notes.write_string(0, 0, "本表由各县（市、区）填报，报市级汇总。")
    workbook.close()
    return buffer.getvalue()


def _write_sheet(sheet: Worksheet, table: _Sheet, style: FileStyle, text: FileText, formats: _Formats,
                 tiers: Mapping[str, tuple[str, str]], reporter: str, phone: str) -> None:
    raw = table.raw
    width = len(raw.columns)
    if style.health_block:
        row = _health_block(sheet, table, style, width, formats)
    else:
        row = 0
        title_lines = [table.title, text.subtitle, "单位：人、元、小时"][: style.title_rows]
        for i, line in enumerate(title_lines):
            if i == 0 and width > 1:
                sheet.merge_range(row, 0, row, width - 1, line, formats.title)
            else:
                sheet.write_string(row, 0, line)
            row += 1
        if title_lines:
            row += 1  # a blank row between the title block and the header
    if tiers:
        _two_row_header(sheet, row, raw.columns, tiers, formats.bold)
        sheet.set_column(0, width - 1, 14)
        row += 2
    else:
        sheet.write_row(row, 0, raw.columns, formats.bold)
        sheet.set_column(0, width - 1, 14)
        row += 1
    if table.total is not None and style.total_at_top:
        _write_total(sheet, row, table, style)
        row += 1
    if table.merge_columns or table.subtotals or table.hidden or table.numeric:
        row = _write_body(sheet, row, table, formats)
    else:
        for values in raw.iter_rows():
            for col, value in enumerate(values):
                _write_cell(sheet, row, col, value, formats.date)
            row += 1
    if table.total is not None and not style.total_at_top:
        _write_total(sheet, row, table, style)
        row += 1
    if style.notes:
        row += 1
        sheet.write_string(row, 0, "填表说明：1. 数量请填写确数，不填“约”“余”“多”；2. 日期格式如 2025-07-06。")
        sheet.write_string(row + 1, 0, f"填报人：{reporter}　　联系电话：{phone}　　审核人：李四")


def _health_block(sheet: Worksheet, table: _Sheet, style: FileStyle, width: int, formats: _Formats) -> int:
    """Title, the 卫统 block (form number and authorities on the right, organisation on the
    left, then the month), blank rows: the header lands on sheet row 9 to 12."""
    row = 0
    if style.title_rows:
        sheet.merge_range(row, 0, row, max(width - 1, 1), table.title, formats.title)
        row += 2
    right = max(width - 3, 1)
    for on_right, line in forms.health_block(table.year, table.month, table.facility):
        sheet.write_string(row, right if on_right else 0, line)
        row += 1
    if style.title_rows >= 2:
        row += 1
    return row


def _two_row_header(sheet: Worksheet, row: int, headers: Sequence[str], tiers: Mapping[str, tuple[str, str]],
                    bold: Format) -> None:
    """Columns under a parent: the parent merged across, leaves below; the others merged down."""
    col = 0
    while col < len(headers):
        top = tiers.get(headers[col], (headers[col],))[0]
        if headers[col] not in tiers:
            sheet.merge_range(row, col, row + 1, col, "", bold)
            sheet.write_string(row, col, top, bold)
            col += 1
            continue
        end = col
        while end + 1 < len(headers) and tiers.get(headers[end + 1], ("",))[0] == top:
            end += 1
        if end > col:
            sheet.merge_range(row, col, row, end, "", bold)
        sheet.write_string(row, col, top, bold)
        for leaf_col in range(col, end + 1):
            sheet.write_string(row + 1, leaf_col, tiers[headers[leaf_col]][1], bold)
        col = end + 1


def _write_total(sheet: Worksheet, row: int, table: _Sheet, style: FileStyle) -> None:
    assert table.total is not None
    sheet.write_string(row, table.total_column, style.total_label)
    for col, header in enumerate(table.raw.columns):
        if header in table.total:
            sheet.write_number(row, col, table.total[header])


def _write_body(sheet: Worksheet, row: int, table: _Sheet, formats: _Formats) -> int:
    """Data rows with their hidden row and 小计 rows in place; group columns merged down over
    each run of equal values (a 小计 row ends every run). Returns the next free row."""
    subtotals: dict[int, list[_Subtotal]] = {}
    for subtotal in table.subtotals:
        subtotals.setdefault(subtotal.after, []).append(subtotal)
    merge_set = set(table.merge_columns)
    runs: list[tuple[int, tuple[object, ...], object] | None] = [None] * len(table.merge_columns)

    def close(depth: int, end: int) -> None:
        run = runs[depth]
        if run is None:
            return
        start, _, value = run
        col = table.merge_columns[depth]
        if end > start:
            sheet.merge_range(start, col, end, col, "", formats.merged)
            _write_cell(sheet, start, col, value, formats.date, formats.merged)
        else:
            _write_cell(sheet, start, col, value, formats.date)
        runs[depth] = None

    def write(cells: tuple[object, ...], keys: tuple[object, ...]) -> None:
        for col, value in enumerate(cells):
            if col not in merge_set:
                _write_cell(sheet, row, col, value, formats.date, numeric=col in table.numeric)
        for depth, col in enumerate(table.merge_columns):
            run = runs[depth]
            if run is None or run[1] != keys[: depth + 1]:
                close(depth, row - 1)
                runs[depth] = (row, keys[: depth + 1], cells[col])

    for index, cells in enumerate(table.raw.iter_rows()):
        write(cells, table.keys[index] if table.keys else ())
        row += 1
        if table.hidden is not None and table.hidden.after == index:
            sheet.set_row(row, None, None, {"hidden": True})
            write(table.hidden.cells, table.hidden.keys)
            row += 1
        for subtotal in subtotals.get(index, ()):
            for depth in range(len(runs)):
                close(depth, row - 1)
            sheet.write_string(row, table.label_column, subtotal.label)
            for col, header in enumerate(table.raw.columns):
                if header in subtotal.sums:
                    sheet.write_number(row, col, subtotal.sums[header])
            row += 1
    for depth in range(len(runs)):
        close(depth, row - 1)
    return row


def _write_cell(sheet: Worksheet, row: int, col: int, value: object, date_format: Format,
                cell_format: Format | None = None, *, numeric: bool = False) -> None:
    if value is None:
        return
    if isinstance(value, str):
        if numeric and value.isascii() and value.isdigit():
            sheet.write_number(row, col, int(value), cell_format)
        else:
            sheet.write_string(row, col, value, cell_format)
    elif isinstance(value, bool):
        sheet.write_boolean(row, col, value, cell_format)
    elif isinstance(value, int | float):
        sheet.write_number(row, col, value, cell_format)
    elif isinstance(value, date):
        sheet.write_datetime(row, col, datetime(value.year, value.month, value.day), date_format)
    else:
        raise TypeError(f"cannot write {type(value).__name__} to a spreadsheet")
