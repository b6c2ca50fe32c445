"""Which sheet(s) of a workbook hold the submission (SPEC §3.1, "Sheets").

Counties keep one workbook per year with a sheet per month (`1月` … `12月`, `六月`,
`2025年6月`, `2025-06`, `Jun`), put a `填表说明` sheet in front of the data, or split a
season's daily attendance into `7月` and `8月`. The sheets whose header matches the
contract are candidates; the period decides between them: a monthly submission reads the
sheet of its month, a dataset recorded by date (its key holds a date) reads every month
sheet inside its period together. A choice the period cannot make is an error naming the
sheets, and every sheet not read is named, with the reason, for the clerk.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from countyflow.periods import Period, PeriodKind

_INSTRUCTION_NAMES = re.compile(r"^(填表说明|填报说明|说明|指标解释|指标说明|填表须知|封面|目录)")
_CHINESE_MONTHS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
                   "十": 10, "十一": 11, "十二": 12, "正": 1, "腊": 12}
_ENGLISH_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_FORMS = (
    re.compile(r"^(?:(?P<year>\d{4})年)?(?P<month>\d{1,2})月份?(?:报表|数据|统计表?)?$"),
    re.compile(r"^(?:(?P<year>\d{4})年)?(?P<zh>十[一二]?|[一二三四五六七八九正腊])月份?(?:报表|数据|统计表?)?$"),
    re.compile(r"^(?P<year>\d{4})[-./_](?P<month>\d{1,2})$"),
    re.compile(r"^(?P<year>\d{4})(?P<month>0[1-9]|1[0-2])$"),
    re.compile(r"^(?P<en>[a-z]{3})[a-z]*\.?(?:[-_ ]?(?P<year>\d{4}))?$"),
)


@dataclass(frozen=True)
class SheetMonth:
    """The month a sheet's name stands for (year when the name gives one)."""

    month: int
    year: int | None


def sheet_month(name: str) -> SheetMonth | None:
    """`6月`, `六月`, `2025年6月`, `2025-06`, `Jun`, `June 2025` → the month; else None."""
    text = unicodedata.normalize("NFKC", name).strip().replace(" ", "").lower()
    for pattern in _MONTH_FORMS:
        match = pattern.match(text)
        if match is None:
            continue
        groups = match.groupdict()
        if groups.get("en"):
            if groups["en"] not in _ENGLISH_MONTHS:
                return None
            month = _ENGLISH_MONTHS.index(groups["en"]) + 1
        elif groups.get("zh"):
            month = _CHINESE_MONTHS[groups["zh"]]
        else:
            month = int(groups["month"])
        if not 1 <= month <= 12:
            return None
        year = int(groups["year"]) if groups.get("year") else None
        return SheetMonth(month, year)
    return None


def is_instruction_sheet(name: str) -> bool:
    """`填表说明`, `说明`, `指标解释` …: a sheet of instructions, never data."""
    return _INSTRUCTION_NAMES.match(unicodedata.normalize("NFKC", name).strip()) is not None


def _in_period(month: SheetMonth, period: Period) -> bool:
    """Does the month (of the period's year, unless the name says) overlap the period?"""
    years = [month.year] if month.year is not None else sorted({period.start.year, period.end.year})
    for year in years:
        first = (year, month.month)
        if (period.start.year, period.start.month) <= first <= (period.end.year, period.end.month):
            return True
    return False


class AmbiguousSheets(Exception):
    """The candidates the period cannot decide between (or none for the period's month)."""

    def __init__(self, rule: str, sheets: tuple[str, ...]) -> None:
        super().__init__(rule)
        self.rule = rule
        self.sheets = sheets


def choose_sheets(candidates: list[str], *, period: Period | None, by_date: bool) -> list[str]:
    """The candidates to read, given that every candidate's header matches the contract.

    `by_date`: rows carry their own date (daily attendance), so all month sheets inside
    the period are read together. Raises `AmbiguousSheets` when the period cannot decide.
    """
    if len(candidates) <= 1 and (period is None or period.kind is not PeriodKind.MONTH):
        return candidates
    months = {name: sheet_month(name) for name in candidates}
    named = [name for name in candidates if months[name] is not None]
    if period is None:
        if len(candidates) == 1:
            return candidates
        raise AmbiguousSheets("sheet_ambiguous", tuple(candidates))
    if period.kind is PeriodKind.MONTH:
        matching = [name for name in named if _same_month(months[name], period)]
        if len(matching) == 1:
            return matching
        if len(matching) > 1:
            raise AmbiguousSheets("sheet_ambiguous", tuple(matching))
        if named:
            # Month sheets, but none for this month: reading another month's figures
            # as this month's is the silent error this rule exists to prevent.
            raise AmbiguousSheets("sheet_for_period_missing", tuple(named))
        if len(candidates) == 1:
            return candidates
        raise AmbiguousSheets("sheet_ambiguous", tuple(candidates))
    if by_date and named:
        inside = [name for name in named if _in_period(months[name], period)]  # type: ignore[arg-type]
        if inside:
            return inside
        raise AmbiguousSheets("sheet_for_period_missing", tuple(named))
    raise AmbiguousSheets("sheet_ambiguous", tuple(candidates))


def _same_month(month: SheetMonth | None, period: Period) -> bool:
    return (month is not None and month.month == period.start.month
            and (month.year is None or month.year == period.start.year))
