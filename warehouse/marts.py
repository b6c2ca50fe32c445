"""BI marts (SPEC §6): views over the star schema, the warehouse's public contract.

Same names, columns and results on DuckDB and PostgreSQL: the SQL uses only the common
subset (CTEs, window functions, `CASE`, `IS DISTINCT FROM`), every sum is cast to BIGINT
(PostgreSQL would return NUMERIC) and every ratio is one IEEE division of two exact
integers cast to DOUBLE PRECISION, so both backends compute bit-identical values.
Ratios are NULL when the denominator is 0 or missing. Facts only ever hold the rows of
the current accepted submission of each partition, so the marts need no filtering.

Each view carries its documentation as `COMMENT ON VIEW`, which BI tools display.

Where they live: schema `marts` on PostgreSQL, reading `dw` and `audit` by qualified
names; DuckDB's single schema (`warehouse.layout`). The views are replaced in place
(`CREATE OR REPLACE VIEW`), which keeps their grants, owner and dependants; only when a
definition changes its columns does PostgreSQL need DROP + CREATE, and then the view's
owner and grants are restored, because `warehouse.access` relies on them: a mart owned by
a role that bypasses row-level security would show every county to everyone.

On PostgreSQL the marts are ordinary (definer-rights) views, not `security_invoker`
ones: `bi_reader` may read the marts but not the tables under them, which only a view
that reads with its owner's rights allows. They still respect row-level security,
because the tables force it on their owner and the policies test the reading session's
role (`current_user`), see `warehouse.access`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from warehouse.layout import MARTS_SCHEMA, folds_schemas, qualify, unqualify

_I, _F, _S = pl.Int64(), pl.Float64(), pl.Utf8()


@dataclass(frozen=True)
class Mart:
    """One mart: its view name, grain, documentation, query and public columns.

    `query` names tables with their schema (`dw.fact_…`, `audit.audit_submission`), as on
    PostgreSQL; `sql_for(dialect)` is what the view is created from on a backend, and
    `sql` the query with bare names (valid wherever the warehouse schemas are on the
    search path: always on DuckDB, on countyflow's PostgreSQL connections).
    """

    name: str
    grain: str
    doc: str
    query: str
    columns: Mapping[str, pl.DataType]
    order_by: tuple[str, ...]

    def sql_for(self, dialect_name: str) -> str:
        return unqualify(self.query) if folds_schemas(dialect_name) else self.query

    @property
    def sql(self) -> str:
        return unqualify(self.query)

    def view_for(self, dialect_name: str) -> str:
        """The view's name on a backend (`marts.mart_…` on PostgreSQL)."""
        return qualify(dialect_name, MARTS_SCHEMA, self.name)


# ------------------------------------------------------------------ childcare × county

_CHILDCARE_COUNTY_SEASON = """
WITH sites AS (
    SELECT county_code, period,
           COUNT(*) AS sites,
           CAST(SUM(children_enrolled) AS BIGINT) AS children_enrolled,
           CAST(SUM(left_behind_children) AS BIGINT) AS left_behind_children,
           CAST(SUM(relocated_children) AS BIGINT) AS relocated_children,
           CAST(SUM(service_days) AS BIGINT) AS service_days
    FROM dw.fact_childcare_site_season
    GROUP BY county_code, period
), volunteers AS (
    SELECT f.county_code, f.period,
           CAST(SUM(f.volunteers) AS BIGINT) AS volunteers_total,
           CAST(SUM(CASE WHEN s.is_university THEN f.volunteers ELSE 0 END) AS BIGINT)
               AS volunteers_university
    FROM dw.fact_childcare_volunteers f
    JOIN dw.dim_volunteer_source s ON s.source = f.source
    GROUP BY f.county_code, f.period
), county_season AS (
    SELECT county_code, period FROM sites
    UNION
    SELECT county_code, period FROM volunteers
)
SELECT k.county_code,
       c.county_name,
       k.period AS season,
       p.kind AS season_kind,
       p.year AS year,
       p.start_date AS season_start,
       s.sites,
       s.children_enrolled,
       s.left_behind_children,
       s.relocated_children,
       v.volunteers_total,
       v.volunteers_university,
       v.volunteers_total - v.volunteers_university AS volunteers_other,
       CASE WHEN s.sites > 0
            THEN CAST(s.service_days AS DOUBLE PRECISION) / s.sites END AS avg_service_days,
       prev.children_enrolled AS children_enrolled_prev_year,
       s.children_enrolled - prev.children_enrolled AS children_yoy_change,
       CASE WHEN prev.children_enrolled > 0
            THEN CAST(s.children_enrolled - prev.children_enrolled AS DOUBLE PRECISION) * 100
                 / prev.children_enrolled END AS children_yoy_pct
FROM county_season k
JOIN dw.dim_period p ON p.period = k.period
LEFT JOIN dw.dim_county c ON c.county_code = k.county_code
LEFT JOIN sites s ON s.county_code = k.county_code AND s.period = k.period
LEFT JOIN volunteers v ON v.county_code = k.county_code AND v.period = k.period
LEFT JOIN sites prev ON prev.county_code = k.county_code AND prev.period = p.prev_year_period
"""

# -------------------------------------------------------------------- childcare × site

_CHILDCARE_SITE_SEASON = """
WITH attendance AS (
    SELECT f.county_code, f.period, s.site_code,
           COUNT(*) AS days_reported,
           CAST(SUM(f.children_present) AS BIGINT) AS child_days_present
    FROM dw.fact_childcare_daily f
    JOIN dw.dim_childcare_site s ON s.site_key = f.site_key
    GROUP BY f.county_code, f.period, s.site_code
), volunteers AS (
    SELECT f.county_code, f.period, s.site_code,
           CAST(SUM(f.volunteers) AS BIGINT) AS volunteers_total,
           CAST(SUM(CASE WHEN v.is_university THEN f.volunteers ELSE 0 END) AS BIGINT)
               AS volunteers_university
    FROM dw.fact_childcare_volunteers f
    JOIN dw.dim_childcare_site s ON s.site_key = f.site_key
    JOIN dw.dim_volunteer_source v ON v.source = f.source
    GROUP BY f.county_code, f.period, s.site_code
)
SELECT f.county_code,
       c.county_name,
       f.period AS season,
       s.site_code,
       s.site_name,
       s.township,
       s.host_type,
       f.start_date,
       f.end_date,
       f.service_days,
       f.hours_per_day,
       f.meal_subsidy_yuan,
       f.children_enrolled,
       f.left_behind_children,
       f.relocated_children,
       f.service_person_times,
       v.volunteers_total,
       v.volunteers_university,
       a.days_reported,
       CASE WHEN a.days_reported > 0
            THEN CAST(a.child_days_present AS DOUBLE PRECISION) / a.days_reported
       END AS avg_children_present,
       CASE WHEN a.days_reported > 0 AND f.children_enrolled > 0
            THEN CAST(a.child_days_present AS DOUBLE PRECISION)
                 / (a.days_reported * f.children_enrolled)
       END AS attendance_rate
FROM dw.fact_childcare_site_season f
JOIN dw.dim_childcare_site s ON s.site_key = f.site_key
LEFT JOIN dw.dim_county c ON c.county_code = f.county_code
LEFT JOIN attendance a
       ON a.county_code = f.county_code AND a.period = f.period AND a.site_code = s.site_code
LEFT JOIN volunteers v
       ON v.county_code = f.county_code AND v.period = f.period AND v.site_code = s.site_code
"""

# ----------------------------------------------------------------- vocational × county

_VOCATIONAL_COUNTY_YEAR = """
WITH county_year AS (
    SELECT f.county_code, f.period,
           COUNT(DISTINCT s.school_code) AS schools,
           CAST(SUM(f.enrolled) AS BIGINT) AS enrolled,
           CAST(SUM(f.new_intake) AS BIGINT) AS new_intake,
           CAST(SUM(f.dropouts) AS BIGINT) AS dropouts
    FROM dw.fact_vocational_enrollment f
    JOIN dw.dim_school s ON s.school_key = f.school_key
    GROUP BY f.county_code, f.period
)
SELECT a.county_code,
       c.county_name,
       p.year AS school_year,
       a.schools,
       a.enrolled,
       a.new_intake,
       a.dropouts,
       CASE WHEN a.enrolled > 0
            THEN CAST(a.dropouts AS DOUBLE PRECISION) / a.enrolled END AS dropout_rate,
       prev.new_intake AS new_intake_prev_year,
       a.new_intake - prev.new_intake AS new_intake_yoy_change,
       CASE WHEN prev.new_intake > 0
            THEN CAST(a.new_intake - prev.new_intake AS DOUBLE PRECISION) * 100
                 / prev.new_intake END AS new_intake_yoy_pct
FROM county_year a
JOIN dw.dim_period p ON p.period = a.period
LEFT JOIN dw.dim_county c ON c.county_code = a.county_code
LEFT JOIN county_year prev
       ON prev.county_code = a.county_code AND prev.period = p.prev_year_period
"""

# ------------------------------------------------------------------ health × facility

HEALTH_MEASURES: tuple[str, ...] = (
    "beds_open",
    "surgeries",
    "interventional_procedures",
    "outpatient_visits",
    "inpatient_admissions",
    "resident_experts",
    "experts_dispatched",
    "visiting_experts",
    "local_surgeons_independent",
    "returned_patients",
)

_HEALTH_SUMS = ",\n       ".join(
    f"CAST(SUM(f.{m}) AS BIGINT) AS {m}" for m in HEALTH_MEASURES
)

_HEALTH_FACILITY_MONTH = f"""
SELECT d.facility_code,
       d.facility_name,
       f.county_code,
       c.county_name,
       f.period AS month,
       p.start_date AS month_start,
       COUNT(*) AS departments,
       {_HEALTH_SUMS}
FROM dw.fact_health_monthly f
JOIN dw.dim_health_facility d ON d.facility_key = f.facility_key
JOIN dw.dim_period p ON p.period = f.period
LEFT JOIN dw.dim_county c ON c.county_code = f.county_code
GROUP BY d.facility_code, d.facility_name, f.county_code, c.county_name, f.period, p.start_date
"""

# ---------------------------------------------------------------------------- city KPIs


def _unpivot(domain: str, source: str, metrics: Sequence[tuple[str, str]]) -> str:
    """`SELECT domain, metric, period, value` for each (metric, expression) of `source`."""
    return "\nUNION ALL\n".join(
        f"SELECT CAST('{domain}' AS VARCHAR) AS domain, CAST('{metric}' AS VARCHAR) AS metric, "
        f"period, CAST({expression} AS DOUBLE PRECISION) AS value FROM {source}"
        for metric, expression in metrics
    )


CHILDCARE_KPIS: tuple[tuple[str, str], ...] = (
    ("sites", "sites"),
    ("counties_reporting", "counties_reporting"),
    ("children_enrolled", "children_enrolled"),
    ("left_behind_children", "left_behind_children"),
    ("relocated_children", "relocated_children"),
    ("volunteers_total", "volunteers_total"),
    ("volunteers_university", "volunteers_university"),
    ("volunteers_other", "volunteers_total - volunteers_university"),
    ("avg_service_days",
     "CASE WHEN sites > 0 THEN CAST(service_days AS DOUBLE PRECISION) / sites END"),
    ("children_enrolled_prev_year", "children_prev"),
    ("children_yoy_change", "children_enrolled - children_prev"),
    ("children_yoy_pct",
     "CASE WHEN children_prev > 0 THEN CAST(children_enrolled - children_prev AS DOUBLE PRECISION)"
     " * 100 / children_prev END"),
)

VOCATIONAL_KPIS: tuple[tuple[str, str], ...] = (
    ("schools", "schools"),
    ("enrolled", "enrolled"),
    ("new_intake", "new_intake"),
    ("dropouts", "dropouts"),
    ("dropout_rate",
     "CASE WHEN enrolled > 0 THEN CAST(dropouts AS DOUBLE PRECISION) / enrolled END"),
    ("new_intake_prev_year", "new_intake_prev"),
    ("new_intake_yoy_change", "new_intake - new_intake_prev"),
    ("new_intake_yoy_pct",
     "CASE WHEN new_intake_prev > 0 THEN CAST(new_intake - new_intake_prev AS DOUBLE PRECISION)"
     " * 100 / new_intake_prev END"),
)

_CUMULATIVE = ("surgeries", "experts_dispatched", "visiting_experts")

HEALTH_KPIS: tuple[tuple[str, str], ...] = (
    *((m, m) for m in HEALTH_MEASURES),
    *((f"{m}_cumulative", f"{m}_cumulative") for m in _CUMULATIVE),
    ("facilities_reporting", "facilities_reporting"),
    ("departments_total", "departments_total"),
    ("departments_internal", "departments_internal"),
    ("departments_surgical", "departments_surgical"),
)

_CITY_HEALTH_SUMS = ",\n           ".join(
    f"CAST(SUM(f.{m}) AS BIGINT) AS {m}" for m in HEALTH_MEASURES
)
_CITY_HEALTH_RUNNING = ",\n           ".join(
    f"CAST(SUM({m}) OVER (ORDER BY period ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
    f" AS BIGINT) AS {m}_cumulative"
    for m in _CUMULATIVE
)

_CITY_KPI = f"""
WITH cc_sites AS (
    SELECT period,
           COUNT(*) AS sites,
           COUNT(DISTINCT county_code) AS counties_reporting,
           CAST(SUM(children_enrolled) AS BIGINT) AS children_enrolled,
           CAST(SUM(left_behind_children) AS BIGINT) AS left_behind_children,
           CAST(SUM(relocated_children) AS BIGINT) AS relocated_children,
           CAST(SUM(service_days) AS BIGINT) AS service_days
    FROM dw.fact_childcare_site_season
    GROUP BY period
), cc_volunteers AS (
    SELECT f.period,
           CAST(SUM(f.volunteers) AS BIGINT) AS volunteers_total,
           CAST(SUM(CASE WHEN s.is_university THEN f.volunteers ELSE 0 END) AS BIGINT)
               AS volunteers_university
    FROM dw.fact_childcare_volunteers f
    JOIN dw.dim_volunteer_source s ON s.source = f.source
    GROUP BY f.period
), cc_seasons AS (
    SELECT period FROM cc_sites UNION SELECT period FROM cc_volunteers
), childcare AS (
    SELECT k.period, s.sites, s.counties_reporting, s.children_enrolled,
           s.left_behind_children, s.relocated_children, s.service_days,
           v.volunteers_total, v.volunteers_university,
           prev.children_enrolled AS children_prev
    FROM cc_seasons k
    JOIN dw.dim_period p ON p.period = k.period
    LEFT JOIN cc_sites s ON s.period = k.period
    LEFT JOIN cc_volunteers v ON v.period = k.period
    LEFT JOIN cc_sites prev ON prev.period = p.prev_year_period
), voc_year AS (
    SELECT f.period,
           COUNT(DISTINCT s.school_code) AS schools,
           CAST(SUM(f.enrolled) AS BIGINT) AS enrolled,
           CAST(SUM(f.new_intake) AS BIGINT) AS new_intake,
           CAST(SUM(f.dropouts) AS BIGINT) AS dropouts
    FROM dw.fact_vocational_enrollment f
    JOIN dw.dim_school s ON s.school_key = f.school_key
    GROUP BY f.period
), vocational AS (
    SELECT y.period, y.schools, y.enrolled, y.new_intake, y.dropouts,
           prev.new_intake AS new_intake_prev
    FROM voc_year y
    JOIN dw.dim_period p ON p.period = y.period
    LEFT JOIN voc_year prev ON prev.period = p.prev_year_period
), health_month AS (
    SELECT f.period,
           {_CITY_HEALTH_SUMS},
           COUNT(DISTINCT h.facility_code) AS facilities_reporting,
           COUNT(DISTINCT d.department) AS departments_total,
           COUNT(DISTINCT CASE WHEN d.department_group = 'internal' THEN d.department END)
               AS departments_internal,
           COUNT(DISTINCT CASE WHEN d.department_group = 'surgical' THEN d.department END)
               AS departments_surgical
    FROM dw.fact_health_monthly f
    JOIN dw.dim_health_facility h ON h.facility_key = f.facility_key
    JOIN dw.dim_department d ON d.department_key = f.department_key
    GROUP BY f.period
), health AS (
    SELECT health_month.*,
           {_CITY_HEALTH_RUNNING}
    FROM health_month
)
{_unpivot("childcare", "childcare", CHILDCARE_KPIS)}
UNION ALL
{_unpivot("vocational", "vocational", VOCATIONAL_KPIS)}
UNION ALL
{_unpivot("health", "health", HEALTH_KPIS)}
"""

# ------------------------------------------------------------------- submission status

# Due dates are city dates (Zhaotong, Asia/Shanghai: UTC+8 all year, no daylight saving),
# the ledger's times naive UTC: a file delivered at 23:00 UTC on the due date arrived the
# next morning in the city. `countyflow.completeness` judges with the same city dates.
_SUBMISSION_STATUS = """
WITH ranked AS (
    SELECT a.*,
           ROW_NUMBER() OVER (
               PARTITION BY a.county_code, a.dataset, a.period
               ORDER BY a.modified_at DESC, a.file_name DESC, a.submission_id DESC
           ) AS recency
    FROM audit.audit_submission a
), received AS (
    SELECT county_code, dataset, period,
           COUNT(*) AS submissions_received,
           MIN(CASE WHEN status <> 'rejected' THEN modified_at END) AS first_delivered_at
    FROM audit.audit_submission
    GROUP BY county_code, dataset, period
), current_accepted AS (
    SELECT county_code, dataset, period, submission_id, rows_loaded
    FROM audit.audit_submission
    WHERE status IN ('accepted', 'accepted_with_warnings')
), partitions AS (
    SELECT county_code, dataset, period FROM dw.ref_calendar
    UNION
    SELECT county_code, dataset, period FROM audit.audit_submission
)
SELECT k.county_code,
       c.county_name,
       k.dataset,
       k.period,
       COALESCE(l.status, 'missing') AS status,
       ca.submission_id AS current_submission_id,
       l.modified_at AS received_at,
       cal.due_date,
       CASE WHEN cal.due_date IS NULL THEN NULL
            WHEN r.first_delivered_at IS NOT NULL
                 THEN CAST(r.first_delivered_at + INTERVAL '8 hours' AS DATE) <= cal.due_date
            WHEN CAST(CURRENT_TIMESTAMP AT TIME ZONE 'Asia/Shanghai' AS DATE) > cal.due_date
                 THEN FALSE
       END AS on_time,
       l.rows_loaded,
       l.rows_rejected,
       l.warnings,
       COALESCE(r.submissions_received, 0) AS submissions_received,
       cal.due_date IS NOT NULL AS expected,
       ca.rows_loaded AS current_rows_loaded
FROM partitions k
LEFT JOIN dw.dim_county c ON c.county_code = k.county_code
LEFT JOIN ranked l
       ON l.county_code = k.county_code AND l.dataset = k.dataset AND l.period = k.period
      AND l.recency = 1
LEFT JOIN received r
       ON r.county_code = k.county_code AND r.dataset = k.dataset AND r.period = k.period
LEFT JOIN current_accepted ca
       ON ca.county_code = k.county_code AND ca.dataset = k.dataset AND ca.period = k.period
LEFT JOIN dw.ref_calendar cal
       ON cal.county_code = k.county_code AND cal.dataset = k.dataset AND cal.period = k.period
"""


def _kpi_doc(domain: str, period: str, metrics: Sequence[tuple[str, str]]) -> str:
    return f"{domain} (period = {period}): " + ", ".join(m for m, _ in metrics) + "."


MARTS: Mapping[str, Mart] = {
    mart.name: mart
    for mart in (
        Mart(
            name="mart_childcare_county_season",
            grain="county × season",
            doc=(
                "Holiday childcare per county and season (grain: county × season). "
                "sites, children and avg_service_days come from the site registry "
                "(childcare_sites); volunteers_* from childcare_volunteers "
                "(volunteers_university = source university_student, volunteers_other = "
                "all other sources). *_prev_year is the same season one year earlier; "
                "children_yoy_pct is a percentage (60.0 = +60 %), NULL when the previous "
                "year is missing or 0. Counts are NULL when the dataset was not received. "
                "season_start (the season's first day) orders seasons in time; the label "
                "does not."
            ),
            query=_CHILDCARE_COUNTY_SEASON,
            columns={
                "county_code": _S, "county_name": _S, "season": _S, "season_kind": _S,
                "year": _I, "season_start": pl.Date(), "sites": _I, "children_enrolled": _I,
                "left_behind_children": _I,
                "relocated_children": _I, "volunteers_total": _I, "volunteers_university": _I,
                "volunteers_other": _I, "avg_service_days": _F,
                "children_enrolled_prev_year": _I, "children_yoy_change": _I,
                "children_yoy_pct": _F,
            },
            order_by=("season_start", "county_code"),
        ),
        Mart(
            name="mart_childcare_site_season",
            grain="site × season",
            doc=(
                "Holiday childcare per site and season (grain: site × season): the "
                "registry row (name, township and host type as valid that season, dates, "
                "hours, meal subsidy in yuan per child-day, children) with the site's "
                "volunteers and daily attendance. avg_children_present = children present "
                "per reported day; attendance_rate = that / children_enrolled as a fraction; "
                "both NULL without attendance data or when the denominator is 0."
            ),
            query=_CHILDCARE_SITE_SEASON,
            columns={
                "county_code": _S, "county_name": _S, "season": _S, "site_code": _S,
                "site_name": _S, "township": _S, "host_type": _S, "start_date": pl.Date(),
                "end_date": pl.Date(), "service_days": _I, "hours_per_day": _F,
                "meal_subsidy_yuan": _F, "children_enrolled": _I, "left_behind_children": _I,
                "relocated_children": _I, "service_person_times": _I, "volunteers_total": _I,
                "volunteers_university": _I, "days_reported": _I, "avg_children_present": _F,
                "attendance_rate": _F,
            },
            order_by=("season", "county_code", "site_code"),
        ),
        Mart(
            name="mart_vocational_county_year",
            grain="county × school year",
            doc=(
                "Vocational schools per county and school year (grain: county × school "
                "year; school_year = the year the school year starts in September). "
                "dropout_rate = dropouts / enrolled as a fraction (NULL when enrolled is 0); "
                "new_intake_yoy_change against the previous school year, "
                "new_intake_yoy_pct a percentage (NULL when the previous year is missing or 0)."
            ),
            query=_VOCATIONAL_COUNTY_YEAR,
            columns={
                "county_code": _S, "county_name": _S, "school_year": _I, "schools": _I,
                "enrolled": _I, "new_intake": _I, "dropouts": _I, "dropout_rate": _F,
                "new_intake_prev_year": _I, "new_intake_yoy_change": _I,
                "new_intake_yoy_pct": _F,
            },
            order_by=("school_year", "county_code"),
        ),
        Mart(
            name="mart_health_facility_month",
            grain="facility × month",
            doc=(
                "Specialist services per facility and month (grain: facility × month), "
                "summed over departments; facility_name is the name valid that month "
                "(SCD2). month = YYYY-MM, month_start its first day; departments = number "
                "of departments reported."
            ),
            query=_HEALTH_FACILITY_MONTH,
            columns={
                "facility_code": _S, "facility_name": _S, "county_code": _S,
                "county_name": _S, "month": _S, "month_start": pl.Date(), "departments": _I,
                **{m: _I for m in HEALTH_MEASURES},
            },
            order_by=("month", "facility_code"),
        ),
        Mart(
            name="mart_city_kpi",
            grain="metric × period",
            doc=(
                "City-wide headline figures (grain: domain × metric × period), all computed "
                "from the facts; value is DOUBLE PRECISION, NULL when undefined. "
                + _kpi_doc("childcare", "season, e.g. 2025-summer", CHILDCARE_KPIS)
                + " volunteers_other = every source but university_student; "
                "children_yoy_pct is a percentage. "
                + _kpi_doc("vocational", "school year, e.g. 2024", VOCATIONAL_KPIS)
                + " dropout_rate is a fraction, new_intake_yoy_pct a percentage. "
                + _kpi_doc("health", "month, e.g. 2025-07", HEALTH_KPIS)
                + " *_cumulative = running total over every loaded month up to this one; "
                "beds_open and local_surgeons_independent are point-in-time monthly values; "
                "departments_internal / _surgical count departments reported that month by "
                "group (reference/departments.csv)."
            ),
            query=_CITY_KPI,
            columns={"domain": _S, "metric": _S, "period": _S, "value": _F},
            order_by=("domain", "metric", "period"),
        ),
        Mart(
            name="mart_submission_status",
            grain="county × dataset × period (expected by the calendar or received)",
            doc=(
                "Completeness and timeliness (grain: county × dataset × period, expected "
                "by the calendar or received). status = the partition's latest submission "
                "(by file time, then name): accepted / accepted_with_warnings / rejected / "
                "waiting, or missing. current_submission_id = the accepted submission whose "
                "facts are loaded. received_at, rows_loaded, rows_rejected and warnings "
                "describe the latest submission (UTC); current_rows_loaded the current one. "
                "on_time = the first non-rejected file arrived on or before due_date (city "
                "dates, Asia/Shanghai); FALSE "
                "when nothing usable arrived and the due date has passed; NULL when not "
                "expected or not yet due."
            ),
            query=_SUBMISSION_STATUS,
            columns={
                "county_code": _S, "county_name": _S, "dataset": _S, "period": _S,
                "status": _S, "current_submission_id": _S, "received_at": pl.Datetime("us"),
                "due_date": pl.Date(), "on_time": pl.Boolean(), "rows_loaded": _I,
                "rows_rejected": _I, "warnings": _I, "submissions_received": _I,
                "expected": pl.Boolean(), "current_rows_loaded": _I,
            },
            order_by=("dataset", "period", "county_code"),
        ),
    )
}


def create_marts(conn: Connection) -> None:
    """Create or replace every mart view with its comment, in the caller's transaction."""
    dialect = conn.dialect.name
    for mart in MARTS.values():
        view, sql = mart.view_for(dialect), mart.sql_for(dialect)
        if dialect == "postgresql":
            _replace_view_keeping_access(conn, view, sql)
        else:
            _ddl(conn, f"CREATE OR REPLACE VIEW {view} AS {sql}")
        comment = mart.doc.replace("'", "''")
        _ddl(conn, f"COMMENT ON VIEW {view} IS '{comment}'")


def _replace_view_keeping_access(conn: Connection, view: str, sql: str) -> None:
    """PostgreSQL: replace in place; when the columns changed (PostgreSQL then refuses),
    drop and create, and give the new view the old one's owner and grants."""
    try:
        with conn.begin_nested():
            _ddl(conn, f"CREATE OR REPLACE VIEW {view} AS {sql}")
        return
    except sa.exc.DBAPIError:
        pass  # e.g. "cannot drop columns from view", "cannot change data type of view column"
    owner = conn.execute(
        sa.text("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = to_regclass(:v)"),
        {"v": view},
    ).scalar_one_or_none()
    grants = conn.execute(
        sa.text(
            "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' "
            "ELSE quote_ident(pg_get_userbyid(a.grantee)) END, a.privilege_type "
            "FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = to_regclass(:v)"
        ),
        {"v": view},
    ).all()
    _ddl(conn, f"DROP VIEW IF EXISTS {view}")
    _ddl(conn, f"CREATE VIEW {view} AS {sql}")
    current = conn.execute(sa.text("SELECT current_user")).scalar_one()
    if owner is not None and owner != current:
        owner_name = conn.dialect.identifier_preparer.quote(owner)
        _ddl(conn, f"ALTER VIEW {view} OWNER TO {owner_name}")
    for grantee, privilege in grants:
        _ddl(conn, f"GRANT {privilege} ON {view} TO {grantee}")


def _ddl(conn: Connection, statement: str) -> None:
    """Run static DDL text; psycopg's format paramstyle would read a `%` as a placeholder."""
    if conn.dialect.paramstyle in ("format", "pyformat"):
        statement = statement.replace("%", "%%")
    conn.exec_driver_sql(statement)


def read_mart(engine: Engine | Connection, name: str) -> pl.DataFrame:
    """The rows of mart `name` as a Polars frame with the mart's declared schema, sorted
    by its grain (the sort happens in Polars, so collations cannot differ by backend)."""
    try:
        mart = MARTS[name]
    except KeyError:
        raise ValueError(f"unknown mart {name!r}; known: {', '.join(MARTS)}") from None
    columns = ", ".join(mart.columns)
    statement = f"SELECT {columns} FROM {mart.view_for(engine.dialect.name)}"
    if isinstance(engine, Connection):
        rows = engine.exec_driver_sql(statement).all()
    else:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(statement).all()
    frame = pl.DataFrame(
        [tuple(row) for row in rows], schema=dict(mart.columns), orient="row"
    )
    return frame.sort(list(mart.order_by), nulls_last=True)
