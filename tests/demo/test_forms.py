"""Real county forms (SPEC §3.1) in the demo landing zone: the layouts are really in the workbooks.

The workbooks are opened with openpyxl, not with the project's readers: merged ranges, hidden
rows, sheet names and order, header rows, and 小计 / 合计 rows whose numbers are the sums of
their group's canonical rows.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass, field

import openpyxl
import polars as pl
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from countyflow.demo import DemoSubmission, plan_demo_submissions
from countyflow.demo.forms import (
    CANCELLED_FACILITY,
    ENROLLED_PARENT,
    FEMALE_HEADER,
    GROUPS,
    INSTRUCTIONS_SHEET,
    TWO_ROW_LEAVES,
    TWO_ROW_PARENT,
    WIDE_SOURCES,
    WIDE_TOTAL,
    cancelled_site_code,
)
from countyflow.periods import parse_period
from schemas import contract_for
from schemas.contract import ColumnType

LAYOUTS = {"merged_keys", "subtotals", "total_at_top", "two_row_header", "month_sheets", "instructions_first",
           "health_block", "hidden_row", "dash_zero", "no_county", "cohort_grades", "month_day_dates",
           "wide_volunteers"}
TOTAL_LABELS = {"合计", "总合计", "总计", "全县合计"}
DASHES = {"—", "－", "-", "/", "无"}


@pytest.fixture(scope="module")
def plan() -> tuple[DemoSubmission, ...]:
    return plan_demo_submissions()


@pytest.fixture(scope="module")
def forms(plan: tuple[DemoSubmission, ...]) -> dict[str, list[DemoSubmission]]:
    """Files by layout."""
    by_layout: dict[str, list[DemoSubmission]] = {}
    for submission in plan:
        for layout in submission.file.layouts:
            by_layout.setdefault(layout, []).append(submission)
    return by_layout


# --------------------------------------------------------------------------- reading a sheet


@dataclass
class Table:
    """A data sheet as a careful person reads it."""

    sheet: Worksheet
    header: int
    """1-based row of the (first) header row."""
    header_rows: int
    names: list[str]
    data: list[int] = field(default_factory=list)
    hidden: list[int] = field(default_factory=list)
    subtotals: list[int] = field(default_factory=list)
    totals: list[int] = field(default_factory=list)
    groups: list[list[int]] = field(default_factory=list)
    """The data rows each 小计 row sums (since the previous 小计 or the header)."""

    def values(self, row: int) -> list[object]:
        return [self.sheet.cell(row, col).value for col in range(1, len(self.names) + 1)]


def _book(submission: DemoSubmission) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(submission.data))


def _header_names(sheet: Worksheet, row: int, two_rows: bool) -> list[str]:
    """Header names as the demo's raw frame spells them: a leaf under `其中` is its own name,
    `合计` under a parent is the parent, any other leaf is qualified by its parent."""
    width = sheet.max_column
    top = [sheet.cell(row, col).value for col in range(1, width + 1)]
    if not two_rows:
        return [str(v) for v in top if v is not None]
    for merged in sheet.merged_cells.ranges:  # a parent merged across names every column below it
        if merged.min_row == merged.max_row == row:
            for col in range(merged.min_col, merged.max_col + 1):
                top[col - 1] = sheet.cell(row, merged.min_col).value
    names = []
    for col in range(1, width + 1):
        parent, leaf = top[col - 1], sheet.cell(row + 1, col).value
        if parent is None and leaf is None:
            continue
        if leaf is None or leaf == "合计":
            names.append(str(parent))
        elif parent == TWO_ROW_PARENT:
            names.append(str(leaf))
        else:
            names.append(f"{parent}（{leaf}）")
    return names


def _table(sheet: Worksheet, submission: DemoSubmission) -> Table:
    two_rows = "two_row_header" in submission.file.layouts
    expected = [str(c) for c in submission.raw.columns]
    header = next(r for r in range(1, 21) if _header_names(sheet, r, two_rows) == expected)
    table = Table(sheet, header, 2 if two_rows else 1, expected)
    group: list[int] = []
    for row in range(header + table.header_rows, sheet.max_row + 1):
        values = table.values(row)
        if all(v is None for v in values):
            break  # the notes below the table start after a blank row
        if sheet.row_dimensions[row].hidden:
            table.hidden.append(row)
        elif any(isinstance(v, str) and v.strip() in TOTAL_LABELS for v in values):
            table.totals.append(row)
        elif any(isinstance(v, str) and v.endswith("小计") for v in values):
            table.subtotals.append(row)
            table.groups.append(group)
            group = []
        else:
            table.data.append(row)
            group.append(row)
    return table


def _data_sheets(book: openpyxl.Workbook) -> list[Worksheet]:
    return [ws for ws in book.worksheets if ws.title != INSTRUCTIONS_SHEET]


def _canonical(submission: DemoSubmission) -> dict[str, str]:
    """Raw header → canonical column (aliases forgiving brackets and spaces)."""
    def key(text: str) -> str:
        return text.strip().replace("（", "(").replace("）", ")").lower()
    lookup = {key(h): c.name for c in contract_for(submission.file.dataset).columns for h in c.headers}
    return {h: lookup[key(h)] for h in submission.raw.columns if key(h) in lookup}


def _periods_sheet(submission: DemoSubmission, book: openpyxl.Workbook) -> list[Worksheet]:
    """The sheets holding the submission's own rows (a yearly workbook: only the period's month)."""
    sheets = _data_sheets(book)
    if submission.file.dataset == "health_monthly":
        return sheets[-1:]
    return sheets


# --------------------------------------------------------------------------- share and warnings


def test_a_good_share_of_spreadsheets_are_real_county_forms(plan: tuple[DemoSubmission, ...]) -> None:
    xlsx = [s for s in plan if s.file.format == "xlsx"]
    real = [s for s in xlsx if s.file.layouts]
    assert len(real) >= 0.3 * len(xlsx), (len(real), len(xlsx))
    used = Counter(layout for s in real for layout in s.file.layouts)
    assert set(used) == LAYOUTS
    assert all(s.file.format == "xlsx" for s in plan if s.file.layouts)
    assert {s.file.dataset for s in real} == {"childcare_sites", "childcare_volunteers", "childcare_daily",
                                              "vocational_enrollment", "health_monthly"}
    for submission in plan:  # the lifecycle cases keep plain files
        if submission.file.case is not None and submission.file.case.value != "late":
            assert not submission.file.layouts, submission.file.path


def test_layouts_come_with_the_warnings_a_reader_owes(plan: tuple[DemoSubmission, ...]) -> None:
    for submission in plan:
        layouts, warnings = set(submission.file.layouts), set(submission.file.expected_warnings)
        assert ("hidden_row" in layouts) == ("hidden_rows_skipped" in warnings), submission.file.path
        assert ("no_county" in layouts) == ("county_from_path" in warnings), submission.file.path
        if "instructions_first" in layouts:
            assert "sheet_skipped" in warnings
        if "dash_zero" in layouts:
            assert "count_dash_zero" in warnings
        if "two_row_header" in layouts and submission.file.dataset == "vocational_enrollment":
            assert FEMALE_HEADER in submission.file.unknown_headers and "unknown_column" in warnings
        if submission.file.format == "xlsx":
            sheets = _book(submission).sheetnames
            read = len(_data_sheets(_book(submission))) if submission.file.dataset == "childcare_daily" else 1
            assert (len(sheets) > read) == ("sheet_skipped" in warnings), submission.file.path


# --------------------------------------------------------------------------- rows, totals, subtotals


def test_data_rows_subtotals_and_totals_add_up(plan: tuple[DemoSubmission, ...]) -> None:
    """Every canonical row is a visible data row, in order; each 小计 row holds its group's sums
    (hidden rows not counted) and the 合计 row the sums of all data rows."""
    checked = Counter[str]()
    for submission in plan:
        layouts = submission.file.layouts
        if not layouts or "wide_volunteers" in layouts:
            continue
        names = _canonical(submission)
        counts = {h: c for h, c in names.items()
                  if contract_for(submission.file.dataset).column(c).type is ColumnType.COUNT}
        frame = submission.frame.with_row_index("__row")
        offset = 0
        for sheet in _periods_sheet(submission, _book(submission)):
            table = _table(sheet, submission)
            rows = frame.slice(offset, len(table.data))
            offset += len(table.data)
            female = (submission.raw[FEMALE_HEADER].slice(rows["__row"][0], rows.height)
                      if FEMALE_HEADER in submission.raw.columns else None)
            if "subtotals" in layouts:
                assert table.subtotals, submission.file.path
                start = 0
                for subtotal, group in zip(table.subtotals, table.groups, strict=True):
                    part = rows.slice(start, len(group))
                    start += len(group)
                    _assert_sums(table, subtotal, part, counts, female.slice(start - len(group), len(group))
                                 if female is not None else None)
                    label = table.values(subtotal)[table.names.index(_label_header(submission))]
                    by = GROUPS[submission.file.dataset].label
                    if GROUPS[submission.file.dataset].named:
                        assert label == f"{part[by][0]}小计"
                    else:
                        assert label == "小计"
                    if by in part.columns:
                        assert part[by].n_unique() == 1  # a group is one township / school / site
                assert start == rows.height
                checked["subtotals"] += 1
            for total in table.totals:
                _assert_sums(table, total, rows, counts, female)
                if "total_at_top" in layouts:
                    assert total == table.header + table.header_rows  # directly under the header
                checked["totals"] += 1
            if "total_at_top" in layouts:
                assert table.totals
        assert offset == submission.frame.height, submission.file.path
    assert checked["subtotals"] >= 5 and checked["totals"] >= 5


def _label_header(submission: DemoSubmission) -> str:
    names = {c: h for h, c in _canonical(submission).items()}
    return names[GROUPS[submission.file.dataset].label]


def _assert_sums(table: Table, row: int, part: pl.DataFrame, counts: dict[str, str],
                 female: pl.Series | None) -> None:
    values = table.values(row)
    for header, column in counts.items():
        cell = values[table.names.index(header)]
        expected = part[column].sum() if part[column].null_count() < part.height else None
        assert cell == expected, (table.sheet.title, row, header)
    if female is not None:
        assert values[table.names.index(FEMALE_HEADER)] == female.sum()


# --------------------------------------------------------------------------- merged cells


def test_group_columns_are_merged_down_with_the_value_in_the_top_cell(forms) -> None:
    for submission in forms["merged_keys"]:
        merged_columns = {h for h, c in _canonical(submission).items() if c in GROUPS[submission.file.dataset].merge}
        assert merged_columns
        spans = 0
        for sheet in _data_sheets(_book(submission)):
            table = _table(sheet, submission)
            body = set(table.data) | set(table.hidden)
            filled: dict[tuple[int, int], object] = {}
            for merged in sheet.merged_cells.ranges:
                if merged.max_row < table.header + table.header_rows:
                    continue  # title and header rows
                spans += 1
                assert merged.min_col == merged.max_col and merged.max_row > merged.min_row
                assert table.names[merged.min_col - 1] in merged_columns, (submission.file.path, str(merged))
                rows = range(merged.min_row, merged.max_row + 1)
                assert set(rows) <= body, (submission.file.path, str(merged))  # never over a 小计 or 合计
                top = sheet.cell(merged.min_row, merged.min_col).value
                assert top is not None
                for row in rows:
                    if row > merged.min_row:
                        assert sheet.cell(row, merged.min_col).value is None
                    filled[(row, merged.min_col)] = top
            if submission.file.dataset != "health_monthly" or sheet.title == _data_sheets(_book(submission))[-1].title:
                # Read down the merges, the column says what the raw frame says, row by row.
                offset = _raw_offset(submission, sheet)
                for header in merged_columns:
                    col = table.names.index(header) + 1
                    got = [filled.get((r, col), sheet.cell(r, col).value) for r in table.data]
                    assert got == submission.raw[header].slice(offset, len(got)).to_list(), (
                        submission.file.path, header)
        assert spans >= 1, submission.file.path
        # Groups are contiguous: each merged column's value changes once per group.
        for header in merged_columns:
            column = _canonical(submission)[header]
            for part in _month_parts(submission):
                assert part[column].rle_id().n_unique() == part[column].n_unique(), (submission.file.path, column)


def _raw_offset(submission: DemoSubmission, sheet: Worksheet) -> int:
    """Where a month sheet's rows start in the raw frame (daily attendance split by month)."""
    if submission.file.dataset != "childcare_daily" or "month_sheets" not in submission.file.layouts:
        return 0
    month = int(sheet.title.removesuffix("月"))
    months = submission.frame["date"].dt.month()
    return int((months < month).sum()) if (months == month).any() else 0


def _month_parts(submission: DemoSubmission) -> list[pl.DataFrame]:
    """The rows of each data sheet (daily attendance by month, or all of them)."""
    frame = submission.frame
    if submission.file.dataset == "childcare_daily" and "month_sheets" in submission.file.layouts:
        months = frame["date"].dt.month()
        return [frame.filter(months == m) for m in months.unique(maintain_order=True)]
    return [frame]


# --------------------------------------------------------------------------- hidden rows


def test_a_cancelled_row_is_hidden_and_not_canonical(forms) -> None:
    for submission in forms["hidden_row"]:
        dataset = submission.file.dataset
        hidden = []
        for sheet in _data_sheets(_book(submission)):
            hidden.extend((sheet, row) for row, dim in sheet.row_dimensions.items() if dim.hidden)
        assert len(hidden) == 1, submission.file.path
        sheet, row = hidden[0]
        cells = [c.value for c in sheet[row]]
        if dataset.startswith("childcare_"):
            code = cancelled_site_code(submission.file.county_code)
            assert code in cells and code not in set(submission.frame["site_code"])
        elif dataset == "health_monthly":
            assert CANCELLED_FACILITY[0] in cells
            assert CANCELLED_FACILITY[0] not in set(submission.frame["facility_code"])
        else:
            table = _table(sheet, submission)
            program = cells[table.names.index(next(h for h, c in _canonical(submission).items() if c == "program"))]
            school = submission.frame.filter(pl.col("program") == str(program).strip())
            assert str(program).strip() not in set(submission.frame["program"]), (submission.file.path, program)
            assert school.height == 0


# --------------------------------------------------------------------------- headers and sheets


def test_two_row_headers(forms) -> None:
    datasets = set()
    for submission in forms["two_row_header"]:
        sheet = _data_sheets(_book(submission))[-1]
        table = _table(sheet, submission)
        header = table.header
        across = [m for m in sheet.merged_cells.ranges if m.min_row == m.max_row == header and m.max_col > m.min_col]
        down = [m for m in sheet.merged_cells.ranges if (m.min_row, m.max_row) == (header, header + 1)]
        assert len(across) == 1 and len(down) == len(table.names) - 2
        parent = sheet.cell(header, across[0].min_col).value
        leaves = [sheet.cell(header + 1, col).value for col in (across[0].min_col, across[0].max_col)]
        datasets.add(submission.file.dataset)
        if submission.file.dataset == "childcare_sites":
            assert parent == TWO_ROW_PARENT and leaves == list(TWO_ROW_LEAVES.values())
        else:
            assert parent == ENROLLED_PARENT and leaves == ["合计", "其中：女"]
            enrolled = submission.frame["enrolled"]
            female = submission.raw[FEMALE_HEADER]
            assert (female <= enrolled).all() and (female > 0).mean() > 0.9
            assert FEMALE_HEADER not in _canonical(submission)  # not a contract column
    assert datasets == {"childcare_sites", "vocational_enrollment"}


def test_month_sheets(forms) -> None:
    datasets = set()
    for submission in forms["month_sheets"]:
        book = _book(submission)
        names = [ws.title for ws in _data_sheets(book)]
        datasets.add(submission.file.dataset)
        if submission.file.dataset == "health_monthly":
            month = parse_period(submission.file.period).start.month
            assert names == [f"{m}月" for m in range(1, month + 1)]
            for sheet in _data_sheets(book):  # each month's departments, headed like the period's
                assert len(_table(sheet, submission).data) == submission.frame.height
        else:
            months = submission.frame["date"].dt.month()
            assert names == [f"{m}月" for m in months.unique(maintain_order=True)]
            assert months.is_sorted()
            for sheet in _data_sheets(book):
                month = int(sheet.title.removesuffix("月"))
                assert len(_table(sheet, submission).data) == (months == month).sum()
    assert datasets == {"health_monthly", "childcare_daily"}


def test_instructions_sheet_comes_first(forms) -> None:
    for submission in forms["instructions_first"]:
        book = _book(submission)
        assert book.sheetnames[0] == INSTRUCTIONS_SHEET
        assert book.worksheets[0]["A1"].value == "填表说明"
        assert book.active.title != INSTRUCTIONS_SHEET  # it opens on the data


def test_health_block_pushes_the_header_down(forms) -> None:
    for submission in forms["health_block"]:
        for sheet in _data_sheets(_book(submission)):
            table = _table(sheet, submission)
            assert 9 <= table.header <= 12, (submission.file.path, table.header)
            above = {str(v) for row in sheet.iter_rows(max_row=table.header - 1, values_only=True) for v in row if v}
            for prefix in ("表号：卫统1-1表", "制表机关：国家卫生健康委员会", "批准机关：国家统计局",
                           "批准文号：国统制〔2024〕", "有效期至：2027年12月", "组织机构代码：□□□□□□□□-□", "机构名称："):
                assert any(line.startswith(prefix) for line in above), (submission.file.path, prefix)
            window = parse_period(submission.file.period)
            month = sheet.title if sheet.title.endswith("月") else f"{window.start.month}月"
            assert f"{window.year}年 {month}" in above


# --------------------------------------------------------------------------- values


def test_dashes_for_zero_no_county_cohorts_and_month_day_dates(forms) -> None:
    for submission in forms["dash_zero"]:
        dashed = 0
        for header, column in _canonical(submission).items():
            if not contract_for(submission.file.dataset).column(column).required:
                continue
            zero = submission.frame[column] == 0
            cells = submission.raw[header]
            if cells.dtype == pl.Utf8 and zero.any():
                assert cells.filter(zero).is_in(list(DASHES)).all()
                assert not cells.filter(~zero).is_in(list(DASHES)).any()
                dashed += int(zero.sum())
        assert dashed
        table = _table(_data_sheets(_book(submission))[-1], submission)
        assert any(v in DASHES for r in table.data for v in table.values(r))
    for submission in forms["no_county"]:
        assert "county_code" not in _canonical(submission).values()
    for submission in forms["cohort_grades"]:
        year = parse_period(submission.file.period).year
        header = next(h for h, c in _canonical(submission).items() if c == "grade")
        expected = (pl.lit(year) - submission.frame["grade"] + 1).cast(pl.Utf8) + "级"
        assert submission.raw[header].equals(pl.select(expected).to_series(), check_names=False)
    for submission in forms["month_day_dates"]:
        for header, column in _canonical(submission).items():
            if contract_for(submission.file.dataset).column(column).type is ColumnType.DATE:
                dates = submission.frame[column]
                written = pl.select(pl.concat_str(pl.lit(dates).dt.month(), pl.lit("."), pl.lit(dates).dt.day()))
                assert submission.raw[header].equals(written.to_series(), check_names=False)
                assert submission.raw[header].str.contains(r"^\d{1,2}\.\d{1,2}$").all()


def test_wide_volunteer_sheets_unpivot_to_the_files_rows(forms, plan) -> None:
    canonical = pl.concat([s.frame for s in plan if s.file.dataset == "childcare_volunteers" and s.file.final])
    assert forms["wide_volunteers"]
    for submission in forms["wide_volunteers"]:
        frame = submission.frame
        assert frame["institution"].null_count() == frame.height  # a wide sheet cannot carry them
        table = _table(_data_sheets(_book(submission))[0], submission)
        kinds = [label for _, label in WIDE_SOURCES]
        assert table.names[-7:] == [*kinds, WIDE_TOTAL]
        site = next(h for h in table.names if _canonical(submission).get(h) == "site_code")
        long = []
        for row in table.data:
            values = dict(zip(table.names, table.values(row), strict=True))
            assert values[WIDE_TOTAL] == sum(values[k] or 0 for k in kinds)
            long.extend((values[site], source, values[label]) for source, label in WIDE_SOURCES if values[label])
        unpivoted = pl.DataFrame(long, schema=["site_code", "source", "volunteers"], orient="row")
        assert unpivoted.sort("site_code", "source").equals(
            frame.select("site_code", "source", "volunteers").sort("site_code", "source"))
        # Nothing aggregated: the same numbers as the canonical rows (institutions aside).
        same = canonical.filter(pl.col("county_code") == submission.file.county_code,
                                pl.col("period") == submission.file.period)
        assert not same.select("site_code", "source").is_duplicated().any()
        for total in table.totals:
            values = dict(zip(table.names, table.values(total), strict=True))
            assert values[WIDE_TOTAL] == frame["volunteers"].sum()


def test_pinned_forms_are_where_the_spec_lists_them(plan: tuple[DemoSubmission, ...]) -> None:
    """A few files always carry the layouts, whatever the seed does to the others."""
    by_path = {(s.file.county_code, s.file.dataset, s.file.period): s for s in plan}
    sites = by_path[("530624", "childcare_sites", "2025-summer")]
    assert {"merged_keys", "subtotals", "total_at_top", "two_row_header", "hidden_row"} <= set(sites.file.layouts)
    table = _table(_book(sites).worksheets[0], sites)
    assert table.values(table.totals[0])[0] == "总合计"
    assert any(str(v).endswith("镇小计") for r in table.subtotals for v in table.values(r) if v)
    health = by_path[("530602", "health_monthly", "2025-06")]
    assert _book(health).sheetnames == [INSTRUCTIONS_SHEET, *[f"{m}月" for m in range(1, 7)]]
    assert re.search(r"卫统", " ".join(str(c.value) for c in _book(health)["6月"]["L"] if c.value))
    vocational = by_path[("530625", "vocational_enrollment", "2025")]
    assert {"two_row_header", "dash_zero", "no_county", "cohort_grades"} <= set(vocational.file.layouts)
    assert "wide_volunteers" in by_path[("530625", "childcare_volunteers", "2025-summer")].file.layouts
    daily = by_path[("530622", "childcare_daily", "2025-summer")]
    assert _book(daily).sheetnames[0] == INSTRUCTIONS_SHEET and "month_sheets" in daily.file.layouts
