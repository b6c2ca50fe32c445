"""The quality gate: checks derived from the metadata, run with GX on both backends.

Every expectation runs on a clean loaded warehouse (all pass, each actually evaluated)
and on a warehouse broken on purpose, where the report must name exactly the failing
checks with their table, column and row count. To break what the database itself
enforces (keys, foreign keys, CHECKs), the broken warehouse first loses its constraints:
PostgreSQL drops them, DuckDB (which cannot drop constraints) rebuilds every table
without them. GX runs are the slow part (~5 s each), so each warehouse is validated once
per module and several tests read that one report.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from schemas import CONTRACTS
from schemas.checks import DECLARED, Between, Custom, Pattern
from schemas.contract import ColumnType
from tests.warehouse.backends import BACKEND_PARAMS, WarehouseTemplates, drop_pg_database
from tests.warehouse.sample import load_sample
from warehouse.engine import make_engine
from warehouse.expectations import (
    Check,
    QualityReport,
    UndeclaredRuleError,
    apply_severities,
    build_checks,
    references,
    scd2_dimensions,
)
from warehouse.layout import SEARCH_PATH
from warehouse.marts import MARTS
from warehouse.models import FACT_MODELS, Base, referenced_column

# A password the trust-authenticated test server ignores: the URL still connects.
DUMMY_PASSWORD = "Quality-Gate-Dummy-Pw-7f3a"


# ------------------------------------------------------------------ checks (no GX needed)


CHECKS = build_checks()
NAMES = {check.name for check in CHECKS}


def test_every_key_and_reference_has_a_check() -> None:
    for table in Base.metadata.sorted_tables:
        if not table.name.startswith(("dim_", "fact_")):
            continue
        pk = [c.name for c in table.primary_key.columns]
        if len(pk) == 1:
            assert {f"{table.name}.{pk[0]}.unique", f"{table.name}.{pk[0]}.not_null"} <= NAMES
        else:
            assert f"{table.name}.{'+'.join(pk)}.unique" in NAMES
        for column in table.columns:
            target = referenced_column(column)  # a foreign key, or a fact's declared reference
            if target is not None:
                assert f"{table.name}.{column.name}.in_{target.table.name}" in NAMES
    logical = {(r.table, r.column) for r in references() if not r.declared}
    assert logical == {(d, "county_code") for d in ("dim_school", "dim_childcare_site",
                                                      "dim_health_facility")}
    assert {d: s.natural_key for d, s in scd2_dimensions().items()} == {
        "dim_school": "school_code", "dim_childcare_site": "site_code",
        "dim_health_facility": "facility_code",
    }
    for dim in scd2_dimensions().values():
        assert f"{dim.table}.{dim.natural_key}.one_current" in NAMES


def test_facts_declare_their_references_without_foreign_keys() -> None:
    """Facts have no FOREIGN KEY constraints (the loader guarantees their references, see
    warehouse.models), yet the gate checks every one of them, the ledger included."""
    for model in FACT_MODELS.values():
        table: sa.Table = model.__table__  # type: ignore[assignment]
        assert not table.foreign_keys, table.name
        declared = {c.name: referenced_column(c) for c in table.columns}
        declared = {name: target for name, target in declared.items() if target is not None}
        assert {"submission_key", "county_code", "period"} <= set(declared), table.name
        assert (declared["submission_key"].table.name, declared["submission_key"].name) == (
            "audit_submission", "submission_key")
        assert [c.name for c in table.primary_key.columns] == ["submission_key", "source_row"]
        for name, target in declared.items():
            check = f"{table.name}.{name}.in_{target.table.name}"
            assert check in NAMES, check
            assert "declared reference" in next(c for c in CHECKS if c.name == check).description
    # dimensions, reference data and the audit tables keep theirs
    assert Base.metadata.tables["audit_issue"].foreign_keys
    assert Base.metadata.tables["ref_calendar"].foreign_keys


def test_every_contract_error_rule_and_count_is_checked_again() -> None:
    for dataset, contract in CONTRACTS.items():
        fact = FACT_MODELS[dataset].__table__.name
        for rule in contract.rules:
            if rule.severity.value == "error":
                assert isinstance(rule.check, DECLARED), f"{dataset}.{rule.id} has no warehouse form"
                assert any(name.endswith(f".{rule.id}") for name in NAMES), rule.id
        for column in contract.columns:
            if column.type is ColumnType.COUNT:
                assert f"{fact}.{column.name}.non_negative" in NAMES


def test_an_error_rule_the_warehouse_cannot_repeat_is_refused() -> None:
    vocational = CONTRACTS["vocational_enrollment"]
    custom = replace(vocational.rule("grade_range"), check=Custom(lambda: pl.col("grade") < 4, "grade < 4"))
    contract = replace(vocational, rules=(custom,))
    with pytest.raises(UndeclaredRuleError, match=r"vocational_enrollment\.grade_range"):
        build_checks(contracts={"vocational_enrollment": contract})


def test_a_bound_changed_in_the_contract_changes_validator_gate_and_docs_together() -> None:
    """One declaration: moving grade_range's bound to 1–4 changes the Polars rule, the
    warehouse expectation and the generated docs, with nothing else edited."""
    from countyflow.contract_docs import contract_section

    vocational = CONTRACTS["vocational_enrollment"]
    widened = replace(vocational, rules=tuple(
        replace(rule, check=Between(1, 4)) if rule.id == "grade_range" else rule
        for rule in vocational.rules))
    grades = pl.DataFrame({"grade": [0, 1, 3, 4, 5]})
    for contract, accepted, upper in ((vocational, [False, True, True, False, False], 3),
                                      (widened, [False, True, True, True, False], 4)):
        rule = contract.rule("grade_range")
        assert grades.select(rule.passes()).to_series().to_list() == accepted
        [check] = [c for c in build_checks(contracts={"vocational_enrollment": contract})
                   if c.name == "fact_vocational_enrollment.grade.grade_range"]
        assert (check.kwargs["min_value"], check.kwargs["max_value"]) == (1, upper)
        assert f"1 ≤ `grade` ≤ {upper}" in "\n".join(contract_section(contract))


def test_every_mart_is_reconciled_with_its_facts() -> None:
    assert {name for name, mart in MARTS.items() if mart.reconciles} | {"mart_city_kpi"} == set(MARTS)
    for mart in MARTS:
        assert any(c.table == mart and "equals_" in c.name for c in CHECKS), mart


@pytest.mark.parametrize("rule_id", ["school_code_format", "site_code_format",
                                     "facility_code_format"])
def test_code_patterns_read_alike_in_polars_and_sql(rule_id: str) -> None:
    """The validator's Polars regex and the gate's `SIMILAR TO` accept exactly the same
    codes (run in DuckDB here; PostgreSQL's SIMILAR TO reads this subset alike)."""
    import duckdb

    dataset, rule = next((d, c.rule(rule_id)) for d, c in CONTRACTS.items()
                         if any(r.id == rule_id for r in c.rules))
    assert isinstance(rule.check, Pattern)
    samples = ["5306020001", "530602000", "53060200011", "ZY-001", "zy-1", "ZY 01", "AB_12",
               "FAC530602", "fac530602", "ABC123", "A" * 18, "A" * 19, "1234", "12-34", "",
               "５３０６０２０００１", "ZY-001\n"]
    frame = pl.DataFrame({rule.column: samples})
    polars = frame.select(rule.passes().fill_null(False)).to_series().to_list()
    sql = [row[0] for row in duckdb.execute(
        "SELECT s SIMILAR TO ? FROM unnest(?) WITH ORDINALITY AS t(s, i) ORDER BY i",
        [rule.check.pattern, samples]).fetchall()]
    assert polars == sql, dataset


def test_portable_patterns_only() -> None:
    with pytest.raises(ValueError, match="portable"):
        Pattern(r"^\d{10}$")


def test_sql_checks_alias_the_batch_only_when_they_join() -> None:
    for check in CHECKS:
        if check.expectation == "UnexpectedRowsExpectation":
            query = check.kwargs["unexpected_rows_query"]
            assert ("JOIN" in query) == ("{batch} AS b" in query), check.name


def test_severity_overrides() -> None:
    checks = apply_severities(CHECKS, {
        "mart_*": "warning",
        "mart_city_kpi.value.health_surgeries_equals_fact_health_monthly": "error",
        "dim_school.is_inferred.none": "error",
    })
    by_name = {c.name: c.severity for c in checks}
    assert by_name["mart_vocational_county_year.enrolled.equals_fact_vocational_enrollment"] \
        == "warning"
    assert by_name["mart_city_kpi.value.health_surgeries_equals_fact_health_monthly"] == "error"
    assert by_name["dim_school.is_inferred.none"] == "error"
    assert by_name["fact_health_monthly.surgeries.non_negative"] == "error"
    with pytest.raises(ValueError, match="no known expectation"):
        apply_severities(CHECKS, {"fact_helth_monthly.*": "warning"})
    with pytest.raises(ValueError, match="must be one of"):
        apply_severities(CHECKS, {"mart_*": "fatal"})


# ----------------------------------------------------------------- warehouses under test


@dataclass
class Validated:
    backend: str
    engine: Engine
    report: QualityReport
    docs_dir: Path


@pytest.fixture(scope="module")
def gx_loaded() -> None:
    """Import GX once, outside any timing that matters (it takes seconds)."""
    import great_expectations  # noqa: F401


@pytest.fixture(scope="module", params=BACKEND_PARAMS)
def clean(
    request: pytest.FixtureRequest, warehouse_templates: WarehouseTemplates,
    tmp_path_factory: pytest.TempPathFactory, gx_loaded: None,
) -> Iterator[Validated]:
    """The sample, validated as loaded. On PostgreSQL the URL carries a password."""
    from warehouse.quality import run_quality_checks

    backend = request.param
    folder = tmp_path_factory.mktemp(f"quality-clean-{backend}")
    url = warehouse_templates.clone(backend, folder)
    if backend == "postgresql":
        url = make_url(url).set(password=DUMMY_PASSWORD).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        load_sample(engine)
        report = run_quality_checks(engine, docs_dir=folder / "docs")
        yield Validated(backend, engine, report, folder / "docs")
    finally:
        engine.dispose()
        if backend == "postgresql":
            drop_pg_database(url)


def _bare_names(conn: Connection) -> None:
    """Let this test's hand-written SQL use bare names on PostgreSQL's schemas too."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET search_path TO " + ", ".join(SEARCH_PATH))


def _strip_constraints(engine: Engine) -> None:
    """Drop every key, foreign key, CHECK and NOT NULL, so tests can break anything."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            schemas = ", ".join(f"'{s}'" for s in SEARCH_PATH)
            constraints = conn.exec_driver_sql(
                "SELECT conrelid::regclass::text, conname FROM pg_constraint c "
                "JOIN pg_namespace n ON n.oid = c.connamespace "
                f"WHERE n.nspname IN ({schemas}) AND c.contype IN ('f','p','u','c') "
                "ORDER BY c.contype <> 'f'"
            ).all()
            for table, name in constraints:  # regclass text is quoted and qualified
                conn.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            not_null = conn.exec_driver_sql(
                "SELECT c.table_schema, c.table_name, c.column_name "
                "FROM information_schema.columns c "
                "JOIN information_schema.tables t USING (table_schema, table_name) "
                f"WHERE c.table_schema IN ({schemas}) AND t.table_type = 'BASE TABLE' "
                "AND c.is_nullable = 'NO'"
            ).all()
            for schema, table, column in not_null:
                conn.exec_driver_sql(
                    f'ALTER TABLE "{schema}"."{table}" ALTER COLUMN "{column}" DROP NOT NULL')
            return
        # DuckDB cannot drop constraints: rebuild every table as a plain copy (views are
        # bound by name at query time, so the marts keep working). DuckDB keeps every
        # warehouse object in `main`, so bare names are the names.
        tables = [table.name for table in Base.metadata.sorted_tables]
        for table in tables:
            conn.exec_driver_sql(f"CREATE TABLE {table}__plain AS SELECT * FROM {table}")
        for table in reversed(tables):  # referencing tables first
            conn.exec_driver_sql(f"DROP TABLE {table}")
        for table in tables:
            conn.exec_driver_sql(f"ALTER TABLE {table}__plain RENAME TO {table}")


def _replace_mart(engine: Engine, name: str, column: str, expression: str) -> None:
    """Recreate mart `name` with `column` computed as `expression` (a buggy mart)."""
    mart = MARTS[name]
    columns = ", ".join(f"{expression} AS {c}" if c == column else c for c in mart.columns)
    with engine.begin() as conn:
        _bare_names(conn)
        view = mart.view_for(conn.dialect.name)
        conn.exec_driver_sql(f"DROP VIEW {view}")
        conn.exec_driver_sql(f"CREATE VIEW {view} AS SELECT {columns} FROM ({mart.sql}) AS m")


BREAKAGES = (
    # an SCD2 dimension with two current versions of one site (overlapping)
    "INSERT INTO dim_childcare_site (site_key, site_code, site_name, host_type, township, "
    "county_code, valid_from, valid_to, is_current, is_inferred) VALUES (9001, 'ZY-002', "
    "'重复', 'school', NULL, '530602', DATE '2026-06-15', DATE '9999-12-31', TRUE, FALSE)",
    # a duplicated (school_code, valid_from), and a malformed school code
    "INSERT INTO dim_school (school_key, school_code, school_name, county_code, valid_from, "
    "valid_to, is_current, is_inferred) SELECT 9002, school_code, school_name, county_code, "
    "valid_from, valid_to, FALSE, FALSE FROM dim_school WHERE school_code = '5306020002'",
    "INSERT INTO dim_school (school_key, school_code, school_name, county_code, valid_from, "
    "valid_to, is_current, is_inferred) VALUES (9003, 'X1', '坏代码', '530602', "
    "DATE '2024-09-01', DATE '9999-12-31', TRUE, FALSE)",
    # a duplicated and a NULL primary key
    "INSERT INTO dim_volunteer_source (source, label_zh, is_university) "
    "VALUES ('other', '重复', FALSE), (NULL, '空', FALSE)",
    # an orphan fact: its site is in no dimension row
    "UPDATE fact_childcare_daily SET site_key = 999999",
    # a fact of a submission the ledger does not have (so not its accepted one either, and
    # one row short for the submission it came from)
    "UPDATE fact_childcare_volunteers SET submission_key = 999999 WHERE source_row = 3",
    # a negative count
    "UPDATE fact_health_monthly SET surgeries = -7 WHERE period = '2025-07' AND source_row = 2",
    # a ledger row whose rows_loaded disagrees with its facts (still conserving rows)
    "UPDATE audit_submission SET rows_in = rows_in + 1, rows_loaded = rows_loaded + 1 "
    "WHERE dataset = 'vocational_enrollment' AND period = '2023'",
    # a ledger row that loses rows
    "UPDATE audit_submission SET rows_in = rows_in + 5 "
    "WHERE dataset = 'health_monthly' AND period = '2025-06'",
    # an unknown status
    "UPDATE audit_submission SET status = 'bogus' WHERE status = 'rejected'",
    # SPEC §4 rules: hours per day over 12, dropouts over enrolled
    "UPDATE fact_childcare_site_season SET hours_per_day = 13 "
    "WHERE county_code = '530626' AND period = '2025-summer'",
    "UPDATE fact_vocational_enrollment SET dropouts = 999 "
    "WHERE period = '2024' AND track = 'undergraduate_3_4'",
)

# name: (table, column, unexpected rows); every other check must pass
EXPECTED_FAILURES: dict[str, tuple[str, str | None, int]] = {
    "dim_childcare_site.site_code.one_current": ("dim_childcare_site", "site_code", 1),
    "dim_childcare_site.site_code.no_overlap": ("dim_childcare_site", "site_code", 2),
    "dim_school.school_code+valid_from.unique": ("dim_school", "school_code+valid_from", 2),
    "dim_school.school_code.no_overlap": ("dim_school", "school_code", 2),
    "dim_school.school_code.school_code_format": ("dim_school", "school_code", 1),
    "dim_volunteer_source.source.unique": ("dim_volunteer_source", "source", 2),
    "dim_volunteer_source.source.not_null": ("dim_volunteer_source", "source", 1),
    "fact_childcare_daily.site_key.in_dim_childcare_site":
        ("fact_childcare_daily", "site_key", 1),
    "fact_childcare_volunteers.submission_key.in_audit_submission":
        ("fact_childcare_volunteers", "submission_key", 1),
    "fact_childcare_volunteers.submission_key.current_accepted":
        ("fact_childcare_volunteers", "submission_key", 1),
    "audit_submission.rows_loaded.matches_fact_childcare_volunteers":
        ("audit_submission", "rows_loaded", 1),
    "fact_health_monthly.surgeries.non_negative": ("fact_health_monthly", "surgeries", 1),
    "audit_submission.rows_loaded.matches_fact_vocational_enrollment":
        ("audit_submission", "rows_loaded", 1),
    "audit_submission.rows_in.conserved": ("audit_submission", "rows_in", 1),
    "audit_submission.status.known": ("audit_submission", "status", 1),
    "fact_childcare_site_season.hours_per_day.hours_out_of_range":
        ("fact_childcare_site_season", "hours_per_day", 1),
    "fact_vocational_enrollment.dropouts.dropouts_exceed_enrolled":
        ("fact_vocational_enrollment", "dropouts", 1),
    "mart_childcare_county_season.children_enrolled.equals_fact_childcare_site_season":
        ("mart_childcare_county_season", "children_enrolled", 1),
}
DOWNGRADED = "fact_health_monthly.surgeries.non_negative"


@pytest.fixture(scope="module", params=BACKEND_PARAMS)
def broken(
    request: pytest.FixtureRequest, warehouse_templates: WarehouseTemplates,
    tmp_path_factory: pytest.TempPathFactory, gx_loaded: None,
) -> Iterator[Validated]:
    """The sample with every breakage above, validated once (one check downgraded)."""
    from warehouse.quality import run_quality_checks

    backend = request.param
    folder = tmp_path_factory.mktemp(f"quality-broken-{backend}")
    url = warehouse_templates.clone(backend, folder)
    engine = make_engine(url)
    try:
        load_sample(engine)
        _strip_constraints(engine)
        with engine.begin() as conn:
            _bare_names(conn)
            for statement in BREAKAGES:
                conn.exec_driver_sql(statement)
        _replace_mart(engine, "mart_childcare_county_season", "children_enrolled",
                      "children_enrolled + 1")
        report = run_quality_checks(engine, docs_dir=folder / "docs",
                                    severities={DOWNGRADED: "warning"})
        yield Validated(backend, engine, report, folder / "docs")
    finally:
        engine.dispose()
        if backend == "postgresql":
            drop_pg_database(url)


# ------------------------------------------------------------------------- clean warehouse


def test_clean_warehouse_passes_every_check(clean: Validated) -> None:
    report = clean.report
    assert [r.name for r in report.results] == [c.name for c in CHECKS]
    not_evaluated = [r.name for r in report.results if r.unexpected_count is None]
    assert not not_evaluated, f"GX could not evaluate on {clean.backend}: {not_evaluated}"
    assert not report.failed, [r.summary() for r in report.failed]
    assert report.success
    # the column checks really looked at rows (GX on duckdb-engine used to see none)
    counted = {r.name: r.element_count for r in report.results if r.element_count is not None}
    assert counted["fact_childcare_site_season.children_enrolled.non_negative"] == 7
    assert counted["dim_county.county_code.unique"] == 11


def test_data_docs_are_built(clean: Validated) -> None:
    assert clean.report.docs_index == (clean.docs_dir / "index.html").resolve()
    pages = list(clean.docs_dir.rglob("*.html"))
    assert any("validations" in p.parts and "fact_childcare_daily" in str(p) for p in pages)
    assert any("expectations" in p.parts for p in pages)


def test_no_password_reaches_data_docs_or_the_environment(clean: Validated) -> None:
    from warehouse.quality import URL_VARIABLE

    if clean.backend != "postgresql":
        pytest.skip("only the PostgreSQL URL carries a password")
    assert clean.engine.url.password == DUMMY_PASSWORD  # and the checks ran through it
    assert clean.report.results and clean.report.success
    leaked = [p for p in clean.docs_dir.rglob("*") if p.is_file()
              and DUMMY_PASSWORD.encode() in p.read_bytes()]
    assert not leaked
    assert URL_VARIABLE not in os.environ
    assert DUMMY_PASSWORD not in repr(clean.report)


def test_connection_errors_never_quote_the_password(tmp_path: Path, gx_loaded: None) -> None:
    from warehouse.quality import QualityCheckError, run_quality_checks

    url = f"postgresql+psycopg://countyflow:{DUMMY_PASSWORD}@127.0.0.1:1/{DUMMY_PASSWORD}"
    engine = make_engine(url)
    with pytest.raises(Exception) as caught:
        run_quality_checks(engine, docs_dir=tmp_path / "docs",
                           checks=[c for c in CHECKS if c.table == "dim_county"])
    assert caught.type is QualityCheckError
    error: BaseException | None = caught.value
    while error is not None:  # nor does anything it chains
        assert DUMMY_PASSWORD not in f"{error} {error.args!r}"
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    assert not any(p.is_file() and DUMMY_PASSWORD.encode() in p.read_bytes()
                   for p in tmp_path.rglob("*"))


# ------------------------------------------------------------------------ broken warehouse


def test_broken_warehouse_fails_exactly_the_broken_checks(broken: Validated) -> None:
    report = broken.report
    not_evaluated = [r.name for r in report.results if r.unexpected_count is None]
    assert not not_evaluated, f"GX could not evaluate on {broken.backend}: {not_evaluated}"
    assert {r.name for r in report.failed} == set(EXPECTED_FAILURES)
    for name, (table, column, rows) in EXPECTED_FAILURES.items():
        result = report.result(name)
        assert (result.table, result.column, result.unexpected_count) == (table, column, rows), (
            broken.backend, name)


def test_broken_warehouse_details_name_the_offending_rows(broken: Validated) -> None:
    orphan = broken.report.result("fact_childcare_daily.site_key.in_dim_childcare_site")
    assert orphan.detail is not None and "site_key=999999" in orphan.detail
    # a fact row is named by its submission's hash (from the ledger) and its source row
    assert re.match(r"submission_id=[0-9a-f]{64}, source_row=2, ", orphan.detail), orphan.detail
    unrecorded = broken.report.result("fact_childcare_volunteers.submission_key.in_audit_submission")
    assert unrecorded.detail == "submission_key=999999, source_row=3"
    ledger = broken.report.result("audit_submission.rows_loaded.matches_fact_vocational_enrollment")
    assert ledger.detail is not None
    assert "rows_loaded=3" in ledger.detail and "fact_rows=2" in ledger.detail
    mart = broken.report.result(
        "mart_childcare_county_season.children_enrolled.equals_fact_childcare_site_season")
    assert mart.detail == "mart_total=284, fact_total=280"
    negative = broken.report.result(DOWNGRADED)
    assert negative.detail == "values: -7"


def test_severity_decides_what_blocks(broken: Validated) -> None:
    report = broken.report
    assert not report.success
    assert [r.name for r in report.failed_warnings] == [DOWNGRADED]
    assert {r.name for r in report.failed_errors} == set(EXPECTED_FAILURES) - {DOWNGRADED}
    message = report.failure_message()
    assert f"{len(EXPECTED_FAILURES) - 1} error-severity expectations of {len(CHECKS)} failed" \
        in message
    assert "- fact_childcare_daily.site_key: 1 unexpected row " \
           "(fact_childcare_daily.site_key.in_dim_childcare_site)" in message
    assert "- dim_volunteer_source.source: 2 unexpected rows" in message
    assert "surgeries" not in message  # a warning does not block
    assert str(report.docs_index) in message


def test_broken_checks_are_marked_in_data_docs(broken: Validated) -> None:
    page = next(p for p in broken.docs_dir.rglob("*.html")
                if "validations" in p.parts and "fact_childcare_daily" in p.name)
    assert "fact_childcare_daily.site_key.in_dim_childcare_site" in page.read_text()


def test_selected_checks_only(tmp_path: Path, clean: Validated) -> None:
    """`checks=` runs a subset (and a check list built elsewhere) in its own run."""
    from warehouse.quality import run_quality_checks

    subset: list[Check] = [c for c in CHECKS if c.table == "dim_county"]
    report = run_quality_checks(clean.engine, docs_dir=tmp_path / "docs", checks=subset)
    assert [r.name for r in report.results] == [c.name for c in subset]
    assert report.success
