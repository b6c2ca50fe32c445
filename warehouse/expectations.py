"""What the quality gate expects of a loaded warehouse, derived from its metadata.

This module names every check and says what it asserts; `warehouse.quality` runs them
with Great Expectations. Nothing here imports GX, so listing, documenting and
configuring the checks (and the report types the gate returns) costs nothing.

Checks are derived, not hand-listed per table:

- keys: for every `dim_*` / `fact_*` table, its primary key and unique constraints:
  columns not null, values (or the column combination) unique;
- SCD type 2 dimensions (a unique (natural key, valid_from) and `is_current`): one
  current version per natural key, versions ordered and not overlapping, no inferred
  members left (warning);
- relationships: every foreign key of a `dim_*` / `fact_*` table, every reference a fact
  declares without one (`warehouse.models`: the loader guarantees them), and every
  column named like another dimension's single-column key (the SCD2 dimensions'
  `county_code`, which has no foreign key on purpose, see `warehouse.models`) has a
  matching dimension row;
  a fact's date key agrees with its date; a fact points at the dimension version valid
  at the start of its period (warning);
- SPEC §4 rules: every count column of a contract is ≥ 0 in its fact table, and every
  error-severity row rule of a contract is checked again, translated from the check it
  is declared with (`schemas.checks`; table, column, severity and message come from the
  contract too);
- reconciliations: the ledger conserves rows; each current accepted submission has
  exactly `rows_loaded` fact rows and facts belong only to current accepted
  submissions; mart totals equal fact totals (each mart's `[[reconciles]]`).

Fact rows hold their submission's ledger key (`submission_key`); the rows a failed check
shows name the submission by its hash (`submission_id`), joined from the ledger.

GX has no foreign-key, cross-table or SQL-regex expectation that works on every backend
here, so those checks are `UnexpectedRowsExpectation`s: portable SQL (the common subset
of DuckDB and PostgreSQL) over the `{batch}` table that returns the offending rows.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, cast

import sqlalchemy as sa

from schemas import CONTRACTS
from schemas.checks import DECLARED, AtMost, Between, InPeriod, NotBefore, Pattern, Registered
from schemas.contract import ColumnType, Contract, Rule
from warehouse.marts import MARTS, METRICS, ROW_COUNT
from warehouse.models import (
    ACCEPTED_STATUSES,
    FACT_MODELS,
    SUBMISSION_STATUSES,
    Base,
    referenced_column,
)

Severity = Literal["error", "warning"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning")

_LEDGER = "audit_submission"
_LEDGER_KEY = "submission_key"  # the ledger's number for a submission, which facts carry
_ACCEPTED_SQL = ", ".join(f"'{status}'" for status in ACCEPTED_STATUSES)


# --------------------------------------------------------------------------- the vocabulary


@dataclass(frozen=True)
class Check:
    """One expectation on one table.

    `expectation` is the class name in `great_expectations.expectations` and `kwargs` its
    arguments; `name` is stable (`<table>.<column>.<rule>`) and is what severity
    overrides and reports refer to. `column` is what the report names (None for a
    table-level check).
    """

    name: str
    table: str
    column: str | None
    expectation: str
    kwargs: Mapping[str, Any]
    description: str
    severity: Severity = "error"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check. `unexpected_count` is the number of offending rows
    (for a reconciliation: of mismatching totals); None when the check could not be
    evaluated, which counts as a failure."""

    name: str
    table: str
    column: str | None
    expectation: str
    severity: Severity
    passed: bool
    unexpected_count: int | None = None
    element_count: int | None = None
    detail: str | None = None
    description: str = ""

    def summary(self) -> str:
        """`table.column: N unexpected rows (name)`, for messages and logs."""
        where = f"{self.table}.{self.column}" if self.column else self.table
        if self.unexpected_count is None:
            what = "could not be evaluated"
        else:
            what = f"{self.unexpected_count} unexpected row{'s' if self.unexpected_count != 1 else ''}"
        text = f"{where}: {what} ({self.name})"
        return f"{text}: {self.detail}" if self.detail else text


@dataclass(frozen=True)
class QualityReport:
    """Every check's result; `docs_index` is the Data Docs index.html (None if skipped)."""

    results: tuple[CheckResult, ...] = ()
    docs_index: Path | None = None
    skipped: bool = False

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.results if not r.passed)

    @property
    def failed_errors(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.failed if r.severity == "error")

    @property
    def failed_warnings(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.failed if r.severity == "warning")

    @property
    def success(self) -> bool:
        """True when no error-severity check failed (warnings never block)."""
        return not self.failed_errors

    def result(self, name: str) -> CheckResult:
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(f"no check named {name!r}")

    def failure_message(self) -> str:
        """One line per failed error-severity check: table, column and row count."""
        failed = self.failed_errors
        lines = [
            f"warehouse quality gate failed: {len(failed)} error-severity "
            f"expectation{'s' if len(failed) != 1 else ''} of {len(self.results)} failed"
        ]
        lines += [f"- {r.summary()}" for r in failed]
        if self.docs_index is not None:
            lines.append(f"Data Docs: {self.docs_index}")
        return "\n".join(lines)


def apply_severities(
    checks: Sequence[Check], overrides: Mapping[str, str] | None
) -> tuple[Check, ...]:
    """`checks` with severities overridden by name or glob (`mart_*`). An exact name
    wins over a glob; a key that matches no check, or a severity other than
    error/warning, is a configuration error (a typo must not silently do nothing)."""
    if not overrides:
        return tuple(checks)
    bad = {k: v for k, v in overrides.items() if v not in SEVERITIES}
    if bad:
        raise ValueError(f"quality severities must be one of {SEVERITIES}: {bad}")
    names = [c.name for c in checks]
    unknown = [k for k in overrides if not fnmatch.filter(names, k)]
    if unknown:
        raise ValueError(f"quality severities name no known expectation: {unknown}")
    globs = [(k, v) for k, v in overrides.items() if k not in names]
    result = []
    for check in checks:
        severity = overrides.get(check.name)
        if severity is None:
            severity = next((v for k, v in globs if fnmatch.fnmatchcase(check.name, k)), None)
        # cast: the values were checked against SEVERITIES above; Mapping[str, str] cannot say so
        result.append(replace(check, severity=cast(Severity, severity)) if severity else check)
    return tuple(result)


# ------------------------------------------------------------------------------ SQL helpers


def _q(identifier: str) -> str:
    """A quoted identifier (every name here is lower case, so quoting keeps it as is)."""
    return '"' + identifier.replace('"', '""') + '"'


def _lit(text: str) -> str:
    """A SQL string literal, safe inside a GX query template (braces doubled)."""
    return ("'" + text.replace("'", "''") + "'").replace("{", "{{").replace("}", "}}")


_STRING_LITERAL = re.compile(r"'(?:[^']|'')*'")
_JOIN = re.compile(r"\bJOIN\b", re.IGNORECASE)


def _rows(
    name: str, table: str, column: str | None, query: str, description: str,
    severity: Severity = "error",
) -> Check:
    """A check that passes when `query` over the table (`{batch}`) returns no rows.

    GX substitutes `{batch}` with an aliased sub-select (`… AS subselect`) unless the
    query contains a JOIN, in which case the query must alias it itself (PostgreSQL < 16
    rejects an unaliased sub-select). So: a query with a JOIN reads `{batch} AS b`; a
    query without one reads plain `{batch}` and uses bare column names.
    """
    query = " ".join(query.split())
    joins = bool(_JOIN.search(_STRING_LITERAL.sub("''", query)))
    if joins != ("{batch} AS b" in query) or query.count("{batch}") != 1:
        raise ValueError(f"{name}: alias {{batch}} AS b exactly when the query joins: {query}")
    return Check(name, table, column, "UnexpectedRowsExpectation",
                 {"unexpected_rows_query": query}, description, severity)


def _ledger_key(table: sa.Table) -> str | None:
    """The column of `table` naming its rows' submission by the ledger's key (a fact's
    `submission_key`); None when it has none."""
    for column in table.columns:
        target = referenced_column(column)
        if target is not None and (target.table.name, target.name) == (_LEDGER, _LEDGER_KEY):
            return column.name
    return None


def _row_id(table: sa.Table, alias: str, *more: str) -> tuple[str, str]:
    """How offending rows of `table` are named: the columns to select (its primary key,
    then `more`) and the join they need (empty, or a `LEFT JOIN` to put after the query's
    own joins). A fact row's submission is shown by its hash, `submission_id`, read from
    the ledger, as the clerk's report and the ledger show it: the ledger's key the row
    holds means nothing to a human. A check of that key itself (`more` names it) shows
    the key: its offending rows have no ledger row to read."""
    names = list(dict.fromkeys([*(c.name for c in table.primary_key.columns), *more]))
    columns = [f"{alias}.{_q(name)}" for name in names]
    key = _ledger_key(table)
    if key is None or key in more:
        return ", ".join(columns), ""
    shown = f"s.{_q('submission_id')}"
    if key in names:
        columns[names.index(key)] = shown
    else:
        columns.insert(0, shown)
    return (", ".join(columns),
            f"LEFT JOIN {_LEDGER} AS s ON s.{_q(_LEDGER_KEY)} = {alias}.{_q(key)}")


def _column(
    name: str, table: str, column: str, expectation: str, description: str,
    severity: Severity = "error", **kwargs: Any,
) -> Check:
    return Check(name, table, column, expectation, {"column": column, **kwargs}, description,
                 severity)


def _pair(
    name: str, table: str, greater: str, smaller: str, description: str,
    severity: Severity = "error", *, or_equal: bool = True, column: str | None = None,
) -> Check:
    """`greater` > `smaller` (≥ with `or_equal`) where both are present."""
    return Check(
        name, table, column or greater, "ExpectColumnPairValuesAToBeGreaterThanB",
        {"column_A": greater, "column_B": smaller, "or_equal": or_equal,
         "ignore_row_if": "either_value_is_missing"},
        description, severity,
    )


# ------------------------------------------------------------------------ schema structure


def _warehouse_tables(metadata: sa.MetaData) -> list[sa.Table]:
    return [t for t in metadata.sorted_tables if t.name.startswith(("dim_", "fact_"))]


def _unique_column_sets(table: sa.Table) -> list[tuple[str, ...]]:
    """The primary key first, then every unique constraint, without repeats."""
    sets: list[tuple[str, ...]] = [tuple(c.name for c in table.primary_key.columns)]
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint):
            sets.append(tuple(c.name for c in constraint.columns))
    sets += [(c.name,) for c in table.columns if c.unique]
    seen: list[tuple[str, ...]] = []
    for columns in sets:
        if columns and columns not in seen:
            seen.append(columns)
    return seen


@dataclass(frozen=True)
class Scd2:
    """An SCD type 2 dimension as its metadata shows it."""

    table: str
    key: str
    natural_key: str


def scd2_dimensions(metadata: sa.MetaData = Base.metadata) -> dict[str, Scd2]:
    """SCD2 dimensions by table name: tables with `is_current`, `valid_from`, `valid_to`
    and a unique (natural key, valid_from)."""
    found: dict[str, Scd2] = {}
    for table in _warehouse_tables(metadata):
        if not {"is_current", "valid_from", "valid_to"} <= set(table.columns.keys()):
            continue
        for columns in _unique_column_sets(table):
            if "valid_from" in columns and len(columns) == 2:
                natural = next(c for c in columns if c != "valid_from")
                key = next(iter(table.primary_key.columns)).name
                found[table.name] = Scd2(table.name, key, natural)
    return found


@dataclass(frozen=True)
class Reference:
    """column → ref_table.ref_column; `declared` False for a logical relationship,
    `constrained` False for a declared one the database does not enforce (facts)."""

    table: str
    column: str
    ref_table: str
    ref_column: str
    declared: bool = True
    constrained: bool = True


def references(metadata: sa.MetaData = Base.metadata) -> list[Reference]:
    """Every single-column relationship of a `dim_*` / `fact_*` table: declared foreign
    keys, references declared without a constraint (`warehouse.models.referenced_column`:
    the facts'), and columns named like another dimension's single-column primary key."""
    tables = _warehouse_tables(metadata)
    dim_keys: dict[str, str] = {}
    for table in tables:
        pk = list(table.primary_key.columns)
        if table.name.startswith("dim_") and len(pk) == 1:
            dim_keys.setdefault(pk[0].name, table.name)
    found: list[Reference] = []
    for table in tables:
        for column in table.columns:
            target = referenced_column(column)
            if target is not None:
                found.append(Reference(table.name, column.name, target.table.name, target.name,
                                       constrained=bool(column.foreign_keys)))
            elif column.name in dim_keys and dim_keys[column.name] != table.name:
                found.append(
                    Reference(table.name, column.name, dim_keys[column.name], column.name,
                              declared=False)
                )
    return found


# ------------------------------------------------------------------------------ key checks


def key_checks(table: sa.Table) -> Iterator[Check]:
    t = table.name
    not_null_done: set[str] = set()
    for columns in _unique_column_sets(table):
        for column in columns:
            if column not in not_null_done:
                not_null_done.add(column)
                yield _column(f"{t}.{column}.not_null", t, column,
                              "ExpectColumnValuesToNotBeNull", f"{t}.{column} is never NULL (key)")
        if len(columns) == 1:
            yield _column(f"{t}.{columns[0]}.unique", t, columns[0],
                          "ExpectColumnValuesToBeUnique", f"{t}.{columns[0]} is unique (key)")
        else:
            label = "+".join(columns)
            yield Check(f"{t}.{label}.unique", t, label, "ExpectCompoundColumnsToBeUnique",
                        {"column_list": list(columns)},
                        f"({', '.join(columns)}) is unique in {t} (key)")


def scd2_checks(dim: Scd2) -> Iterator[Check]:
    t, nk, key = dim.table, _q(dim.natural_key), _q(dim.key)
    yield _rows(
        f"{t}.{dim.natural_key}.one_current", t, dim.natural_key,
        f"""SELECT {nk}, COUNT(*) AS versions,
                   SUM(CASE WHEN is_current THEN 1 ELSE 0 END) AS current_versions
            FROM {{batch}} GROUP BY {nk}
            HAVING SUM(CASE WHEN is_current THEN 1 ELSE 0 END) <> 1""",
        f"every {dim.natural_key} has exactly one current version (is_current)",
    )
    yield _pair(f"{t}.valid_to.after_valid_from", t, "valid_to", "valid_from",
                "every version ends after it starts (valid_to > valid_from)", or_equal=False)
    yield _rows(
        f"{t}.{dim.natural_key}.no_overlap", t, dim.natural_key,
        f"""SELECT DISTINCT b.{nk}, b.{key}, b.valid_from, b.valid_to
            FROM {{batch}} AS b JOIN {_q(t)} AS o
              ON o.{nk} = b.{nk} AND o.{key} <> b.{key}
             AND o.valid_from < b.valid_to AND b.valid_from < o.valid_to""",
        f"the versions of one {dim.natural_key} do not overlap in time",
    )
    yield _rows(
        f"{t}.is_inferred.none", t, "is_inferred",
        f"SELECT {nk}, {key}, county_code FROM {{batch}} WHERE is_inferred",
        f"no {dim.natural_key} is known only from a reference (its registry row never came)",
        severity="warning",
    )


def reference_checks(table: sa.Table, ref: Reference) -> Iterator[Check]:
    c, rc = _q(ref.column), _q(ref.ref_column)
    if not ref.declared:
        kind = "logical reference (no foreign key)"
    elif ref.constrained:
        kind = "foreign key"
    else:
        kind = "declared reference, guaranteed by the loader (no foreign key)"
    row_id, named = _row_id(table, "b", ref.column)
    yield _rows(
        f"{ref.table}.{ref.column}.in_{ref.ref_table}", ref.table, ref.column,
        f"""SELECT {row_id} FROM {{batch}} AS b
            LEFT JOIN {_q(ref.ref_table)} AS r ON r.{rc} = b.{c} {named}
            WHERE b.{c} IS NOT NULL AND r.{rc} IS NULL""",
        f"every {ref.table}.{ref.column} has a matching {ref.ref_table} row ({kind})",
    )


def date_key_checks(table: sa.Table, refs: Sequence[Reference]) -> Iterator[Check]:
    """A `<x>_key` referencing dim_date agrees with the table's date column `<x>`."""
    for ref in refs:
        if ref.table != table.name or ref.ref_table != "dim_date":
            continue
        date_column = ref.column.removesuffix("_key")
        if date_column == ref.column or date_column not in table.columns:
            continue
        row_id, named = _row_id(table, "b", date_column, ref.column)
        yield _rows(
            f"{table.name}.{ref.column}.matches_{date_column}", table.name, ref.column,
            f"""SELECT {row_id}
                FROM {{batch}} AS b
                JOIN dim_date AS d ON d.date_key = b.{_q(ref.column)} {named}
                WHERE d.{_q("date")} <> b.{_q(date_column)}""",
            f"{ref.column} is the dim_date key of {date_column}",
        )


def version_checks(
    table: sa.Table, refs: Sequence[Reference], dims: Mapping[str, Scd2]
) -> Iterator[Check]:
    """A fact points at the SCD2 version valid at the start of its period (the loader's
    rule); a warning, since a code first reported later legitimately takes its
    earliest version."""
    if "period" not in table.columns:
        return
    for ref in refs:
        dim = dims.get(ref.ref_table)
        if ref.table != table.name or dim is None:
            continue
        row_id, named = _row_id(table, "b", "period")
        yield _rows(
            f"{table.name}.{ref.column}.valid_for_period", table.name, ref.column,
            f"""SELECT {row_id}, d.{_q(dim.natural_key)}, d.valid_from, d.valid_to
                FROM {{batch}} AS b
                JOIN {_q(dim.table)} AS d ON d.{_q(dim.key)} = b.{_q(ref.column)}
                JOIN dim_period AS p ON p.period = b.period {named}
                WHERE NOT (d.valid_from <= p.start_date AND p.start_date < d.valid_to)""",
            f"{ref.column} is the {dim.table} version valid at the start of the period",
            severity="warning",
        )


# ------------------------------------------------------------------- SPEC §4 (contracts)
#
# Each error-severity rule is checked again in the warehouse, translated from the check it
# is declared with (`schemas.checks`): table, column, bounds, severity and message all
# come from the contract. Warning rules are not: their rows are loaded by design and
# listed in audit_issue.


class UndeclaredRuleError(ValueError):
    """An error rule whose check has no warehouse form (a `Custom` check)."""


def _code_dimension(column: str, dims: Mapping[str, Scd2]) -> str:
    """The SCD2 dimension whose natural key `column` is (codes are stored there)."""
    for dim in dims.values():
        if dim.natural_key == column:
            return dim.table
    raise ValueError(f"no SCD2 dimension has the natural key {column!r}")


def rule_check(contract: Contract, rule: Rule, dims: Mapping[str, Scd2]) -> Check:
    """The warehouse check of a contract rule, from the check the rule is declared with."""
    table = FACT_MODELS[contract.dataset].__table__
    fact = table.name
    col = rule.column
    text = f"{rule.message_en} / {rule.message_zh} (contract rule {rule.id})"
    severity: Severity = "error" if rule.severity.value == "error" else "warning"
    match rule.check:
        case Between(min_value, max_value, strict_min):
            return _column(f"{fact}.{col}.{rule.id}", fact, col,
                           "ExpectColumnValuesToBeBetween", text, severity,
                           min_value=min_value, max_value=max_value, strict_min=strict_min)
        case AtMost(other):
            return _pair(f"{fact}.{col}.{rule.id}", fact, other, col, text, severity,
                         column=col)
        case NotBefore(other):
            return _pair(f"{fact}.{col}.{rule.id}", fact, col, other, text, severity)
        case Pattern(pattern):
            dim = _code_dimension(col, dims)
            return _rows(f"{dim}.{col}.{rule.id}", dim, col,
                         f"""SELECT {_q(col)}, valid_from FROM {{batch}}
                             WHERE NOT ({_q(col)} SIMILAR TO {_lit(pattern)})""",
                         text, severity)
        case InPeriod():
            row_id, named = _row_id(table, "b", "period", col)
            return _rows(f"{fact}.{col}.{rule.id}", fact, col,
                         f"""SELECT {row_id}
                             FROM {{batch}} AS b JOIN dim_period AS p ON p.period = b.period
                             {named}
                             WHERE b.{_q(col)} < p.start_date OR b.{_q(col)} > p.end_date""",
                         text, severity)
        case Registered():
            # the fact stores the site's key, not its code
            row_id, named = _row_id(table, "b", "county_code", "period")
            return _rows(f"{fact}.site_key.{rule.id}", fact, "site_key",
                         f"""SELECT {row_id}, d.site_code
                            FROM {{batch}} AS b
                            JOIN dim_childcare_site AS d ON d.site_key = b.site_key {named}
                            WHERE NOT EXISTS (
                                SELECT 1 FROM fact_childcare_site_season AS r
                                JOIN dim_childcare_site AS rd ON rd.site_key = r.site_key
                                WHERE rd.site_code = d.site_code AND r.period = b.period
                                  AND r.county_code = b.county_code)""",
                         text, severity)
    raise UndeclaredRuleError(
        f"{contract.dataset}.{rule.id}: an error rule needs a check the warehouse can repeat "
        f"({', '.join(kind.__name__ for kind in DECLARED)}), not {type(rule.check).__name__}")


def contract_checks(
    dims: Mapping[str, Scd2], contracts: Mapping[str, Contract] = CONTRACTS
) -> Iterator[Check]:
    """Counts ≥ 0 and every error rule, per dataset contract."""
    seen: set[str] = set()
    for dataset, contract in contracts.items():
        fact = FACT_MODELS[dataset].__table__
        for column in contract.columns:
            if column.type is ColumnType.COUNT and column.name in fact.columns:
                yield _column(f"{fact.name}.{column.name}.non_negative", fact.name, column.name,
                              "ExpectColumnValuesToBeBetween",
                              f"{column.name} is a count: an integer ≥ 0 (SPEC §4)", min_value=0)
        for rule in contract.rules:
            if rule.severity.value == "error":
                check = rule_check(contract, rule, dims)
                if check.name not in seen:  # a code rule shared by several contracts
                    seen.add(check.name)
                    yield check


def derived_checks() -> Iterator[Check]:
    """Measures the transforms derive."""
    sites = Base.metadata.tables["fact_childcare_site_season"]
    row_id, named = _row_id(sites, "b", "start_date", "end_date", "service_days")
    yield _rows(
        f"{sites.name}.service_days.matches_dates", sites.name, "service_days",
        f"""SELECT {row_id} FROM {{batch}} AS b {named}
            WHERE b.service_days <> (b.end_date - b.start_date) + 1""",
        "service_days = end_date − start_date + 1",
    )


# ---------------------------------------------------------------------- reconciliations


def ledger_checks() -> Iterator[Check]:
    t = _LEDGER
    yield _column(f"{t}.status.known", t, "status", "ExpectColumnValuesToBeInSet",
                  "status is one of the ledger's statuses", value_set=list(SUBMISSION_STATUSES))
    yield _rows(
        f"{t}.rows_in.conserved", t, "rows_in",
        """SELECT submission_id, rows_in, rows_loaded, rows_rejected, rows_held
           FROM {batch} WHERE rows_in <> rows_loaded + rows_rejected + rows_held""",
        "nothing lost: rows_in = rows_loaded + rows_rejected + rows_held (SPEC §5)",
    )
    yield _rows(
        f"{t}.rows_loaded.status_consistent", t, "rows_loaded",
        """SELECT submission_id, status, rows_loaded FROM {batch}
           WHERE status IN ('rejected', 'waiting') AND rows_loaded <> 0""",
        "a rejected or waiting submission has loaded no rows",
    )
    yield _rows(
        f"{t}.period.one_accepted", t, "period",
        f"""SELECT county_code, dataset, period, COUNT(*) AS accepted
            FROM {{batch}} WHERE status IN ({_ACCEPTED_SQL})
            GROUP BY county_code, dataset, period HAVING COUNT(*) > 1""",
        "a partition has at most one current accepted submission",
    )
    for dataset, model in FACT_MODELS.items():
        table = model.__table__
        fact, key = table.name, _ledger_key(table)
        if key is None:
            raise ValueError(f"{fact} names no submission ({_LEDGER}.{_LEDGER_KEY})")
        yield _rows(
            f"{t}.rows_loaded.matches_{fact}", t, "rows_loaded",
            f"""SELECT b.submission_id, b.county_code, b.period, b.rows_loaded,
                       COUNT(f.source_row) AS fact_rows
                FROM {{batch}} AS b
                LEFT JOIN {_q(fact)} AS f ON f.{_q(key)} = b.{_q(_LEDGER_KEY)}
                WHERE b.dataset = {_lit(dataset)} AND b.status IN ({_ACCEPTED_SQL})
                GROUP BY b.submission_id, b.county_code, b.period, b.rows_loaded
                HAVING COUNT(f.source_row) <> b.rows_loaded""",
            f"each current accepted {dataset} submission has rows_loaded rows in {fact}",
        )
        row_id, named = _row_id(table, "b")
        yield _rows(
            f"{fact}.{key}.current_accepted", fact, key,
            f"""SELECT {row_id} FROM {{batch}} AS b
                LEFT JOIN {t} AS a
                  ON a.{_q(_LEDGER_KEY)} = b.{_q(key)} AND a.status IN ({_ACCEPTED_SQL})
                 AND a.dataset = {_lit(dataset)} AND a.county_code = b.county_code
                 AND a.period = b.period
                {named}
                WHERE a.{_q(_LEDGER_KEY)} IS NULL""",
            f"{fact} holds only rows of the current accepted {dataset} submission of "
            "their partition (superseded facts were deleted)",
        )



def _measure_columns(table: sa.Table) -> set[str]:
    """Integer columns that are measures: not keys, not references, not `source_row`."""
    return {
        c.name for c in table.columns
        if isinstance(c.type, sa.Integer) and not c.primary_key and referenced_column(c) is None
        and not c.name.endswith("_key")
    }


def _total_mismatch(mart_total: str, fact_total: str, fact: str, where: str = "") -> str:
    return f"""SELECT m.total AS mart_total, f.total AS fact_total
               FROM (SELECT CAST(COALESCE({mart_total}, 0) AS BIGINT) AS total
                     FROM {{batch}} AS b {where}) AS m
               CROSS JOIN (SELECT CAST(COALESCE({fact_total}, 0) AS BIGINT) AS total
                           FROM {_q(fact)} AS f) AS f
               WHERE m.total <> f.total"""


def mart_checks(metadata: sa.MetaData = Base.metadata) -> Iterator[Check]:
    for mart_name, mart in MARTS.items():
        for source in mart.reconciles:
            pairs: dict[str, tuple[str, str]] = {}
            if source.same_name:
                shared = _measure_columns(metadata.tables[source.table]) & {
                    name for name, dtype in mart.columns.items() if dtype.is_integer()
                }
                pairs |= {m: (f"SUM(b.{_q(m)})", f"SUM(f.{_q(m)})") for m in sorted(shared)}
            pairs |= {column: (mart_total, fact_total.replace("{accepted}", _ACCEPTED_SQL))
                      for column, (mart_total, fact_total) in source.totals.items()}
            for column, (mart_total, fact_total) in pairs.items():
                label = "rows" if column == ROW_COUNT else column
                yield _rows(
                    f"{mart_name}.{label}.equals_{source.table}", mart_name,
                    None if column == ROW_COUNT else column,
                    _total_mismatch(mart_total, fact_total, source.table),
                    f"{mart_name}: total {label} equals {source.table} ({fact_total})",
                )
    # A metric that is one of its domain's fact measures, summed, sums to that measure.
    domains = list(dict.fromkeys(m.domain for m in METRICS))
    summed = sorted(
        ((m.domain, m.metric, m.fact) for m in METRICS
         if m.metric == m.expression and m.metric in _measure_columns(metadata.tables[m.fact])),
        key=lambda found: (domains.index(found[0]), found[1]),
    )
    for domain, metric, fact in summed:
        yield _rows(
            f"mart_city_kpi.value.{domain}_{metric}_equals_{fact}", "mart_city_kpi", "value",
            _total_mismatch(
                "SUM(b.value)", f"SUM(f.{_q(metric)})", fact,
                f"WHERE b.domain = {_lit(domain)} AND b.metric = {_lit(metric)}",
            ),
            f"mart_city_kpi {domain}/{metric} summed over periods equals {fact}",
        )


# ---------------------------------------------------------------------------------- all


def checks_after_loading(checks: Sequence[Check], datasets: Iterable[str]) -> tuple[Check, ...]:
    """The checks a run that loaded facts of `datasets` repeats: every check except those
    on the fact tables of other datasets and on marts built only from those (they did not
    change since the last run's gate). Dimensions, the ledger and the city-wide
    reconciliations are always checked: any run writes them."""
    loaded = set(datasets)
    untouched = {model.__table__.name for dataset, model in FACT_MODELS.items() if dataset not in loaded}
    unchanged_marts = {
        name for name, mart in MARTS.items()
        if mart.reconciles and all(source.table in untouched for source in mart.reconciles)
    }
    return tuple(check for check in checks if check.table not in untouched | unchanged_marts)


def build_checks(
    metadata: sa.MetaData = Base.metadata, contracts: Mapping[str, Contract] = CONTRACTS
) -> tuple[Check, ...]:
    """Every check of the gate, in a stable order (tables, then reconciliations)."""
    dims = scd2_dimensions(metadata)
    refs = references(metadata)
    checks: list[Check] = []
    for table in _warehouse_tables(metadata):
        checks += key_checks(table)
        if table.name in dims:
            checks += scd2_checks(dims[table.name])
        for ref in refs:
            if ref.table == table.name:
                checks += reference_checks(table, ref)
        checks += date_key_checks(table, refs)
        checks += version_checks(table, refs, dims)
    checks += contract_checks(dims, contracts)
    checks += derived_checks()
    checks += ledger_checks()
    checks += mart_checks(metadata)
    names = [c.name for c in checks]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"duplicate check names: {duplicates}")
    return tuple(checks)


__all__ = [
    "SEVERITIES",
    "Check",
    "CheckResult",
    "QualityReport",
    "Severity",
    "apply_severities",
    "build_checks",
    "checks_after_loading",
    "references",
    "scd2_dimensions",
]
