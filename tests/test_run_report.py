"""countyflow.run_report: markdown, KPI tables, charts and the self-contained HTML report (pure)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from countyflow.completeness import assess_partitions, partition_problems
from countyflow.ingest.model import IgnoredEntry, RowCounts
from countyflow.pipeline import SubmissionOutcome, outcomes_frame, summarise_outcomes
from countyflow.run_report import (
    RUN_REPORT_MARTS,
    RunContext,
    children_by_county_chart,
    headline_kpis,
    heart_centre_facilities,
    heart_centre_markdown,
    heart_centre_rollup,
    heart_surgeries_chart,
    latest_health_month,
    markdown_table,
    relative_link,
    render_run_report,
    run_report_name,
    run_summary_markdown,
    vocational_intake_chart,
)
from tests.test_completeness import mixed_status
from warehouse.marts import MARTS

SVG = "{http://www.w3.org/2000/svg}"


def mart(name: str, rows: list[dict[str, object]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=dict(MARTS[name].columns))


def kpis() -> pl.DataFrame:
    rows = [
        ("childcare", "children_enrolled", "2024-summer", 10000.0),
        ("childcare", "children_enrolled", "2025-summer", 16000.0),
        ("childcare", "children_yoy_change", "2025-summer", 6000.0),
        ("childcare", "sites", "2025-summer", 997.0),
        ("childcare", "counties_reporting", "2025-summer", 11.0),  # not a headline metric
        ("vocational", "new_intake", "2024", 20267.0),
        ("vocational", "new_intake_yoy_change", "2024", 4318.0),
        *[("health", "surgeries", f"2025-0{m}", 2000.0 + m) for m in range(1, 8)],
        *[("health", "local_surgeons_independent", f"2025-0{m}", float(m + 9)) for m in range(1, 8)],
        ("health", "surgeries_cumulative", "2025-06", 50598.0),
        ("health", "surgeries_cumulative", "2025-07", 52954.0),
        ("health", "beds_open", "2025-07", 268.0),
    ]
    schema = dict(MARTS["mart_city_kpi"].columns)
    contract = {c: schema[c] for c in ("domain", "metric", "period", "value")}
    frame = pl.DataFrame(rows, schema=contract, orient="row")
    return frame.with_columns(pl.lit(None, dtype).alias(c)  # columns added after SPEC §6
                              for c, dtype in schema.items() if c not in contract)


def county_season() -> pl.DataFrame:
    return mart("mart_childcare_county_season", [
        {"county_code": "530602", "county_name": "昭阳区", "season": "2025-summer",
         "season_start": date(2025, 6, 15), "children_enrolled": 3676, "children_enrolled_prev_year": 1865,
         "children_yoy_change": 1811, "children_yoy_pct": 97.1},
        {"county_code": "530626", "county_name": "绥江县", "season": "2025-summer",
         "season_start": date(2025, 6, 15), "children_enrolled": 412},
        {"county_code": "530602", "county_name": "昭阳区", "season": "2024-summer",
         "season_start": date(2024, 6, 15), "children_enrolled": 1865},
    ])


def county_year() -> pl.DataFrame:
    return mart("mart_vocational_county_year", [
        {"county_code": c, "county_name": n, "school_year": y, "new_intake": v}
        for c, n in (("530602", "昭阳区"), ("530626", "绥江县"))
        for y, v in ((2022, 1000), (2023, 1200), (2024, 1700))
    ])


def facility_month() -> pl.DataFrame:
    return mart("mart_health_facility_month", [
        {"facility_code": "53060001", "facility_name": "滇东北中心医院", "county_code": "530602",
         "county_name": "昭阳区", "month": f"2025-0{m}", "month_start": date(2025, m, 1),
         "departments": 9, "surgeries": 2000 + m, "beds_open": 268}
        for m in range(1, 8)
    ])


def marts() -> dict[str, pl.DataFrame]:
    return {
        "mart_submission_status": mixed_status(),
        "mart_city_kpi": kpis(),
        "mart_childcare_county_season": county_season(),
        "mart_vocational_county_year": county_year(),
        "mart_health_facility_month": facility_month(),
    }


def test_run_report_marts_exist() -> None:
    assert set(RUN_REPORT_MARTS) <= set(MARTS)


def test_headline_kpis_keep_every_season_and_the_first_and_latest_month() -> None:
    table = headline_kpis(kpis())
    assert table.columns == ["domain", "metric", "period", "value"]
    assert "counties_reporting" not in table["metric"].to_list()
    health = table.filter(pl.col("domain") == "health")
    assert sorted(set(health["period"].to_list())) == ["2025-01", "2025-07"]
    assert health.filter(pl.col("metric") == "surgeries_cumulative")["value"].to_list() == [52954.0]
    surgeons = health.filter(pl.col("metric") == "local_surgeons_independent")
    assert surgeons["value"].to_list() == [10.0, 16.0]
    assert table.filter(pl.col("metric") == "children_enrolled")["period"].to_list() == [
        "2024-summer", "2025-summer"]


def bars(svg: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    return [r for r in root.iter(f"{SVG}rect") if r.get("class") == "bar"]


def test_children_chart_compares_the_latest_season_with_a_year_before() -> None:
    svg = children_by_county_chart(county_season())
    drawn = bars(svg)
    assert [(b.get("data-label"), b.get("data-series"), b.get("data-value")) for b in drawn] == [
        ("昭阳区", "2024-summer", "1865"), ("昭阳区", "2025-summer", "3676"),
        ("绥江县", "2025-summer", "412"),
    ]
    assert "+1,811 (+97.1%)" in svg and "2025-summer vs 2024-summer" in svg


def test_vocational_chart_sums_counties_and_notes_the_change() -> None:
    svg = vocational_intake_chart(county_year())
    assert [b.get("data-value") for b in bars(svg)] == ["2000", "2400", "3400"]
    assert "+400" in svg and "+1,000" in svg


def test_surgeries_chart_has_a_bar_per_month() -> None:
    drawn = bars(heart_surgeries_chart(facility_month()))
    assert [b.get("data-label") for b in drawn] == [f"2025-0{m}" for m in range(1, 8)]


def test_empty_marts_give_placeholders() -> None:
    for svg in (children_by_county_chart(county_season().clear()), vocational_intake_chart(county_year().clear()),
                heart_surgeries_chart(facility_month().clear())):
        assert bars(svg) == [] and "No " in svg


def context() -> RunContext:
    return RunContext(run_name="quick-otter", run_id="0b9c7d1e-0000-4000-8000-000000000001",
                      generated_at=datetime(2025, 10, 15, 18, 30, tzinfo=ZoneInfo("Asia/Shanghai")),
                      as_of=date(2025, 10, 15), warehouse="postgresql+psycopg://cf:***@db/countyflow")


def outcomes(reports: Path) -> pl.DataFrame:
    def outcome(county: str, status: str, errors: int) -> SubmissionOutcome:
        return SubmissionOutcome(
            submission_id=county * 10, county_code=county, dataset="childcare_sites", period="2025-summer",
            file_name="张三填报.xlsx", status=status,
            counts=RowCounts(rows_in=10, rows_loaded=0 if errors else 10,
                             rows_rejected=10 if errors else 0, rows_held=0, errors=errors,
                             warnings=1),
            report_path=str(reports / county / "childcare_sites" / "2025-summer" / "abc.html"),
        )
    return outcomes_frame([outcome("530602", "accepted", 0), outcome("530628", "rejected", 3)])


def test_outcomes_frame_spreads_the_counts_and_loads_only_accepted_rows() -> None:
    def outcome(status: str) -> SubmissionOutcome:
        return SubmissionOutcome(
            submission_id=status, county_code="530602", dataset="childcare_sites",
            period="2025-summer", file_name="f.csv", status=status,
            counts=RowCounts(rows_in=5, rows_loaded=4, rows_rejected=1, rows_held=0, errors=1,
                             warnings=2), report_path=None)

    frame = outcomes_frame([outcome("accepted_with_warnings"), outcome("superseded")])
    assert frame.columns == [
        "submission_id", "county_code", "dataset", "period", "file_name", "status", "rows_in",
        "rows_loaded", "rows_rejected", "rows_held", "errors", "warnings", "report_path"]
    # a superseded submission's valid rows are counted (as in the ledger) but not loaded
    assert frame.select("status", "rows_in", "rows_loaded", "rows_rejected", "errors",
                        "warnings").rows() == [("accepted_with_warnings", 5, 4, 1, 1, 2),
                                               ("superseded", 5, 0, 1, 1, 2)]
    assert outcomes_frame([]).columns == frame.columns


def test_html_report_is_self_contained_and_links_clerk_reports(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    frame = outcomes(reports)
    assessed = assess_partitions(mixed_status(), date(2025, 10, 15))
    page = render_run_report(context(), frame, summarise_outcomes(frame), assessed,
                             partition_problems(assessed), marts(), report_dir=reports / "runs")
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "<link" not in page
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", page)  # nothing fetched from anywhere
    assert page.count("<svg") == 3
    for svg in re.findall(r"<svg.*?</svg>", page, re.S):
        ET.fromstring(svg)
    assert 'href="../530628/childcare_sites/2025-summer/abc.html"' in page
    assert "张三" not in page  # file names may carry a clerk's name: never shown
    assert "***" in page and "quick-otter" in page
    assert "overdue" in page and "mark-overdue" in page


def test_run_summary_markdown(tmp_path: Path) -> None:
    frame = outcomes(tmp_path / "reports")
    assessed = assess_partitions(mixed_status(), date(2025, 10, 15))
    problems = partition_problems(assessed)
    report = tmp_path / "reports" / "runs" / "r.html"
    text = run_summary_markdown(context(), summarise_outcomes(frame), frame, problems, assessed.height,
                                kpis(), report)
    assert "## Submissions by status" in text
    assert "## Not loaded — see each clerk report" in text and "530628" in text
    assert "As of 2025-10-15: 2 overdue and 1 late of 5 partitions" in text
    assert report.absolute().as_uri() in text
    assert "## Holiday childcare (city, per season)" in text
    assert "张三" not in text
    idle = run_summary_markdown(context(), summarise_outcomes(frame.clear()), frame.clear(), problems,
                                assessed.height, kpis(), None)
    assert "Nothing new in the landing zone." in idle and "Run report" not in idle


def test_run_summary_lists_ignored_entries_by_folder(tmp_path: Path) -> None:
    frame = outcomes(tmp_path / "reports")
    assessed = assess_partitions(mixed_status(), date(2025, 10, 15))
    ignored = [
        IgnoredEntry("530602/childcare_sites/2025-summer/~$张三的表.xlsx", "lock_file"),
        IgnoredEntry("530602/childcare_sites/2025-summer/~$托管点.xlsx", "lock_file"),
        IgnoredEntry("530602/childcare_sites/.2019-winter/张三填报.csv", "hidden_folder", warning=True),
        IgnoredEntry("530602/childcare_sites/2024-summer", "symlink"),
    ]
    text = run_summary_markdown(context(), summarise_outcomes(frame), frame,
                                partition_problems(assessed), assessed.height, kpis(), None,
                                ignored=ignored)
    section = text.split("## Ignored in the landing zone", 1)[1].split("\n## ", 1)[0]
    assert "4 entries are not submissions" in section and "⚠ 1 look like data files" in section
    rows = [line for line in section.splitlines() if line.startswith("| ")][1:]
    assert rows[0].startswith("| ⚠ | 530602/childcare_sites/.2019-winter | 1 | 隐藏文件夹中的数据文件")
    assert "| 530602/childcare_sites/2025-summer | 2 | Office 临时锁定文件" in section
    assert "| 530602/childcare_sites | 1 | 符号链接" in section
    assert "张三" not in text  # folders only, never a file's own name
    quiet = run_summary_markdown(context(), summarise_outcomes(frame), frame,
                                 partition_problems(assessed), assessed.height, kpis(), None)
    assert "Ignored in the landing zone" not in quiet


def test_markdown_table_escapes_pipes() -> None:
    table = markdown_table(pl.DataFrame({"a": ["x|y", None], "b": [1.5, 0.01234]}))
    assert table.splitlines() == ["| a | b |", "|---|---|", "| x\\|y | 1.5 |", "|  | 0.01234 |"]


def test_relative_link_and_report_name(tmp_path: Path) -> None:
    assert relative_link(str(tmp_path / "r" / "530602" / "x.html"), tmp_path / "r" / "runs") == "../530602/x.html"
    assert relative_link(None, tmp_path) is None
    assert run_report_name(context()) == "20251015T103000Z-0b9c7d1e-0000-4000-8000-000000000001.html"


def test_heart_centre_rollup_latest_month_against_the_one_before() -> None:
    month = latest_health_month(kpis())
    assert month == "2025-07"
    rollup = heart_centre_rollup(kpis(), month)
    row = rollup.filter(pl.col("metric") == "surgeries").row(0, named=True)
    assert (row["value"], row["previous_month"], row["change"], row["previous"]) == (2007.0, 2006.0, 1.0, "2025-06")
    beds = rollup.filter(pl.col("metric") == "beds_open").row(0, named=True)
    assert (beds["value"], beds["previous_month"]) == (268.0, None)
    facilities = heart_centre_facilities(facility_month(), month)
    assert facilities["surgeries"].to_list() == [2007]
    text = heart_centre_markdown(month, rollup, facilities)
    assert text.startswith("# Cardiovascular centre — 2025-07") and "滇东北中心医院" in text
    assert latest_health_month(kpis().clear()) is None


def test_html_report_leads_with_figures_then_what_needs_action_then_the_full_tables(tmp_path: Path) -> None:
    """What a person looks for first comes first: the KPIs and charts, then what needs
    action (the rejected file, the overdue partitions), the full list of submissions last."""
    reports = tmp_path / "reports"
    frame = outcomes(reports)
    assessed = assess_partitions(mixed_status(), date(2025, 10, 15))
    page = render_run_report(context(), frame, summarise_outcomes(frame), assessed,
                             partition_problems(assessed), marts(), report_dir=reports / "runs")
    order = [page.index(marker) for marker in (
        "<h2>At a glance</h2>", "<h2>Charts</h2>", "<svg", "<h2>Needs action</h2>",
        "Not loaded in this run", "Late and overdue", "<h2>Completeness as of",
        "<h2>Every submission of this run")]
    assert order == sorted(order)
    needs_action = page[page.index("<h2>Needs action</h2>"):page.index("<h2>Completeness as of")]
    assert "530628" in needs_action and "rejected" in needs_action and "530602" not in needs_action
    assert 'href="../530628/childcare_sites/2025-summer/abc.html"' in needs_action
    assert "overdue" in needs_action.split("Late and overdue")[1]  # the overdue partitions listed
