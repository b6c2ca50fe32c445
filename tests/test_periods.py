"""Period labels: only the canonical form is a period (`countyflow.periods`)."""

from __future__ import annotations

from datetime import date

import pytest

from countyflow.periods import YEARS, InvalidPeriod, PeriodKind, parse_period


@pytest.mark.parametrize(("label", "kind", "start", "end"), [
    ("2025", PeriodKind.SCHOOL_YEAR, date(2025, 9, 1), date(2026, 8, 31)),
    ("2025-summer", PeriodKind.SUMMER, date(2025, 6, 15), date(2025, 9, 15)),
    ("2025-winter", PeriodKind.WINTER, date(2025, 1, 1), date(2025, 3, 15)),
    ("2024-02", PeriodKind.MONTH, date(2024, 2, 1), date(2024, 2, 29)),
    ("2000", PeriodKind.SCHOOL_YEAR, date(2000, 9, 1), date(2001, 8, 31)),
    ("2100-12", PeriodKind.MONTH, date(2100, 12, 1), date(2100, 12, 31)),
])
def test_canonical_labels(label: str, kind: PeriodKind, start: date, end: date) -> None:
    period = parse_period(label)
    assert (period.label, period.kind, period.start, period.end) == (label, kind, start, end)


@pytest.mark.parametrize("label", [
    "0000", "9999", "0000-01", "1999-summer", "2101", "2025-00", "2025-13",
    "2019-summer ", " 2019-summer", "2019-summer\n", "2019 -summer", "２０１９-summer", "٢٠١٩",
    "2019-Summer", "2019-summer-", "", "2025-7",
])
def test_non_canonical_labels_are_not_periods(label: str) -> None:
    with pytest.raises(InvalidPeriod):
        parse_period(label)


def test_previous_year_stops_at_the_first_year() -> None:
    assert parse_period("2025-summer").previous_year().label == "2024-summer"
    with pytest.raises(InvalidPeriod):
        parse_period(f"{YEARS.start}-summer").previous_year()
