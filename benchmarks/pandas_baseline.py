"""B1: the load most teams write first — pandas to read, a Python function per cell to clean,
pandera (pandas backend) to validate, `DataFrame.to_sql` to load.

It reads the same files (CSV in UTF-8 or GB18030, JSON lists or `{"records": …}`), maps
the same headers (taken from the contracts), cleans the same value forms, checks the main
rules with one pandera schema per dataset, rejects a file with any error, and appends the
valid ones to one flat table per dataset, skipping a file whose SHA-256 was loaded before.
Workbooks are given to it already read: the demo's XLSX files are laid out as county
offices fill them in (merged cells, month sheets, 小计 rows, two-row headers) and
`pandas.read_excel` does not read those right, so B1 reads the table countyflow's reader
found (`tables`, converted before the clock like B0's input); it falls back to its own
`read_excel` for a workbook without one. What it does not do (star schema, SCD2, supersession,
registry checks, clerk reports, row-level issue audit) is listed in BENCHMARKS.md: it does
less than countyflow, so the comparison flatters it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa
import sqlalchemy as sa
from pandera.errors import SchemaErrors

from countyflow.periods import Period, parse_period
from countyflow.reference import county_aliases
from schemas import CONTRACTS
from schemas.contract import PERSONAL_COLUMNS, Column, ColumnType, Contract

_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_MISSING = {"", "—", "——", "-", "--", "/", "无", "n/a", "na", "null", "nan", "none"}
_COUNT = re.compile(r"^(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(万)?(?:人次|小时|人|个|名|元|天|台|张|次|例)?$")
_DECIMAL = re.compile(r"^(\d+(?:\.\d+)?)(万)?(?:元/人·天|元/人/天|元/天|元|小时|h)?$")
_DATE_YMD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?(?:[ T].*)?$")
_DATE_MD = re.compile(r"^(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?$")
_GRADE = re.compile(r"^(?:中职|高职|高|职)?([0-9]|[一二三])(?:\.0)?(?:年级)?$")
_CODES = {"site_code": r"^[0-9A-Za-z-]{4,32}$", "school_code": r"^\d{10}$",
          "facility_code": r"^[0-9A-Z]{6,18}$"}
_STOP_WORDS = ("填表说明", "填报人", "说明", "注：", "备注：")


def _header_key(text: object) -> str:
    folded = unicodedata.normalize("NFKC", str(text))
    return re.sub(r"\s+", "", folded).strip("*").casefold()


def _headers(contract: Contract) -> dict[str, str]:
    mapping = {}
    for column in (*contract.columns, *PERSONAL_COLUMNS):
        for header in column.headers:
            mapping[_header_key(header)] = column.name
    return mapping


def _column_name(header: object, mapping: dict[str, str]) -> str | None:
    key = _header_key(header)
    return mapping.get(key) or mapping.get(re.sub(r"\([^()]*\)$", "", key))


def _clean(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).translate(_FULL_WIDTH).strip()
    return None if text.replace(" ", "").lower() in _MISSING else text


# --- reading -----------------------------------------------------------------------------


def read_file(path: Path, contract: Contract) -> pd.DataFrame:
    mapping = _headers(contract)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("gb18030")
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    elif suffix == ".json":
        data = json.loads(path.read_bytes())
        records = data["records"] if isinstance(data, dict) else data
        frame = pd.DataFrame(records).astype(str)
    else:
        grid = pd.read_excel(path, header=None, dtype=str, engine="openpyxl")
        header_row = next(i for i in range(min(6, len(grid)))
                          if sum(_column_name(v, mapping) is not None for v in grid.iloc[i]) >= 2)
        frame = grid.iloc[header_row + 1:].copy()
        frame.columns = list(grid.iloc[header_row])
        keep = []
        for _, row in frame.iterrows():
            first = next((str(v).strip() for v in row if isinstance(v, str) and v.strip()), "")
            if not first:
                continue
            if first.startswith(_STOP_WORDS):
                break
            keep.append(not first.startswith(("合计", "总计")))
        frame = frame.iloc[:len(keep)][keep] if keep else frame.iloc[0:0]
    names = {header: _column_name(header, mapping) for header in frame.columns}
    frame = frame[[h for h, name in names.items() if name is not None]]
    frame.columns = [names[h] for h in frame.columns]
    personal = {column.name for column in PERSONAL_COLUMNS}
    return frame[[c for c in frame.columns if c not in personal]]


# --- cleaning (a function per cell, as usual) ----------------------------------------------


def _count(value: Any) -> float | None:
    text = _clean(value)
    if text is None:
        return None
    match = _COUNT.match(text.replace(" ", ""))
    if not match:
        return float("nan")
    number = float(match.group(1).replace(",", "") + "." + (match.group(2) or "0"))
    number *= 10_000 if match.group(3) else 1
    return number if number == int(number) else float("nan")


def _decimal(value: Any) -> float | None:
    text = _clean(value)
    if text is None:
        return None
    match = _DECIMAL.match(text.replace(" ", "").replace(",", ""))
    if not match:
        return float("nan")
    return float(match.group(1)) * (10_000 if match.group(2) else 1)


def _date(period: Period) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        text = _clean(value)
        if text is None:
            return None
        try:
            if (match := _DATE_YMD.match(text)) is not None:
                return dt.date(*(int(part) for part in match.groups()))
            if (match := _DATE_MD.match(text)) is not None:
                month, day = int(match.group(1)), int(match.group(2))
                year = period.start.year if month >= period.start.month else period.end.year
                return dt.date(year, month, day)
            if text.isdigit() and len(text) == 5:
                return dt.date(1899, 12, 30) + dt.timedelta(days=int(text))
        except ValueError:
            return pd.NaT
        return pd.NaT
    return parse


def _lookup(mapping: dict[str, str]) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        text = _clean(value)
        if text is None:
            return None
        key = re.sub(r"\s+", "", text).lower().strip("\"'“”")
        return mapping.get(re.sub(r"\.0+$", "", key), "__unknown__")
    return parse


def _grade(value: Any) -> float | None:
    text = _clean(value)
    if text is None:
        return None
    match = _GRADE.match(text.replace(" ", ""))
    if not match:
        return float("nan")
    digit = match.group(1)
    return float({"一": 1, "二": 2, "三": 3}.get(digit) or int(digit))


def _vocabulary(column: Column) -> dict[str, str]:
    mapping = {}
    for canonical, aliases in (column.vocabulary or {}).items():
        for spelling in (canonical, *aliases):
            key = re.sub(r"\s+", "", str(spelling).translate(_FULL_WIDTH)).lower().strip("\"'“”")
            mapping.setdefault(key, canonical)
    return mapping


def clean(frame: pd.DataFrame, contract: Contract, period: Period) -> tuple[pd.DataFrame, int]:
    """Typed columns; returns the frame and how many non-blank cells could not be read."""
    counties = county_aliases()
    county_map = dict(zip(counties["alias"].to_list(), counties["county_code"].to_list(), strict=True))
    out = pd.DataFrame(index=frame.index)
    unreadable = 0
    for column in contract.columns:
        if column.name not in frame.columns:
            out[column.name] = pd.Series(pd.NA, index=frame.index, dtype="object")
            continue
        raw = frame[column.name]
        if column.type in (ColumnType.COUNT, ColumnType.GRADE):
            values = raw.map(_count if column.type is ColumnType.COUNT else _grade)
            unreadable += int(values.isna().sum() - raw.map(_clean).isna().sum())
            out[column.name] = values.astype("Float64").round().astype("Int64")
        elif column.type is ColumnType.DECIMAL:
            values = raw.map(_decimal)
            unreadable += int(values.isna().sum() - raw.map(_clean).isna().sum())
            out[column.name] = values.astype("Float64")
        elif column.type is ColumnType.DATE:
            values = raw.map(_date(period))
            unreadable += int(values.isna().sum() - raw.map(_clean).isna().sum())
            out[column.name] = pd.to_datetime(values, errors="coerce")
        elif column.type is ColumnType.COUNTY or column.vocabulary:
            mapping = county_map if column.type is ColumnType.COUNTY else _vocabulary(column)
            values = raw.map(_lookup(mapping))
            if column.type is not ColumnType.ENUM and column.type is not ColumnType.COUNTY:
                values = values.where(values != "__unknown__", raw.map(_clean))  # open vocabulary
            out[column.name] = values.astype("string")
        else:
            out[column.name] = raw.map(_clean).astype("string")
    return out, unreadable


# --- validation -----------------------------------------------------------------------------


def _le(left: str, right: str) -> pa.Check:
    return pa.Check(lambda df: (df[left] <= df[right]).fillna(True), name=f"{left}<={right}")


def _within(column: str, period: Period) -> pa.Check:
    start, end = pd.Timestamp(period.start), pd.Timestamp(period.end)
    return pa.Check(lambda df: df[column].between(start, end).fillna(True), name=f"{column} in period")


def schema_for(contract: Contract, period: Period, county_code: str) -> pa.DataFrameSchema:
    columns = {}
    for column in contract.columns:
        checks: list[pa.Check] = []
        if column.type is ColumnType.COUNT:
            dtype: Any = "Int64"
            checks.append(pa.Check.ge(0))
        elif column.type is ColumnType.GRADE:
            dtype = "Int64"
            checks.append(pa.Check.isin([1, 2, 3]))
        elif column.type is ColumnType.DECIMAL:
            dtype = "Float64"
            checks.append(pa.Check.ge(0))
        elif column.type is ColumnType.DATE:
            dtype = "datetime64[ns]"
        else:
            dtype = "string"
            if column.type is ColumnType.ENUM:
                checks.append(pa.Check.isin(list(column.vocabulary or {})))
            if column.type is ColumnType.COUNTY:
                checks.append(pa.Check.eq(county_code))
            if column.name in _CODES:
                checks.append(pa.Check.str_matches(_CODES[column.name]))
        columns[column.name] = pa.Column(dtype, checks, nullable=not column.required, coerce=True)
    frame_checks: list[pa.Check] = []
    if contract.dataset == "childcare_sites":
        frame_checks += [_le("left_behind_children", "children_enrolled"),
                         _le("relocated_children", "children_enrolled"),
                         _le("start_date", "end_date"),
                         _within("start_date", period), _within("end_date", period)]
        columns["hours_per_day"].checks.append(pa.Check.in_range(0, 12, include_min=False))
        columns["meal_subsidy_yuan"].checks.append(pa.Check.in_range(0, 50))
    elif contract.dataset == "vocational_enrollment":
        frame_checks.append(_le("dropouts", "enrolled"))
    elif contract.dataset == "childcare_daily":
        frame_checks.append(_within("date", period))
    elif contract.dataset == "childcare_volunteers":
        columns["volunteers"].checks.append(pa.Check.ge(1))
    return pa.DataFrameSchema(columns, checks=frame_checks, unique=list(contract.key))


# --- loading --------------------------------------------------------------------------------


def load_landing(landing: Path, engine: sa.Engine,
                 tables: dict[str, str] | None = None) -> dict[str, int]:
    """Load every landing file; returns counts (files, rows_in, rows_loaded, rejected).

    `tables` maps a workbook's landing path to the CSV of the table already read from it."""
    counts = {"files": 0, "rows_in": 0, "rows_loaded": 0, "rejected": 0}
    schemas: dict[tuple[str, str, str], pa.DataFrameSchema] = {}
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS b1_files (sha256 VARCHAR PRIMARY KEY, path VARCHAR, status VARCHAR)")
    for path in sorted(p for p in landing.rglob("*") if p.is_file()):
        parts = path.relative_to(landing).parts
        if len(parts) != 4 or parts[1] not in CONTRACTS:
            continue
        county_code, dataset, period_label, _ = parts
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        with engine.connect() as conn:
            if conn.exec_driver_sql(f"SELECT 1 FROM b1_files WHERE sha256 = '{sha}'").first():
                continue
        contract, period = CONTRACTS[dataset], parse_period(period_label)
        counts["files"] += 1
        status = "accepted"
        relative = path.relative_to(landing).as_posix()
        source = Path(tables[relative]) if tables and relative in tables and path.suffix.lower() == ".xlsx" else path
        try:
            frame = read_file(source, contract)
        except Exception:
            frame, status = None, "rejected"
        if frame is not None:
            counts["rows_in"] += len(frame)
            typed, unreadable = clean(frame, contract, period)
            if "county_code" in typed.columns:  # optional in some datasets: the path says it
                typed["county_code"] = typed["county_code"].fillna(county_code)
            key = (dataset, period_label, county_code)
            schema = schemas.setdefault(key, schema_for(contract, period, county_code))
            try:
                valid = schema.validate(typed, lazy=True)
            except SchemaErrors:
                valid = None
            if unreadable or valid is None:
                status = "rejected"
            else:
                valid = valid.assign(submission_id=sha, county_code=county_code, period=period_label)
                valid.to_sql(f"b1_{dataset}", engine, if_exists="append", index=False)
                counts["rows_loaded"] += len(valid)
        counts["rejected"] += status == "rejected"
        pd.DataFrame([{"sha256": sha, "path": str(path), "status": status}]).to_sql(
            "b1_files", engine, if_exists="append", index=False)
    return counts
