"""countyflow.charts: self-contained SVG bar charts (pure)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from countyflow.charts import Series, axis, column_chart, empty_chart, grouped_bar_chart, signed

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def bars(root: ET.Element) -> list[ET.Element]:
    return [rect for rect in root.iter(f"{SVG}rect") if rect.get("class") == "bar"]


def texts(root: ET.Element, css: str) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text") if t.get("class") == css]


def test_column_chart_has_one_bar_per_value_and_its_labels() -> None:
    root = parse(column_chart("Intake", ["2022", "2023", "2024"], [13486, 15949, None],
                              notes=["", "+2,463", ""]))
    drawn = bars(root)
    assert [b.get("data-label") for b in drawn] == ["2022", "2023"]  # None: no bar
    assert [float(b.get("data-value") or 0) for b in drawn] == [13486, 15949]
    assert texts(root, "label") == ["2022", "2023", "2024"]
    assert texts(root, "note") == ["+2,463"]
    assert root.find(f"{SVG}title") is not None and root.get("role") == "img"
    heights = [float(b.get("height") or 0) for b in drawn]
    assert heights[0] < heights[1]


def test_long_series_label_every_few_bars_but_every_bar_has_a_tooltip() -> None:
    months = [f"2024-{m:02d}" for m in range(1, 13)] + [f"2025-{m:02d}" for m in range(1, 13)] * 2
    root = parse(column_chart("Surgeries", months, list(range(1, len(months) + 1))))
    drawn = bars(root)
    assert len(drawn) == len(months)
    assert all(b.find(f"{SVG}title") is not None for b in drawn)
    assert 0 < len(texts(root, "label")) < len(months)


def test_grouped_bar_chart_draws_each_series_per_category() -> None:
    root = parse(grouped_bar_chart(
        "Children", ["昭阳区", "绥江县"],
        [Series("2024-summer", [1865, None]), Series("2025-summer", [3676, 412])],
        notes=["+1,811 (+97.1%)", "new"],
    ))
    drawn = bars(root)
    assert [(b.get("data-label"), b.get("data-series")) for b in drawn] == [
        ("昭阳区", "2024-summer"), ("昭阳区", "2025-summer"), ("绥江县", "2025-summer"),
    ]
    assert texts(root, "label") == ["昭阳区", "绥江县"]
    assert texts(root, "legend-label") == ["2024-summer", "2025-summer"]
    assert texts(root, "note") == ["+1,811 (+97.1%)", "new"]
    widths = {(b.get("data-label"), b.get("data-series")): float(b.get("width") or 0) for b in drawn}
    assert widths[("昭阳区", "2025-summer")] > widths[("昭阳区", "2024-summer")]


def test_text_is_escaped() -> None:
    root = parse(column_chart("A < B & \"C\"", ["<x>", "y&z"], [1, 2]))
    assert texts(root, "chart-title") == ['A < B & "C"']
    assert [b.get("data-label") for b in bars(root)] == ["<x>", "y&z"]


def test_no_data_gives_a_titled_placeholder() -> None:
    for svg in (column_chart("Empty", [], []), grouped_bar_chart("Empty", ["a"], [Series("s", [None])]),
                empty_chart("Empty", "Nothing loaded")):
        root = parse(svg)
        assert bars(root) == []
        assert texts(root, "chart-title") == ["Empty"]


def test_nothing_external_in_a_chart() -> None:
    svg = column_chart("x", ["a"], [1])
    assert "<script" not in svg and "href" not in svg and "http://" not in svg.replace(
        "http://www.w3.org/2000/svg", "")


@pytest.mark.parametrize(("peak", "expected"), [
    (3676, (4000, 4)), (21035, (25000, 5)), (2452, (2500, 5)), (7, (8, 4)), (0, (1, 1)),
])
def test_axis_is_round(peak: float, expected: tuple[float, int]) -> None:
    assert axis(peak) == expected


def test_signed() -> None:
    assert (signed(6000), signed(-120), signed(0), signed(60.0, "%"), signed(None)) == (
        "+6,000", "−120", "±0", "+60%", "—")
