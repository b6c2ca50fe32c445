"""Reporting periods (SPEC §4): school year, summer/winter break, calendar month.

A period label comes from the landing-zone path; its window bounds every date
reported for it, and its year completes dates written without one (`7月6日`).

This module is the one place that knows period labels. A label is accepted only in its
canonical form — ASCII digits, no spaces, a year in `YEARS` — because the label becomes a
warehouse key as written: `2019-summer␠` or `２０１９-summer` would load under a label no
dimension row has, and `0000` is no calendar year at all.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class PeriodKind(StrEnum):
    SCHOOL_YEAR = "school_year"
    SUMMER = "summer"
    WINTER = "winter"
    MONTH = "month"


# `[0-9]`, not `\d`: `\d` also matches full-width and other Unicode digits. `\Z`, not `$`:
# `$` also matches before a trailing newline.
_PATTERNS: tuple[tuple[PeriodKind, re.Pattern[str]], ...] = (
    (PeriodKind.SCHOOL_YEAR, re.compile(r"(?P<year>[0-9]{4})\Z")),
    (PeriodKind.SUMMER, re.compile(r"(?P<year>[0-9]{4})-summer\Z")),
    (PeriodKind.WINTER, re.compile(r"(?P<year>[0-9]{4})-winter\Z")),
    (PeriodKind.MONTH, re.compile(r"(?P<year>[0-9]{4})-(?P<month>0[1-9]|1[0-2])\Z")),
)

YEARS = range(2000, 2101)
"""Years a period may name: wide enough for any real report, narrow enough that a typo
(`0000`, `9999`, `2205`) is refused instead of becoming a period of its own."""


class InvalidPeriod(ValueError):
    """A period label that matches none of the accepted forms."""


@dataclass(frozen=True, order=True)
class Period:
    """One reporting period; `start`..`end` is the inclusive window its dates must fall in."""

    label: str
    kind: PeriodKind
    year: int
    start: date
    end: date

    def previous_year(self) -> Period:
        """The same period one year earlier (for year-on-year comparisons); raises
        `InvalidPeriod` when that year is outside `YEARS`."""
        suffix = self.label[4:]
        return parse_period(f"{self.year - 1}{suffix}")


def parse_period(label: str) -> Period:
    """Parse a canonical period label: `2025`, `2025-summer`, `2025-winter` or `2025-07`.

    Raises `InvalidPeriod` for anything else — surrounding spaces, full-width digits and
    years outside `YEARS` included (callers strip user input themselves if they wish).
    """
    for kind, pattern in _PATTERNS:
        match = pattern.match(label)
        if match is None:
            continue
        year = int(match["year"])
        if year not in YEARS:
            raise InvalidPeriod(
                f"period {label!r}: year {year} is outside {YEARS.start}–{YEARS.stop - 1}")
        if kind is PeriodKind.SCHOOL_YEAR:
            start, end = date(year, 9, 1), date(year + 1, 8, 31)
        elif kind is PeriodKind.SUMMER:
            start, end = date(year, 6, 15), date(year, 9, 15)
        elif kind is PeriodKind.WINTER:
            start, end = date(year, 1, 1), date(year, 3, 15)
        else:
            month = int(match["month"])
            start = date(year, month, 1)
            end = date(year, month, calendar.monthrange(year, month)[1])
        return Period(label=label, kind=kind, year=year, start=start, end=end)
    raise InvalidPeriod(
        f"unknown period {label!r}: expected YYYY, YYYY-summer, YYYY-winter or YYYY-MM"
    )

