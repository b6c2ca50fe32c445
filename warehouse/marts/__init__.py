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

import hashlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from warehouse.backends import backend_of
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


ROW_COUNT = "*"
"""In a sidecar's `[[reconciles]]` totals, the mart's row count rather than a column."""


@dataclass(frozen=True)
class Reconciliation:
    """A table a mart aggregates, for the quality gate's "mart total = fact total" checks
    (`[[reconciles]]` in the sidecar). Integer measures the mart and the table share by
    name are compared when `same_name`; `totals` maps a mart column (`*` for its row count)
    to (aggregate over the mart `b`, aggregate over the table `f`); `{accepted}` in an
    aggregate stands for the accepted ledger statuses."""

    table: str
    totals: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    same_name: bool = True


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
    reconciles: tuple[Reconciliation, ...] = field(default=())

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
        reconciles=tuple(
            Reconciliation(entry["table"],
                           {column: (mart_total, fact_total)
                            for column, (mart_total, fact_total) in entry.get("totals", {}).items()},
                           entry.get("same_name", True))
            for entry in spec.get("reconciles", ())
        ),
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


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class Metric:
    """One KPI the city publishes, as the catalogue `metrics.toml` declares it."""

    order: int
    domain: str
    metric: str
    type: str
    unit: str
    label_zh: str
    label_en: str
    expression: str
    description: str
    description_zh: str
    grain: str
    grain_zh: str
    period_kinds: str
    source_mart: str
    fact: str

    @property
    def integral(self) -> bool:
        return self.type == "integer"


def load_metrics(path: Path = MARTS_DIR / "metrics.toml") -> tuple[Metric, ...]:
    """The metric catalogue, in its declared order."""
    with path.open("rb") as handle:
        spec = tomllib.load(handle)
    metrics = []
    for order, entry in enumerate(spec["metrics"], start=1):
        domain = spec["domains"][entry["domain"]]
        if entry["type"] not in ("integer", "double") or entry["unit"] not in UNITS:
            raise ValueError(f"metrics.toml: {entry['metric']}: bad type or unit")
        metrics.append(Metric(
            order=order, domain=entry["domain"], metric=entry["metric"], type=entry["type"],
            unit=entry["unit"], label_zh=entry["label_zh"], label_en=entry["label_en"],
            expression=entry["expression"], description=entry["description"],
            description_zh=entry["description_zh"], grain=domain["grain"],
            grain_zh=domain["grain_zh"], period_kinds=domain["period_kinds"],
            source_mart=entry.get("source_mart", domain["source_mart"]),
            fact=domain["fact"],
        ))
    keys = [(m.domain, m.metric) for m in metrics]
    if len(set(keys)) != len(keys):
        raise ValueError("metrics.toml: a metric is declared twice")
    return tuple(metrics)


METRICS: tuple[Metric, ...] = load_metrics()
"""Every KPI the city publishes, declared once in `metrics.toml`."""


def _text(value: str) -> str:
    return "CAST(" + _literal(value) + " AS VARCHAR)"


def metric_definitions_sql() -> str:
    """`mart_metric_definitions`: the catalogue as rows (a VALUES list, both backends)."""
    rows = ",\n       ".join(
        "(" + ", ".join([
            str(m.order), _literal(m.domain), _literal(m.metric), _literal(m.label_zh),
            _literal(m.label_en), _literal(m.unit), _literal(UNITS[m.unit]), _literal(m.type),
            _literal(m.grain), _literal(m.grain_zh), _literal(m.period_kinds),
            _literal(m.expression), _literal(m.description), _literal(m.description_zh),
            _literal(m.source_mart),
        ]) + ")"
        for m in METRICS
    )
    columns = ("metric_order", "domain", "metric", "label_zh", "label_en", "unit", "unit_zh",
               "value_type", "grain", "grain_zh", "period_kinds", "formula", "description",
               "description_zh", "source_mart")
    select = ",\n       ".join(
        f"CAST(d.{c} AS BIGINT) AS {c}" if c == "metric_order" else f"CAST(d.{c} AS VARCHAR) AS {c}"
        for c in columns
    )
    return f"SELECT {select}\nFROM (VALUES {rows}) AS d({', '.join(columns)})\n"


def city_kpi_sql() -> str:
    """`mart_city_kpi`: the city aggregates of `mart_city_kpi.sql`, one row per metric of
    the catalogue and period, with the period's date axis, the metric's unit and labels,
    and the scope the reading session sees (`city`, or the county codes row-level
    security limits it to: the counties whose calendar rows it can read)."""
    aggregates = (MARTS_DIR / "mart_city_kpi.sql").read_text(encoding="utf-8").strip()
    unions = "\n    UNION ALL\n    ".join(
        f"SELECT {_text(m.domain)} AS domain, {_text(m.metric)} AS metric, period, "
        f"CAST({m.expression} AS DOUBLE PRECISION) AS value, "
        + (f"CAST({m.expression} AS BIGINT)" if m.integral else "CAST(NULL AS BIGINT)")
        + f" AS value_integer FROM {m.domain}"
        for m in METRICS
    )
    return f"""{aggregates}, kpi AS (
    {unions}
), visible AS (
    SELECT DISTINCT county_code FROM dw.ref_calendar
), scope AS (
    SELECT CASE WHEN (SELECT COUNT(*) FROM visible) = (SELECT COUNT(*) FROM dw.dim_county)
                THEN CAST('city' AS VARCHAR)
                ELSE (SELECT STRING_AGG(county_code, ',' ORDER BY county_code) FROM visible)
           END AS scope
)
SELECT k.domain,
       k.metric,
       k.period,
       k.value,
       p.start_date AS period_start,
       p.period_kind,
       p.label_zh AS period_label_zh,
       d.unit,
       d.label_zh,
       d.label_en,
       s.scope,
       k.value_integer
FROM kpi k
JOIN marts.mart_dim_period p ON p.period = k.period
JOIN marts.mart_metric_definitions d ON d.domain = k.domain AND d.metric = k.metric
CROSS JOIN scope s
"""


_GENERATED: Mapping[str, str] = {
    "mart_metric_definitions": metric_definitions_sql(),
    "mart_city_kpi": city_kpi_sql(),
}
"""Views whose query is generated in Python rather than read from a `.sql` file."""

_READS_VIEW = re.compile(r"\bmarts\.([a-z_][a-z0-9_]*)")


def _creation_order(views: Mapping[str, Mart]) -> tuple[str, ...]:
    """The views in an order that creates every view after the views it reads
    (`marts.<view>` in its query); among those ready, by kind (KINDS) then name."""
    reads = {name: set(_READS_VIEW.findall(view.query)) - {name} for name, view in views.items()}
    unknown = {f"{name} → {read}" for name, found in reads.items() for read in found - set(views)}
    if unknown:
        raise ValueError(f"views read views that do not exist: {sorted(unknown)}")
    ordered: list[str] = []
    while len(ordered) < len(views):
        ready = [name for name in views if name not in ordered and reads[name] <= set(ordered)]
        if not ready:
            raise ValueError(f"views read each other in a cycle: {sorted(set(views) - set(ordered))}")
        ordered.append(min(ready, key=lambda name: (KINDS.index(views[name].kind), name)))
    return tuple(ordered)


def _discover_views() -> Mapping[str, Mart]:
    """Every view with a sidecar in this folder (`metrics.toml` is the catalogue, not a
    view), found by looking: adding a mart adds its two files, not a line here."""
    found = {path.stem: load_view(path.stem, _GENERATED.get(path.stem))
             for path in sorted(MARTS_DIR.glob("*.toml")) if path.stem != "metrics"}
    return {name: found[name] for name in _creation_order(found)}


VIEWS: Mapping[str, Mart] = _discover_views()
"""Every view of schema `marts` (dimensions, catalogue, intermediate views and marts), in
the order they are created (dependencies first)."""

MARTS: Mapping[str, Mart] = {name: v for name, v in VIEWS.items() if v.kind == "mart"}
"""The marts of SPEC §6 and after: the views BI users chart."""



def create_marts(conn: Connection) -> None:
    """Create or replace every view with its comments, in the caller's transaction."""
    dialect = conn.dialect.name
    keeps_access = backend_of(conn).roles  # owners and grants to carry over a replaced view
    for mart in VIEWS.values():
        view, sql = mart.view_for(dialect), mart.sql_for(dialect)
        if keeps_access:
            _replace_view_keeping_access(conn, view, sql)
        else:
            _ddl(conn, f"CREATE OR REPLACE VIEW {view} AS {sql}")
        _ddl(conn, f"COMMENT ON VIEW {view} IS {_literal(mart.comment())}")
        for column in mart.column_docs:  # DuckDB forgets them when the view is replaced
            _ddl(conn, f"COMMENT ON COLUMN {view}.{column.name} IS {_literal(column.comment())}")


def marts_fingerprint(dialect_name: str) -> str:
    """SHA-256 of everything `create_marts` writes on this backend: each view's name,
    query and comments, in creation order."""
    digest = hashlib.sha256()
    for mart in VIEWS.values():
        parts = (mart.view_for(dialect_name), mart.sql_for(dialect_name), mart.comment(),
                 *(f"{column.name}: {column.comment()}" for column in mart.column_docs))
        for part in parts:
            digest.update(part.encode("utf-8"))
            digest.update(b"\0")
    return digest.hexdigest()


def missing_views(conn: Connection) -> list[str]:
    """The views of `VIEWS` the warehouse does not have (e.g. one dropped by hand)."""
    schema = None if folds_schemas(conn.dialect.name) else MARTS_SCHEMA
    existing = set(sa.inspect(conn).get_view_names(schema=schema))
    return [name for name in VIEWS if name not in existing]


def _replace_view_keeping_access(conn: Connection, view: str, sql: str) -> None:
    """PostgreSQL: replace in place; when the columns changed (PostgreSQL then refuses),
    drop and create, and give the new view the old one's owner and grants. A view that
    did not exist yet (added by an upgrade) gets the access the others have."""
    exists = conn.execute(sa.text("SELECT to_regclass(:v) IS NOT NULL"), {"v": view}).scalar_one()
    try:
        with conn.begin_nested():
            _ddl(conn, f"CREATE OR REPLACE VIEW {view} AS {sql}")
        if not exists:
            _adopt_schema_access(conn, view)
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


def _adopt_schema_access(conn: Connection, view: str) -> None:
    """A new view of schema `marts` on a warehouse `countyflow grants` has secured: owned
    by the schema's owner (`countyflow_loader`), readable by the roles that may use the
    schema, as `grants` would make it. Without this, the marts that read a new
    intermediate view would fail for every reader until `grants` is run again (their
    owner could not read it), and a view owned by a superuser would skip row-level
    security. Nothing happens when the session may not act for the schema's owner."""
    schema = view.split(".")[0]
    owner = conn.execute(
        sa.text("SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = :s"),
        {"s": schema},
    ).scalar_one()
    allowed = conn.execute(
        sa.text("SELECT current_user <> :o AND pg_has_role(current_user, :o, 'MEMBER')"),
        {"o": owner},
    ).scalar_one()
    if not allowed:
        return
    readers = conn.execute(
        sa.text("SELECT DISTINCT quote_ident(pg_get_userbyid(a.grantee)) "
                "FROM pg_namespace n, aclexplode(n.nspacl) a WHERE n.nspname = :s "
                "AND a.privilege_type = 'USAGE' AND a.grantee <> n.nspowner AND a.grantee <> 0 "
                "ORDER BY 1"),
        {"s": schema},
    ).scalars().all()
    _ddl(conn, f"ALTER VIEW {view} OWNER TO {conn.dialect.identifier_preparer.quote(owner)}")
    if readers:
        _ddl(conn, f"GRANT SELECT ON {view} TO {', '.join(readers)}")


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
