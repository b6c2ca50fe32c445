"""What an operator reads after a run: tables, the completeness matrix, KPIs and charts.

Pure functions: mart frames in, markdown / SVG / self-contained HTML out. The tasks in
`tasks/publish.py` read the marts, call these and file the results as Prefect artifacts
and as an HTML report under `<reports_dir>/runs/`. Only marts and run outcomes go in:
codes, public names, counts; never personal data, file contents or secrets.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import pairwise
from pathlib import Path, PurePosixPath

import polars as pl

from countyflow.charts import (
    PALETTE,
    Series,
    column_chart,
    empty_chart,
    format_number,
    grouped_bar_chart,
    signed,
)
from countyflow.completeness import LEGEND, completeness_counts, matrices_by_dataset, summary_line
from countyflow.ingest.model import IGNORED_REASONS, IgnoredEntry
from countyflow.periods import InvalidPeriod, parse_period

RUN_REPORT_MARTS: tuple[str, ...] = (
    "mart_submission_status",
    "mart_city_kpi",
    "mart_childcare_county_season",
    "mart_vocational_county_year",
    "mart_health_facility_month",
)
"""The marts a run report is built from (read once per run, after the loads)."""

CHILDCARE_METRICS = (
    "sites", "children_enrolled", "children_enrolled_prev_year", "children_yoy_change",
    "children_yoy_pct", "left_behind_children", "volunteers_university", "volunteers_other",
    "volunteers_total", "avg_service_days",
)
VOCATIONAL_METRICS = (
    "schools", "enrolled", "new_intake", "new_intake_yoy_change", "new_intake_yoy_pct",
    "dropouts", "dropout_rate",
)
HEALTH_METRICS = (
    "surgeries", "surgeries_cumulative", "beds_open", "interventional_procedures",
    "outpatient_visits", "inpatient_admissions", "resident_experts", "experts_dispatched",
    "experts_dispatched_cumulative", "visiting_experts", "visiting_experts_cumulative",
    "local_surgeons_independent", "returned_patients", "departments_internal",
    "departments_surgical",
)
DOMAIN_METRICS: Mapping[str, tuple[str, ...]] = {
    "childcare": CHILDCARE_METRICS, "vocational": VOCATIONAL_METRICS, "health": HEALTH_METRICS,
}
DOMAIN_TITLES: Mapping[str, str] = {
    "childcare": "Holiday childcare (city, per season)",
    "vocational": "Vocational education (city, per school year)",
    "health": "Cardiovascular centre (city, first and latest month)",
}

SUBMISSION_COLUMNS = (
    "county_code", "dataset", "period", "status", "rows_in", "rows_loaded", "rows_rejected",
    "rows_held", "warnings", "report_path",
)
"""What the submissions table shows: no file names (clerks may put names in them)."""


# ------------------------------------------------------------------------ formatting


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return format_number(value) if abs(value) >= 1 or value == 0 else f"{value:.4g}"
    return str(value)


def markdown_table(frame: pl.DataFrame) -> str:
    """A GitHub-flavoured markdown table (pipes in values escaped)."""
    if not frame.columns:
        return ""
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = [
        "| " + " | ".join(_cell(value).replace("|", "\\|") for value in row) + " |"
        for row in frame.iter_rows()
    ]
    return "\n".join([header, rule, *rows])


def html_table(frame: pl.DataFrame, *, classes: str = "", cell_class: dict[str, str] | None = None,
               links: Mapping[str, Sequence[str | None]] | None = None) -> str:
    """An escaped HTML table. `links[column]` gives an href per row for that column;
    `cell_class` maps a cell's text to a CSS class (the completeness marks)."""
    head = "".join(f"<th>{html.escape(column)}</th>" for column in frame.columns)
    body = []
    for index, row in enumerate(frame.iter_rows()):
        cells = []
        for column, value in zip(frame.columns, row, strict=True):
            text = html.escape(_cell(value))
            href = links[column][index] if links and column in links else None
            if href:
                text = f"<a href={_attr(href)}>{text}</a>"
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            css = [c for c in ((cell_class or {}).get(_mark_class(_cell(value)), ""), "num" if numeric else "") if c]
            attr = f" class='{' '.join(css)}'" if css else ""
            cells.append(f"<td{attr}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    css_attr = f" class='{classes}'" if classes else ""
    return f"<table{css_attr}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _attr(value: str) -> str:
    return '"' + html.escape(value, quote=True) + '"'


def _mark_class(mark: str) -> str:
    if "O" in mark:
        return "overdue"
    if mark.startswith("✘"):
        return "rejected"
    if "L" in mark:
        return "late"
    if mark.startswith("✔"):
        return "ok"
    if mark.startswith("…"):
        return "waiting"
    if mark.startswith("·"):
        return "pending"
    return ""


MARK_CLASSES = {name: f"mark-{name}" for name in ("overdue", "rejected", "late", "ok", "waiting", "pending")}


def relative_link(target: str | None, from_dir: Path) -> str | None:
    """A relative href from the report folder to a clerk report (both under reports_dir)."""
    if not target:
        return None
    relative = os.path.relpath(Path(target).absolute(), from_dir.absolute())
    return Path(relative).as_posix()


# ------------------------------------------------------------------------------ KPIs


def headline_kpis(kpis: pl.DataFrame) -> pl.DataFrame:
    """The KPI table (grain: domain × metric × period): every childcare season and school
    year, and the first and latest month of the health domain (SPEC §8 and more)."""
    chosen = pl.concat([
        kpis.filter((pl.col("domain") == domain) & pl.col("metric").is_in(metrics))
        for domain, metrics in DOMAIN_METRICS.items()
    ]) if kpis.height else kpis
    if chosen.is_empty():
        return chosen.select("domain", "metric", "period", "value")
    health_months = chosen.filter(pl.col("domain") == "health")["period"]
    keep_months = [health_months.min(), health_months.max()] if health_months.len() else []
    chosen = chosen.filter((pl.col("domain") != "health") | pl.col("period").is_in(keep_months))
    order = {metric: i for metrics in DOMAIN_METRICS.values() for i, metric in enumerate(metrics)}
    return (
        chosen.with_columns(pl.col("metric").replace_strict(order, default=99, return_dtype=pl.Int64).alias("_order"))
        .sort("domain", "_order", "period")
        .select("domain", "metric", "period", "value")
    )


def kpi_overview(kpis: pl.DataFrame) -> list[tuple[str, pl.DataFrame]]:
    """Per domain: periods as rows, metrics as columns (what the run summary shows)."""
    headline = headline_kpis(kpis)
    tables = []
    for domain, metrics in DOMAIN_METRICS.items():
        part = headline.filter(pl.col("domain") == domain)
        if part.is_empty():
            continue
        wide = part.pivot(on="metric", index="period", values="value").sort("period")
        tables.append((DOMAIN_TITLES[domain], wide.select("period", *[m for m in metrics if m in wide.columns])))
    return tables


# ---------------------------------------------------------------------------- charts


def _previous_year_label(label: str) -> str | None:
    try:
        return parse_period(label).previous_year().label
    except InvalidPeriod:
        return None


def children_by_county_chart(county_season: pl.DataFrame) -> str:
    """Children in care per county, latest season against the same season a year earlier."""
    title = "Children in holiday care by county"
    with_children = county_season.filter(pl.col("children_enrolled").is_not_null())
    if with_children.is_empty():
        return empty_chart(title, "No childcare site registry loaded yet.")
    season = with_children.sort("season_start")["season"][-1]
    previous = _previous_year_label(season) or "previous year"
    part = with_children.filter(pl.col("season") == season).sort("county_code")
    names = [str(name or code) for code, name in zip(part["county_code"], part["county_name"], strict=True)]
    notes = [
        f"{signed(change)} ({signed(pct, '%')})" if change is not None else "new"
        for change, pct in zip(part["children_yoy_change"], part["children_yoy_pct"], strict=True)
    ]
    total, total_prev = part["children_enrolled"].sum(), part["children_enrolled_prev_year"].sum()
    description = (f"{season}: {format_number(total)} children in care, "
                   f"{previous}: {format_number(total_prev) if total_prev else '—'}.")
    return grouped_bar_chart(
        f"{title}, {season} vs {previous}",
        names,
        [Series(previous, part["children_enrolled_prev_year"].to_list(), colour=PALETTE[1]),
         Series(season, part["children_enrolled"].to_list(), colour=PALETTE[0])],
        description=description,
        notes=notes,
    )


def vocational_intake_chart(county_year: pl.DataFrame) -> str:
    """City new intake per school year, each bar annotated with its change on the year before."""
    title = "Vocational new intake (city) by school year"
    if county_year.is_empty():
        return empty_chart(title, "No vocational enrolment loaded yet.")
    city = county_year.group_by("school_year").agg(pl.col("new_intake").sum()).sort("school_year")
    intake = city["new_intake"].to_list()
    years = city["school_year"].to_list()
    notes = [""] + [
        signed(now - before) if years[i + 1] == years[i] + 1 else ""
        for i, (before, now) in enumerate(pairwise(intake))
    ]
    return column_chart(
        title, [str(year) for year in years], intake,
        description="New students per school year (the year it starts), summed over counties; "
                    "the figure above a bar is the change on the previous school year.",
        notes=notes,
    )


def heart_surgeries_chart(facility_month: pl.DataFrame) -> str:
    """Cardiovascular centre surgeries per month (all reporting facilities)."""
    title = "Cardiovascular centre surgeries per month"
    if facility_month.is_empty():
        return empty_chart(title, "No health reports loaded yet.")
    months = facility_month.group_by("month").agg(pl.col("surgeries").sum()).sort("month")
    total = months["surgeries"].sum()
    return column_chart(
        title, months["month"].to_list(), months["surgeries"].to_list(),
        description=f"{format_number(total)} surgeries {months['month'][0]} … {months['month'][-1]}.",
        colour="#e07a5f",
    )


def run_charts(marts: Mapping[str, pl.DataFrame]) -> list[str]:
    return [
        children_by_county_chart(marts["mart_childcare_county_season"]),
        vocational_intake_chart(marts["mart_vocational_county_year"]),
        heart_surgeries_chart(marts["mart_health_facility_month"]),
    ]


# -------------------------------------------------------------------- run summary


@dataclass(frozen=True)
class RunContext:
    """Who/when of a run, for the report header (no settings: they may hold secrets)."""

    run_name: str
    run_id: str | None
    generated_at: datetime
    as_of: date
    warehouse: str
    """The warehouse URL with any password masked."""


def not_loaded(outcomes: pl.DataFrame) -> pl.DataFrame:
    """Submissions of the run that were not (fully) loaded, with their clerk report."""
    return outcomes.filter(~pl.col("status").str.starts_with("accepted")).select(
        "county_code", "dataset", "period", "status", "errors", "rows_held", "report_path"
    )


def ignored_frame(ignored: Sequence[IgnoredEntry]) -> pl.DataFrame:
    """Landing-zone entries that were not submissions (grain: folder × reason), warnings
    first. Folders only: a file's own name is not shown (clerks may put names in them)."""
    rows = [(str(PurePosixPath(entry.relative_path).parent), entry.reason, entry.warning)
            for entry in ignored]
    frame = pl.DataFrame(rows, schema={"folder": pl.Utf8, "reason": pl.Utf8, "warning": pl.Boolean},
                         orient="row")
    reasons = {code: f"{zh} / {en}" for code, (zh, en) in IGNORED_REASONS.items()}
    return (
        frame.group_by("folder", "reason", maintain_order=True)
        .agg(pl.len().alias("entries"), pl.col("warning").any())
        .sort("warning", "folder", "reason", descending=[True, False, False])
        .select(
            pl.when(pl.col("warning")).then(pl.lit("⚠")).otherwise(pl.lit("")).alias("attention"),
            "folder", "entries",
            pl.col("reason").replace_strict(reasons, default=pl.col("reason")).alias("why"),
        )
    )


def ignored_markdown(ignored: Sequence[IgnoredEntry], *, max_rows: int = 50) -> list[str]:
    """The run summary's section on ignored entries; empty when there are none."""
    if not ignored:
        return []
    table = ignored_frame(ignored)
    warnings = sum(entry.warning for entry in ignored)
    lines = ["", "## Ignored in the landing zone", "",
             f"{len(ignored)} entries are not submissions and were not read"
             + (f"; ⚠ {warnings} look like data files in a hidden folder — move them out "
                "of it to submit them." if warnings else "."),
             "", markdown_table(table.head(max_rows))]
    if table.height > max_rows:
        lines += ["", f"… and {table.height - max_rows} more folders."]
    return lines


def completeness_markdown(assessed: pl.DataFrame, as_of: date) -> str:
    """The completeness matrix artifact: counts, then one matrix per dataset, then the legend."""
    if assessed.is_empty():
        return "# Completeness\n\nNo partitions expected or received yet."
    parts = [f"# Completeness as of {as_of.isoformat()}", "",
             summary_line(assessed.filter(pl.col("timeliness").is_in(["overdue", "late"])), as_of, assessed.height),
             "", markdown_table(completeness_counts(assessed))]
    for dataset, matrix in matrices_by_dataset(assessed):
        parts += ["", f"## {dataset}", "", markdown_table(matrix)]
    parts += ["", f"Legend: {LEGEND}"]
    return "\n".join(parts)


def run_summary_markdown(
    context: RunContext,
    summary: pl.DataFrame,
    outcomes: pl.DataFrame,
    problems: pl.DataFrame,
    partitions: int,
    kpis: pl.DataFrame,
    report_path: Path | None,
    *,
    max_problems: int = 20,
    ignored: Sequence[IgnoredEntry] = (),
) -> str:
    """The run's markdown artifact: what happened, what needs attention (not loaded,
    ignored landing-zone entries, completeness), the headline KPIs."""
    lines = ["# countyflow run", ""]
    if report_path is not None:
        lines += [f"Run report with charts: [{report_path.name}]({report_path.absolute().as_uri()}) "
                  f"— `{report_path.absolute()}`", ""]
    lines += ["## Submissions by status", ""]
    lines += [markdown_table(summary) if summary.height else "Nothing new in the landing zone."]
    failed = not_loaded(outcomes)
    if failed.height:
        lines += ["", "## Not loaded — see each clerk report", "", markdown_table(failed)]
    lines += ignored_markdown(ignored)
    lines += ["", f"## Completeness as of {context.as_of.isoformat()}", "",
              summary_line(problems, context.as_of, partitions)]
    if problems.height:
        shown = problems.head(max_problems).select(
            "county_code", "dataset", "period", "timeliness", "status", "due_date", "days_overdue")
        lines += ["", markdown_table(shown)]
        if problems.height > max_problems:
            lines += ["", f"… and {problems.height - max_problems} more (artifact `countyflow-completeness-matrix`)."]
    for title, table in kpi_overview(kpis):
        lines += ["", f"## {title}", "", markdown_table(table)]
    return "\n".join(lines)


# ------------------------------------------------------------------------ HTML report

_CSS = """
body{font-family:system-ui,-apple-system,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:15px;margin-top:20px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}th{background:#f4f6f8}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.meta{color:#555;font-size:13px}.chart{display:block;margin:12px 0;max-width:100%;height:auto}
.mark-ok{background:#e6f4ea}.mark-late{background:#fff4d6}.mark-overdue{background:#fbe3e0;font-weight:600}
.mark-rejected{background:#fbe3e0}.mark-waiting{background:#fff4d6}.mark-pending{color:#999}
.legend{color:#555;font-size:12px}
"""


def render_run_report(
    context: RunContext,
    outcomes: pl.DataFrame,
    summary: pl.DataFrame,
    assessed: pl.DataFrame,
    problems: pl.DataFrame,
    marts: Mapping[str, pl.DataFrame],
    *,
    report_dir: Path,
) -> str:
    """One self-contained HTML page (inline CSS and SVG; no scripts, no external files)."""
    e = html.escape
    out = [
        "<!DOCTYPE html>", "<html lang='zh-CN'><head><meta charset='utf-8'>",
        f"<title>countyflow run {e(context.run_name)}</title><style>{_CSS}</style></head><body>",
        f"<h1>countyflow run {e(context.run_name)}</h1>",
        f"<p class='meta'>Generated {e(context.generated_at.isoformat(timespec='seconds'))} · "
        f"flow run {e(context.run_id or '—')} · warehouse {e(context.warehouse)} · "
        f"completeness as of {e(context.as_of.isoformat())}</p>",
    ]
    # What a person looks for first: the figures and the charts; then what needs action
    # (not loaded, late, overdue); the full tables last (a scale-1 run lists 176 files).
    out.append("<h2>At a glance</h2>")
    out.append("<p>Nothing new in the landing zone.</p>" if outcomes.is_empty() else html_table(summary))
    for title, table in kpi_overview(marts["mart_city_kpi"]):
        out += [f"<h3>{e(title)}</h3>", html_table(table)]
    out.append("<h2>Charts</h2>")
    out += run_charts(marts)

    out.append("<h2>Needs action</h2>")
    failed = not_loaded(outcomes) if not outcomes.is_empty() else outcomes
    if failed.height:
        out.append("<h3>Not loaded in this run (the clerk report says why)</h3>")
        out.append(_with_report_links(failed, report_dir))
    else:
        out.append("<p>Every submission of this run was loaded.</p>")
    out.append(f"<h3>Late and overdue, as of {e(context.as_of.isoformat())}</h3>")
    out.append(f"<p>{e(summary_line(problems, context.as_of, assessed.height))}</p>")
    if problems.height:
        out.append(html_table(problems.select(
            "county_code", "county_name", "dataset", "period", "timeliness", "status", "due_date",
            "days_overdue", "submissions_received")))

    out.append(f"<h2>Completeness as of {e(context.as_of.isoformat())}</h2>")
    if assessed.height:
        out.append(html_table(completeness_counts(assessed)))
        for dataset, matrix in matrices_by_dataset(assessed):
            out.append(f"<h3>{e(dataset)}</h3>")
            out.append(html_table(matrix, classes="matrix", cell_class=MARK_CLASSES))
        out.append(f"<p class='legend'>Legend: {e(LEGEND)}</p>")
    else:
        out.append("<p>No partitions expected or received yet.</p>")

    if not outcomes.is_empty():
        out.append("<h2>Every submission of this run (the clerk report is linked)</h2>")
        out.append(_with_report_links(outcomes.select(SUBMISSION_COLUMNS), report_dir))
    out.append("</body></html>")
    return "\n".join(out)


def _with_report_links(frame: pl.DataFrame, report_dir: Path) -> str:
    """The table with each `report_path` shown relative to the reports folder and linked
    relative to the run report."""
    paths = frame["report_path"].to_list()
    links = [relative_link(path, report_dir) for path in paths]
    texts = [relative_link(path, report_dir.parent) for path in paths]
    return html_table(frame.with_columns(pl.Series("report_path", texts, dtype=pl.Utf8)),
                      links={"report_path": links})


def run_report_name(context: RunContext) -> str:
    """`20251014T082000Z-<flow run id>.html`: sorts by time (UTC), names the run."""
    moment = context.generated_at
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%SZ}-{context.run_id or context.run_name}.html"


# ------------------------------------------------------------- heart-centre roll-up

ROLLUP_METRICS = (
    "surgeries", "surgeries_cumulative", "interventional_procedures", "beds_open",
    "outpatient_visits", "inpatient_admissions", "returned_patients", "resident_experts",
    "experts_dispatched", "experts_dispatched_cumulative", "visiting_experts",
    "visiting_experts_cumulative", "local_surgeons_independent", "departments_internal",
    "departments_surgical", "facilities_reporting",
)
FACILITY_COLUMNS = (
    "facility_code", "facility_name", "county_name", "departments", "beds_open", "surgeries",
    "interventional_procedures", "outpatient_visits", "inpatient_admissions",
    "resident_experts", "local_surgeons_independent", "returned_patients",
)


def latest_health_month(kpis: pl.DataFrame) -> str | None:
    months = kpis.filter(pl.col("domain") == "health")["period"]
    return months.max() if months.len() else None  # type: ignore[return-value]


def heart_centre_rollup(kpis: pl.DataFrame, month: str) -> pl.DataFrame:
    """The centre's KPIs for `month` against the month before (grain: metric)."""
    health = kpis.filter(pl.col("domain") == "health")
    months = sorted(m for m in health["period"].unique().to_list() if m <= month)
    previous = months[-2] if len(months) > 1 else None
    def values(period: str | None, alias: str) -> pl.DataFrame:
        return health.filter(pl.col("period") == period).select("metric", pl.col("value").alias(alias))
    frame = pl.DataFrame({"metric": list(ROLLUP_METRICS)}).join(
        values(month, "value"), on="metric", how="left"
    ).join(values(previous, "previous_month"), on="metric", how="left")
    return frame.with_columns(
        (pl.col("value") - pl.col("previous_month")).alias("change"),
        pl.lit(month).alias("month"),
        pl.lit(previous, dtype=pl.Utf8).alias("previous"),
    ).select("month", "metric", "value", "previous", "previous_month", "change")


def heart_centre_facilities(facility_month: pl.DataFrame, month: str) -> pl.DataFrame:
    """Each reporting facility in `month` (grain: facility)."""
    return facility_month.filter(pl.col("month") == month).select(FACILITY_COLUMNS).sort("facility_code")


def heart_centre_markdown(month: str, rollup: pl.DataFrame, facilities: pl.DataFrame) -> str:
    previous = rollup["previous"][0] if rollup.height else None
    lines = [f"# Cardiovascular centre — {month}", "",
             f"City figures for {month}" + (f", against {previous}." if previous else "."), "",
             markdown_table(rollup.select("metric", "value", "previous_month", "change")),
             "", "## Reporting facilities", "",
             markdown_table(facilities) if facilities.height else "No facility reported this month.",
             "", "*_cumulative = running total over every loaded month up to this one."]
    return "\n".join(lines)
