"""BI marts (SPEC §6): views over the star schema, the warehouse's public contract.

Each view is two files in this folder: `<view>.sql`, its query, and `<view>.toml`, its
sidecar: kind (intermediate / dimension / reference / mart), grain, description and every
column's type, unit and description, in English and Chinese. From them the views are
created, `COMMENT ON VIEW` / `COMMENT ON COLUMN` are applied on both backends (BI tools
show them), and `docs/marts.md` is generated (`uv run python -m countyflow.mart_docs`).
`mart_city_kpi` and `mart_metric_definitions` have no `.sql` file: they are generated from
the metric catalogue (`warehouse.marts.metrics`).

Same names, columns and results on DuckDB and PostgreSQL: the SQL uses only the common
subset (CTEs, window functions, `CASE`, `IS DISTINCT FROM`), every sum is cast to BIGINT
(PostgreSQL would return NUMERIC) and every ratio is one IEEE division of two exact
integers cast to DOUBLE PRECISION, so both backends compute bit-identical values.
Ratios are NULL when the denominator is 0 or missing. Facts only ever hold the rows of
the current accepted submission of each partition, so the marts need no filtering.
Aggregates that several marts share are intermediate views (`int_*`), created first.

Where they live: schema `marts` on PostgreSQL, reading `dw` and `audit` by qualified
names; DuckDB's single schema (`warehouse.layout`). The views are replaced in place
(`CREATE OR REPLACE VIEW`), which keeps their grants, owner and dependants; only when a
definition changes its columns does PostgreSQL need DROP + CREATE, and then the view's
owner and grants are restored, because `warehouse.access` relies on them: a mart owned by
a role that bypasses row-level security would show every county to everyone. New columns
are therefore always appended at the end of a view (PostgreSQL replaces in place then).

On PostgreSQL the marts are ordinary (definer-rights) views, not `security_invoker`
ones: `bi_reader` may read the marts but not the tables under them, which only a view
that reads with its owner's rights allows. They still respect row-level security,
because the tables force it on their owner and the policies test the reading session's
role (`current_user`), see `warehouse.access`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from warehouse.layout import MARTS_SCHEMA, folds_schemas, qualify, unqualify

_I, _F, _S = pl.Int64(), pl.Float64(), pl.Utf8()
MARTS_DIR = Path(__file__).resolve().parent

TYPES: Mapping[str, pl.DataType] = {
    "text": _S, "integer": _I, "double": _F, "date": pl.Date(),
    "timestamp": pl.Datetime("us"), "boolean": pl.Boolean(),
}
"""Sidecar column types → the Polars type `read_mart` returns."""

UNITS: Mapping[str, str] = {
    "code": "代码",
    "id": "标识",
    "name": "名称",
    "label": "标签",
    "period": "期次标签",
    "year": "年",
    "rank": "序号",
    "date": "日期",
    "city date": "日期（昭通时间）",
    "UTC timestamp": "时间（UTC）",
    "flag": "是/否",
    "count": "个",
    "persons": "人",
    "person-times": "人次",
    "days": "天",
    "hours": "小时",
    "yuan": "元",
    "percent": "%（60.0 = 增长 60 %）",
    "fraction": "比例（0–1）",
    "metric unit": "见指标定义",
    "text": "文本",
}
"""Every unit a sidecar may name, with its Chinese name."""

KINDS = ("intermediate", "dimension", "reference", "mart")


@dataclass(frozen=True)
class ColumnDoc:
    """One column of a view as its sidecar documents it."""

    name: str
    type: str
    unit: str
    en: str
    zh: str

    @property
    def unit_zh(self) -> str:
        return UNITS[self.unit]

    def comment(self) -> str:
        """The `COMMENT ON COLUMN` text: English, unit, then Chinese."""
        return f"{self.en} [{self.unit}] / {self.zh}〔{self.unit_zh}〕"


@dataclass(frozen=True)
class Mart:
    """One view: its name, grain, documentation, query and public columns.

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
    kind: str = "mart"
    grain_zh: str = ""
    doc_zh: str = ""
    column_docs: tuple[ColumnDoc, ...] = field(default=())

    def sql_for(self, dialect_name: str) -> str:
        return unqualify(self.query) if folds_schemas(dialect_name) else self.query

    @property
    def sql(self) -> str:
        return unqualify(self.query)

    def view_for(self, dialect_name: str) -> str:
        """The view's name on a backend (`marts.mart_…` on PostgreSQL)."""
        return qualify(dialect_name, MARTS_SCHEMA, self.name)

    def comment(self) -> str:
        """The `COMMENT ON VIEW` text: English, then Chinese."""
        return f"{self.doc}\n\n{self.doc_zh}" if self.doc_zh else self.doc


def load_view(name: str, query: str | None = None) -> Mart:
    """The view `name` from its sidecar `<name>.toml` and `<name>.sql` (or `query`)."""
    with (MARTS_DIR / f"{name}.toml").open("rb") as handle:
        spec = tomllib.load(handle)
    if query is None:
        query = (MARTS_DIR / f"{name}.sql").read_text(encoding="utf-8")
    kind = spec.get("kind", "mart")
    if kind not in KINDS:
        raise ValueError(f"{name}.toml: kind {kind!r} is not one of {KINDS}")
    docs = []
    for column, entry in spec["columns"].items():
        if entry["type"] not in TYPES:
            raise ValueError(f"{name}.toml: {column}: unknown type {entry['type']!r}")
        if entry.get("unit", "") not in UNITS:
            raise ValueError(f"{name}.toml: {column}: unknown unit {entry.get('unit')!r}")
        docs.append(ColumnDoc(column, entry["type"], entry.get("unit", ""),
                              entry.get("en", ""), entry.get("zh", "")))
    return Mart(
        name=name,
        grain=spec["grain"],
        doc=spec["description"],
        query="\n" + "\n".join(line for line in query.strip().splitlines()
                                if not line.lstrip().startswith("--")) + "\n",
        columns={c.name: TYPES[c.type] for c in docs},
        order_by=tuple(spec["order_by"]),
        kind=kind,
        grain_zh=spec.get("grain_zh", ""),
        doc_zh=spec.get("description_zh", ""),
        column_docs=tuple(docs),
    )


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
           CAST(SUM(sites) AS BIGINT) AS sites,
           COUNT(DISTINCT county_code) AS counties_reporting,
           CAST(SUM(children_enrolled) AS BIGINT) AS children_enrolled,
           CAST(SUM(left_behind_children) AS BIGINT) AS left_behind_children,
           CAST(SUM(relocated_children) AS BIGINT) AS relocated_children,
           CAST(SUM(service_days) AS BIGINT) AS service_days
    FROM marts.int_childcare_sites_county_season
    GROUP BY period
), cc_volunteers AS (
    SELECT period,
           CAST(SUM(volunteers_total) AS BIGINT) AS volunteers_total,
           CAST(SUM(volunteers_university) AS BIGINT) AS volunteers_university
    FROM marts.int_childcare_volunteers_county_season
    GROUP BY period
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
), voc_schools AS (
    SELECT f.period, COUNT(DISTINCT s.school_code) AS schools
    FROM dw.fact_vocational_enrollment f
    JOIN dw.dim_school s ON s.school_key = f.school_key
    GROUP BY f.period
), voc_year AS (
    SELECT y.period, n.schools,
           CAST(SUM(y.enrolled) AS BIGINT) AS enrolled,
           CAST(SUM(y.new_intake) AS BIGINT) AS new_intake,
           CAST(SUM(y.dropouts) AS BIGINT) AS dropouts
    FROM marts.int_vocational_county_year y
    JOIN voc_schools n ON n.period = y.period
    GROUP BY y.period, n.schools
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

VIEW_ORDER: tuple[str, ...] = (
    "mart_dim_county",
    "mart_dim_period",
    "int_childcare_sites_county_season",
    "int_childcare_volunteers_county_season_kind",
    "int_childcare_volunteers_county_season",
    "int_vocational_county_year",
    "mart_childcare_county_season",
    "mart_childcare_site_season",
    "mart_vocational_county_year",
    "mart_health_facility_month",
    "mart_city_kpi",
    "mart_submission_status",
)
"""Every view of schema `marts`, in the order they are created (dependencies first)."""

_GENERATED: Mapping[str, str] = {"mart_city_kpi": _CITY_KPI}
"""Views whose query is generated in Python rather than read from a `.sql` file."""

VIEWS: Mapping[str, Mart] = {name: load_view(name, _GENERATED.get(name)) for name in VIEW_ORDER}
"""Every view of schema `marts` (intermediate views, dimensions, catalogue and marts)."""

MARTS: Mapping[str, Mart] = {name: v for name, v in VIEWS.items() if v.kind == "mart"}
"""The marts of SPEC §6 and after: the views BI users chart."""



def create_marts(conn: Connection) -> None:
    """Create or replace every view with its comments, in the caller's transaction."""
    dialect = conn.dialect.name
    for mart in VIEWS.values():
        view, sql = mart.view_for(dialect), mart.sql_for(dialect)
        if dialect == "postgresql":
            _replace_view_keeping_access(conn, view, sql)
        else:
            _ddl(conn, f"CREATE OR REPLACE VIEW {view} AS {sql}")
        _ddl(conn, f"COMMENT ON VIEW {view} IS {_literal(mart.comment())}")
        for column in mart.column_docs:  # DuckDB forgets them when the view is replaced
            _ddl(conn, f"COMMENT ON COLUMN {view}.{column.name} IS {_literal(column.comment())}")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


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
        mart = VIEWS[name]
    except KeyError:
        raise ValueError(f"unknown mart {name!r}; known: {', '.join(VIEWS)}") from None
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
