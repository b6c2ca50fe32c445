"""The quality gate: run the warehouse expectations with Great Expectations.

`run_quality_checks(engine, docs_dir=...)` validates every check of
`warehouse.expectations.build_checks()` (per table, one suite of column expectations and
one of SQL expectations), writes a Data Docs site to `docs_dir` and returns a
`QualityReport`. GX is imported inside the function (it takes seconds to import), and
each run uses a fresh ephemeral GX context: once GX is imported one takes milliseconds,
and a fresh one keeps runs against different warehouses from sharing stored results.

Secrets. GX datasources take a connection string. Ours is `${COUNTYFLOW_GX_WAREHOUSE_URL}`,
resolved from the context's in-memory runtime environment (GX's config-variable
substitution), so the real URL, which may carry a password, is never written to a GX
config file or to Data Docs, and is not put in the process environment either. Errors
that would quote it are re-raised with the password masked.

Schemas. On PostgreSQL the warehouse spans schemas (`warehouse.layout`); GX connects
with the warehouse search path in its URL (`warehouse.engine.normalise_url`), which is
how GX 1.x wants a schema given (the per-asset `schema_name` is deprecated), so assets
and the checks' SQL use the bare table and mart names. DuckDB has one schema.

GX 1.24 quirks worked around (see also `warehouse.expectations`):

- with duckdb-engine every metric fails ("list index out of range"; GX issue #11579):
  GX fetches a result after closing its connection, and duckdb-engine's cursor is the
  connection itself, so the rollback on close discards the pending rows (duckdb_engine
  issues #734, #1087). GX connects to DuckDB through `BufferedDuckDBDialect` below,
  which fetches every result when the statement runs; it is registered under its own
  name (`duckdb+countyflow_buffered://`), so nothing else in the process changes;
- `ExpectColumnValuesToMatchRegex` raises "Regex is not supported for dialect duckdb":
  code formats are portable `SIMILAR TO` queries instead;
- `{batch}` in an `UnexpectedRowsExpectation` is aliased by GX unless the query has a
  JOIN, and then left unaliased, which PostgreSQL < 16 rejects: queries with a JOIN
  alias it themselves (checked when the checks are built);
- the result format is set per validation run, not per expectation (the run's wins),
  hence separate suites for SQL checks, whose offending rows the report quotes;
- `UpdateDataDocsAction` rebuilds the whole site after every suite (most of a run's
  time): the site is built once, after all suites ran.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

from sqlalchemy.dialects import registry
from sqlalchemy.engine import URL, Engine, make_url

from warehouse.backends import backend_of
from warehouse.engine import normalise_url
from warehouse.expectations import (
    Check,
    CheckResult,
    QualityReport,
    Severity,
    apply_severities,
    build_checks,
)

if TYPE_CHECKING:
    from great_expectations.core import ExpectationValidationResult

URL_VARIABLE = "COUNTYFLOW_GX_WAREHOUSE_URL"
DOCS_SITE = "countyflow"
DATASOURCE = "countyflow_warehouse"
RUN_NAME = "countyflow-quality"
_RESULT_FORMAT: Mapping[str, Any] = {
    # column checks: counts and a few values; SQL checks: the offending rows
    "columns": {"result_format": "SUMMARY", "partial_unexpected_count": 5},
    "sql": {"result_format": "COMPLETE"},
}
_META_KEY = "countyflow_check"
_GX_SEVERITY: Mapping[Severity, str] = {"error": "critical", "warning": "warning"}
_DETAIL_ROWS = 3
_DETAIL_CHARS = 300

BUFFERED_DUCKDB_DRIVER = "countyflow_buffered"


def __getattr__(name: str) -> Any:
    # The dialect class is built on first use (SQLAlchemy's registry looks it up here),
    # so importing this module does not import duckdb.
    if name == "BufferedDuckDBDialect":
        return _buffered_duckdb_dialect()
    raise AttributeError(name)


_dialect_class: type | None = None


def _buffered_duckdb_dialect() -> type:
    global _dialect_class
    if _dialect_class is None:
        # lazy: duckdb-engine only when the gate checks a DuckDB warehouse
        from duckdb_engine import Dialect
        from sqlalchemy.engine import cursor

        # Ignored: the base is duckdb-engine's context class, known only as a class attribute.
        class _BufferedContext(Dialect.execution_ctx_cls):  # type: ignore[misc,valid-type]
            def post_exec(self) -> None:
                super().post_exec()
                if self.cursor is not None and self.cursor.description is not None:
                    self.cursor_fetch_strategy = cursor.FullyBufferedCursorFetchStrategy(
                        self.cursor, self.cursor.description, self.cursor.fetchall()
                    )

        class BufferedDuckDBDialect(Dialect):
            """duckdb-engine, with every result fetched when the statement runs."""

            execution_ctx_cls = _BufferedContext
            supports_statement_cache = True

        _dialect_class = BufferedDuckDBDialect
    return _dialect_class


# ----------------------------------------------------------------------------- public API


def run_quality_checks(
    engine: Engine,
    *,
    docs_dir: Path,
    severities: Mapping[str, str] | None = None,
    checks: Sequence[Check] | None = None,
) -> QualityReport:
    """Validate the warehouse behind `engine` and build Data Docs in `docs_dir`.

    `severities` overrides check severities by name or glob (see
    `warehouse.expectations.apply_severities`); `checks` defaults to every check of
    `build_checks()`. The report lists every check; `report.failed_errors` are the
    failures that must stop a run.
    """
    selected = apply_severities(build_checks() if checks is None else checks, severities)
    url = _gx_url(engine)
    try:
        return _validate(selected, url, Path(docs_dir))
    except Exception as exc:
        secrets = _secrets(url)
        error = QualityCheckError(
            "warehouse quality checks could not run: "
            + _mask(f"{type(exc).__name__}: {exc}", secrets)
        )
        if any(_mentions(exc, secret) for secret in secrets):
            raise error from None  # the original would print the password
        raise error from exc


class QualityCheckError(RuntimeError):
    """The gate could not run (not: the warehouse failed it)."""


# ---------------------------------------------------------------------------------- GX run


def _gx_url(engine: Engine) -> str:
    """The URL GX connects with.

    DuckDB goes through the buffering dialect (it keeps every object in `main`).
    PostgreSQL keeps the warehouse in several schemas (`warehouse.layout`); the URL
    carries the warehouse search path (`normalise_url`), which is how GX wants a schema
    given (its per-asset `schema_name` is deprecated) and how the checks' SQL reads
    tables and marts by the names BI users know.
    """
    url: URL = normalise_url(engine.url)
    if backend_of(url).gx_buffers_results:
        # Registered here, when the gate needs it, not at import: importing a module
        # changes nothing in the process (registering again is harmless).
        registry.register(f"duckdb.{BUFFERED_DUCKDB_DRIVER}", __name__, "BufferedDuckDBDialect")
        url = url.set(drivername=f"duckdb+{BUFFERED_DUCKDB_DRIVER}")
    return url.render_as_string(hide_password=False)


def _validate(checks: Sequence[Check], url: str, docs_dir: Path) -> QualityReport:
    # lazy: Great Expectations takes seconds to import; only the gate needs it
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )
    from great_expectations.datasource.fluent import GxDatasourceWarning

    docs_dir = docs_dir.resolve()
    docs_dir.mkdir(parents=True, exist_ok=True)
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        data_docs_sites={
            DOCS_SITE: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
    )
    # The runtime environment is the context's in-memory config-variable source.
    context = gx.get_context(
        mode="ephemeral", project_config=config, runtime_environment={URL_VARIABLE: url}
    )
    with warnings.catch_warnings():
        # "a more specific PostgresDatasource may be more appropriate": the generic one
        # serves both backends the same way.
        warnings.simplefilter("ignore", GxDatasourceWarning)
        datasource = context.data_sources.add_sql(
            DATASOURCE, connection_string="${" + URL_VARIABLE + "}"
        )
    run_id = RunIdentifier(run_name=RUN_NAME, run_time=dt.datetime.now(dt.UTC))
    suite_results = []
    try:
        for (table, kind), group in _suites(checks).items():
            name = f"countyflow.{table}" + ("" if kind == "columns" else f".{kind}")
            asset = datasource.add_table_asset(name, table_name=table)
            suite = context.suites.add(gx.ExpectationSuite(name=name))
            for check in group:
                suite.add_expectation(_expectation(gxe, check))
            definition = context.validation_definitions.add(
                gx.ValidationDefinition(
                    name=name, data=asset.add_batch_definition_whole_table(name), suite=suite
                )
            )
            suite_results.append(definition.run(run_id=run_id, result_format=_RESULT_FORMAT[kind]))
        # Once, from the stored results (GX's UpdateDataDocsAction would rebuild the whole
        # site after every suite, which takes most of a run).
        context.build_data_docs(site_names=[DOCS_SITE])
    finally:
        datasource.get_engine().dispose()

    by_name = {check.name: check for check in checks}
    results: dict[str, CheckResult] = {}
    for suite_result in suite_results:
        for result in suite_result.results:
            expectation = result.expectation_config  # Optional in GX's types: then "no result" below
            meta = (expectation.meta if expectation is not None else None) or {}
            check_name = meta.get(_META_KEY)
            if check_name in by_name:
                results[check_name] = _check_result(by_name[check_name], result, url)
    missing = [name for name in by_name if name not in results]
    if missing:
        raise QualityCheckError(f"GX returned no result for {missing}")
    index = docs_dir / "index.html"
    return QualityReport(
        results=tuple(results[check.name] for check in checks),
        docs_index=index if index.exists() else None,
    )


def _suites(checks: Sequence[Check]) -> dict[tuple[str, str], list[Check]]:
    """Checks by (table, kind): SQL checks get their own suite because the result format
    is set per run, and only theirs should return rows (at most GX's 200)."""
    suites: dict[tuple[str, str], list[Check]] = {}
    for check in checks:
        kind = "sql" if check.expectation == "UnexpectedRowsExpectation" else "columns"
        suites.setdefault((check.table, kind), []).append(check)
    return suites


def _expectation(gxe: Any, check: Check) -> Any:
    cls = getattr(gxe, check.expectation)
    return cls(
        **check.kwargs,
        meta={_META_KEY: check.name},
        description=f"{check.name} ({check.severity}): {check.description}",
        notes=check.kwargs.get("unexpected_rows_query"),  # the SQL, on the suite's page
        severity=_GX_SEVERITY[check.severity],
    )


# ----------------------------------------------------------------------------- reporting


def _check_result(check: Check, result: ExpectationValidationResult, url: str) -> CheckResult:
    values: Mapping[str, Any] = result.result or {}
    error = _exception_message(result)
    count: int | None
    detail: str | None
    if error is not None:
        count, detail = None, _mask(error, _secrets(url))
    elif check.expectation == "UnexpectedRowsExpectation":
        count = _int(values.get("observed_value"))
        detail = _rows_detail(values.get("details", {}).get("unexpected_rows"))
    else:
        count = _int(values.get("unexpected_count"))
        detail = _values_detail(values.get("partial_unexpected_list"))
    passed = bool(result.success) and error is None
    return CheckResult(
        name=check.name,
        table=check.table,
        column=check.column,
        expectation=check.expectation,
        severity=check.severity,
        passed=passed,
        unexpected_count=count,
        element_count=_int(values.get("element_count")),
        detail=None if passed else detail,
        description=check.description,
    )


def _exception_message(result: ExpectationValidationResult) -> str | None:
    """GX reports a failed metric as exception_info, either flat or keyed by metric."""
    info = result.exception_info or {}
    entries = [info] if "raised_exception" in info else list(info.values())
    for entry in entries:
        if isinstance(entry, Mapping) and entry.get("raised_exception", True):
            message = str(entry.get("exception_message") or "").strip()
            if message or entry.get("exception_traceback"):
                return (message or "metric failed").splitlines()[0][:_DETAIL_CHARS]
    return None


def _rows_detail(rows: Any) -> str | None:
    if not rows:
        return None
    shown = [
        ", ".join(f"{k}={v}" for k, v in dict(row).items()) for row in list(rows)[:_DETAIL_ROWS]
    ]
    more = len(rows) - len(shown)
    text = "; ".join(shown) + (f"; … {more} more" if more > 0 else "")
    return text[:_DETAIL_CHARS]


def _values_detail(values: Any) -> str | None:
    if not values:
        return None
    return ("values: " + ", ".join(str(v) for v in list(values)[:_DETAIL_ROWS]))[:_DETAIL_CHARS]


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


# -------------------------------------------------------------------------------- secrets


def _secrets(url: str) -> tuple[str, ...]:
    """The URL's password as written and as URL-encoded (both may show up in errors)."""
    password = make_url(url).password
    if not password:
        return ()
    return tuple(dict.fromkeys((str(password), quote_plus(str(password)), quote(str(password)))))


def _mask(text: str, secrets: Sequence[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _mentions(exc: BaseException, secret: str) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if secret in str(current) or secret in repr(current.args):
            return True
        current = current.__cause__ or current.__context__
    return False


__all__ = [
    "BUFFERED_DUCKDB_DRIVER",
    "CheckResult",
    "QualityCheckError",
    "QualityReport",
    "run_quality_checks",
]
