"""Validate one parsed submission against its contract: pure, no I/O.

normalise → add path context and lookups → duplicate keys → Pandera (lazy) → issues.
Every problem is reported exactly once: a rule is not reported on a row where a value it
reads was already unreadable or missing, and Pandera's not-null failures are covered by
the normaliser's `value_required`. The policy then decides which rows load (SPEC §5).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import polars as pl

from countyflow.ingest.limits import finalise_issues, finalise_layout
from countyflow.ingest.model import (
    ISSUE_SCHEMA,
    SOURCE_ROW,
    ParsedSubmission,
    RowCounts,
    SubmissionRejected,
    SubmissionStatus,
    ValidationResult,
    issues_frame,
)
from countyflow.ingest.normalise import normalise_frame, typed_schema
from countyflow.ingest.reconcile import row_total_issues, total_issues
from countyflow.periods import Period
from countyflow.settings import DEFAULT_MAX_TEXT_CHARS
from schemas.contract import COMMON_RULES, Contract, Severity
from schemas.lookups import LOOKUPS, PATH_CONTEXT, Lookup
from schemas.pandera import (
    SchemaCheck,
    build_schema,
    failure_cases,
    is_column_check,
    schema_checks,
)

Policy = Literal["strict", "partial"]

_POS = "__pos"
_NOT_NULLABLE = "not_nullable"
_ERROR = Severity.ERROR.value
DUPLICATE_ROWS_LISTED = 20
"""A duplicate key's message lists its first rows, then the count: `2, 4, … (5000)`."""


# --- context ------------------------------------------------------------------------------


def resolve_lookups(contract: Contract,
                    lookups: Mapping[str, pl.DataFrame | None] | None) -> dict[str, pl.DataFrame | None]:
    """Each lookup the contract uses → the caller's frame, else the lookup's default, else None."""
    given = lookups or {}
    resolved: dict[str, pl.DataFrame | None] = {}
    for name in contract.lookups:
        frame = given.get(name)
        default = LOOKUPS[name].default
        resolved[name] = default() if frame is None and default is not None else frame
    return resolved


def _lookup_frame(lookup: Lookup, data: pl.DataFrame) -> pl.DataFrame:
    """The lookup's keys and the `ctx_*` columns it actually provides, one row per key."""
    if data.width == 0:
        data = pl.DataFrame(schema=lookup.schema)
    missing = [key for key in lookup.keys if key not in data.columns]
    if missing:
        raise ValueError(f"lookup {lookup.name!r} lacks key column(s) {missing}")
    provided = {
        name: dtype for name, dtype in lookup.columns.items()
        if name in data.columns or name == lookup.flag
    }
    return data.select(
        *(pl.col(key).cast(pl.Utf8) for key in lookup.keys),
        *(
            (pl.col(name) if name in data.columns else pl.lit(True)).cast(dtype).alias(name)
            for name, dtype in provided.items()
        ),
    ).unique(subset=list(lookup.keys), keep="first", maintain_order=True)


def add_context(typed: pl.DataFrame, contract: Contract, *, county_code: str, period: Period,
                lookups: Mapping[str, pl.DataFrame | None]) -> tuple[pl.DataFrame, set[str]]:
    """Typed frame + path context + every provided lookup (left-joined, order kept).

    Returns the frame and the set of context columns available to rules.
    """
    frame = typed.with_columns(
        pl.lit(county_code, dtype=PATH_CONTEXT["ctx_path_county"]).alias("ctx_path_county"),
        pl.lit(period.start, dtype=PATH_CONTEXT["ctx_period_start"]).alias("ctx_period_start"),
        pl.lit(period.end, dtype=PATH_CONTEXT["ctx_period_end"]).alias("ctx_period_end"),
    )
    available = set(PATH_CONTEXT)
    for name in contract.lookups:
        data = lookups.get(name)
        if data is None:
            continue
        lookup = LOOKUPS[name]
        right = _lookup_frame(lookup, data)
        frame = frame.join(right, on=list(lookup.keys), how="left", maintain_order="left")
        if lookup.flag is not None:
            frame = frame.with_columns(pl.col(lookup.flag).fill_null(False))
        available |= set(right.columns) - set(lookup.keys)
    return frame, available


# --- issues -------------------------------------------------------------------------------


def _empty_valid(contract: Contract) -> pl.DataFrame:
    return pl.DataFrame(schema=typed_schema(contract))


def _raw_values(raw: pl.DataFrame, cases: pl.DataFrame) -> pl.DataFrame:
    """`cases` (with `__pos` and `column`) plus `value`: the original text of that cell."""
    parts = []
    for (column,), group in cases.group_by("column", maintain_order=True):
        if column in raw.columns:
            values = raw[str(column)].cast(pl.Utf8).gather(group[_POS])
        else:
            values = pl.Series([None] * group.height, dtype=pl.Utf8)
        parts.append(group.with_columns(values.alias("value")))
    if not parts:
        return cases.with_columns(pl.lit(None, dtype=pl.Utf8).alias("value"))
    return pl.concat(parts)


def duplicate_key_issues(typed: pl.DataFrame, raw: pl.DataFrame, contract: Contract,
                         value_issues: pl.DataFrame) -> pl.DataFrame:
    """One `duplicate_key` issue per row sharing its (normalised) key with another row.

    Rows whose key could not be read (an error value issue) are left out: their problem is
    already reported. A warning leaves the value readable, so its row's key still counts.
    """
    key = list(contract.key)
    unreadable = (
        value_issues.filter(pl.col("column").is_in(key) & (pl.col("severity") == _ERROR))
        .select(SOURCE_ROW).unique()
    )
    rows = (
        typed.select(*key, SOURCE_ROW).with_row_index(_POS)
        .join(unreadable, on=SOURCE_ROW, how="anti", maintain_order="left")
    )
    groups = (
        rows.group_by(key, maintain_order=True)
        .agg(pl.col(SOURCE_ROW), pl.col(_POS), pl.len().alias("n"))
        .filter(pl.col("n") > 1)
        # The message names the rows sharing the key; a key repeated on 400 000 rows
        # would otherwise put 400 000 row numbers into each of its 400 000 messages.
        .with_columns(
            pl.concat_str(
                pl.col(SOURCE_ROW).list.head(DUPLICATE_ROWS_LISTED).cast(pl.List(pl.Utf8))
                .list.join(", "),
                pl.when(pl.col("n") > DUPLICATE_ROWS_LISTED)
                .then(pl.concat_str(pl.lit(" … ("), pl.col("n").cast(pl.Utf8), pl.lit(")")))
                .otherwise(pl.lit("")),
            ).alias("rows"))
        .explode(SOURCE_ROW, _POS)
    )
    if groups.height == 0:
        return issues_frame()
    raw_key = raw.select(
        (pl.col(name).cast(pl.Utf8) if name in raw.columns else pl.lit(None, dtype=pl.Utf8))
        .fill_null("").alias(name)
        for name in key
    ).gather(groups[_POS])
    text = COMMON_RULES["duplicate_key"]
    labels_zh = "、".join(contract.column(name).label_zh for name in key)
    labels_en = ", ".join(key)
    return groups.select(
        pl.col(SOURCE_ROW).cast(pl.Int64),
        pl.lit(", ".join(key)).alias("column"),
        pl.Series("value", raw_key.select(pl.concat_str(key, separator=" / ")).to_series()),
        pl.lit("duplicate_key").alias("rule"),
        pl.lit(text.severity.value).alias("severity"),
        pl.concat_str(pl.lit(f"{text.message_zh}：（{labels_zh}）相同，见第 "), "rows",
                      pl.lit(" 行")).alias("message_zh"),
        pl.concat_str(pl.lit(f"{text.message_en}: ({labels_en}) repeated on rows "),
                      "rows").alias("message_en"),
    ).cast(ISSUE_SCHEMA)  # type: ignore[arg-type]


def _check_inputs(check: SchemaCheck, contract: Contract) -> list[str]:
    """Contract columns whose unreadable value makes the check's verdict meaningless:
    those it reads, its own column, and the keys of any lookup whose context it reads."""
    inputs = set(check.inputs) & set(contract.column_names) | {check.column}
    for name in contract.lookups:
        lookup = LOOKUPS[name]
        if check.inputs & (set(lookup.columns) | ({lookup.flag} if lookup.flag else set())):
            inputs |= set(lookup.keys)
    return sorted(inputs)


def rule_issues(context: pl.DataFrame, raw: pl.DataFrame, contract: Contract,
                available_context: set[str], value_issues: pl.DataFrame) -> pl.DataFrame:
    """Run the contract's Pandera schema on `context`; one issue per rule failure.

    Failures on rows where an input of the rule already has an error value issue are
    dropped, so Pandera's `not_nullable` on a required cell is already covered by
    `value_required`. A warning value issue (`count_dash_zero`) leaves a real value, so the
    rules still judge it.
    """
    cases = failure_cases(build_schema(contract, available_context), context)
    if cases is None:
        return issues_frame()

    checks = schema_checks(contract, available_context)
    required = COMMON_RULES["value_required"]
    meta = pl.DataFrame(
        [
            *((c.rule, c.column, c.severity.value, c.message_zh, c.message_en,
               _check_inputs(c, contract), is_column_check(c, contract)) for c in checks),
            # Pandera's not-null check: the normaliser's `value_required` (or a format
            # problem) normally covers the cell and suppresses it; if not, it is reported
            # as `value_required`.
            *((_NOT_NULLABLE, name, required.severity.value, required.message_zh,
               required.message_en, [name], True) for name in contract.required_columns),
        ],
        schema={"rule": pl.Utf8, "column": pl.Utf8, "severity": pl.Utf8, "message_zh": pl.Utf8,
                "message_en": pl.Utf8, "inputs": pl.List(pl.Utf8), "column_level": pl.Boolean},
        orient="row",
    )
    frame_level = dict(meta.filter(~pl.col("column_level")).select("rule", "column").iter_rows())
    cases = cases.select(
        pl.col("index").cast(pl.Int64).alias(_POS),
        pl.col("check").alias("rule"),
        # DataFrame-level failures name the schema, not a column: report on the rule's column.
        pl.when(pl.col("schema_context") == "DataFrameSchema")
        .then(pl.col("check").replace_strict(frame_level, default=None, return_dtype=pl.Utf8))
        .otherwise(pl.col("column")).alias("column"),
    )
    unknown = cases.join(meta, on=["rule", "column"], how="anti")
    if unknown.height:
        raise RuntimeError(f"unexpected Pandera failures for {contract.dataset}: {unknown}")

    positions = context.select(pl.int_range(pl.len(), dtype=pl.Int64).alias(_POS), SOURCE_ROW)
    cases = (
        cases.join(meta, on=["rule", "column"], how="left", maintain_order="left")
        .join(positions, on=_POS, how="left", maintain_order="left")
    )
    unreadable = (
        value_issues.filter(pl.col("severity") == _ERROR)
        .select(SOURCE_ROW, pl.col("column").alias("input")).unique()
    )
    suppressed = (
        cases.select(_POS, "rule", "column", pl.col(SOURCE_ROW), pl.col("inputs").alias("input"))
        .explode("input")
        .join(unreadable, on=[SOURCE_ROW, "input"], how="semi")
        .select(_POS, "rule", "column").unique()
    )
    cases = cases.join(
        suppressed, on=[_POS, "rule", "column"], how="anti", maintain_order="left"
    ).with_columns(pl.col("rule").replace(_NOT_NULLABLE, "value_required"))
    return _raw_values(raw, cases).select(list(ISSUE_SCHEMA)).cast(ISSUE_SCHEMA)  # type: ignore[arg-type]


def total_row_issues(parsed: ParsedSubmission, typed: pl.DataFrame, contract: Contract,
                     value_issues: pl.DataFrame, *, period: Period) -> pl.DataFrame:
    """Warnings where the form's own 合计/小计 rows or 合计 column disagree with its rows
    (`countyflow.ingest.reconcile`)."""
    return pl.concat([
        total_issues(parsed.total_row, typed, contract, value_issues, period=period),
        row_total_issues(parsed.row_totals, typed, contract, value_issues),
    ])


# --- the engine ---------------------------------------------------------------------------


def _result(status: SubmissionStatus, valid: pl.DataFrame, issues: pl.DataFrame, *, rows_in: int,
            rows_loaded: int, rows_rejected: int, rows_held: int = 0) -> ValidationResult:
    counts = RowCounts.from_issues(issues, rows_in=rows_in, rows_loaded=rows_loaded,
                                   rows_rejected=rows_rejected, rows_held=rows_held)
    return ValidationResult(status=status, valid=valid, issues=issues, counts=counts)


def _ordered(issues: list[pl.DataFrame]) -> pl.DataFrame:
    """The result's issues: sorted by row, personal data masked and long texts clipped
    (`finalise_issues`). Every result's issues pass here, so nothing downstream — audit,
    reports, console, artifacts — can echo a phone number or a 20 MB cell."""
    frame = pl.concat([issue.select(list(ISSUE_SCHEMA)).cast(ISSUE_SCHEMA)  # type: ignore[arg-type]
                       for issue in issues])
    return finalise_issues(frame.sort(SOURCE_ROW, nulls_last=False, maintain_order=True))


def reject_submission(exc: SubmissionRejected, rows_in: int = 0, *,
                      contract: Contract | None = None,
                      issues: pl.DataFrame | None = None) -> ValidationResult:
    """The result for a submission-level error (raised by the reader or found here)."""
    valid = _empty_valid(contract) if contract else pl.DataFrame(schema={SOURCE_ROW: pl.Int64})
    all_issues = _ordered([exc.issues(), *([issues] if issues is not None else [])])
    return _result(SubmissionStatus.REJECTED, valid, all_issues, rows_in=rows_in, rows_loaded=0,
                   rows_rejected=rows_in)


def validate_submission(parsed: ParsedSubmission, contract: Contract, *, county_code: str,
                        period: Period, lookups: Mapping[str, pl.DataFrame | None] | None = None,
                        policy: Policy = "strict", hold_missing: bool = True,
                        max_text_chars: int = DEFAULT_MAX_TEXT_CHARS) -> ValidationResult:
    """Validate a parsed submission; see `_validate` and SPEC §5. The result carries how the
    file was read (`layout`) on to the clerk report. A cell longer than `max_text_chars`
    is a row error (`text_too_long`)."""
    result = _validate(parsed, contract, county_code=county_code, period=period, lookups=lookups,
                       policy=policy, hold_missing=hold_missing, max_text_chars=max_text_chars)
    result.layout = finalise_layout(parsed.layout)  # its preview shows cells as typed
    return result


def _validate(
    parsed: ParsedSubmission,
    contract: Contract,
    *,
    county_code: str,
    period: Period,
    lookups: Mapping[str, pl.DataFrame | None] | None = None,
    policy: Policy = "strict",
    hold_missing: bool = True,
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
) -> ValidationResult:
    """Validate a parsed submission; see the module docstring and SPEC §5.

    `lookups` maps lookup names (`schemas.lookups.LOOKUPS`) to frames; a lookup that is
    absent or None falls back to its default, else its rules are skipped. When the contract
    is held until a lookup (`hold_until`) and that lookup is absent or None, the submission
    is WAITING (every row held), unless `hold_missing` is False (`countyflow check`), in
    which case the rules needing it are skipped. An empty frame means "the registry exists
    and has no such rows": nothing is held and the rules run.
    """
    rows_in = parsed.rows_in
    resolved = resolve_lookups(contract, lookups)
    if hold_missing and contract.hold_until is not None and resolved.get(contract.hold_until) is None:
        return _result(SubmissionStatus.WAITING, _empty_valid(contract), _ordered([parsed.issues]),
                       rows_in=rows_in, rows_loaded=0, rows_rejected=0, rows_held=rows_in)

    missing = [name for name in contract.required_columns if name not in parsed.frame.columns]
    if missing:
        return reject_submission(
            SubmissionRejected("required_column_missing", ", ".join(missing),
                               column=", ".join(missing)),
            rows_in, contract=contract, issues=parsed.issues,
        )

    raw = parsed.frame
    typed, value_issues = normalise_frame(raw, contract, period=period,
                                          max_text_chars=max_text_chars)
    context, available = add_context(typed, contract, county_code=county_code, period=period,
                                     lookups=resolved)
    duplicates = duplicate_key_issues(typed, raw, contract, value_issues)
    issues = _ordered([
        parsed.issues,
        value_issues,
        duplicates,
        rule_issues(context, raw, contract, available, value_issues),
        total_row_issues(parsed, typed, contract, value_issues, period=period),
    ])

    # Only errors decide: warnings (grouped ones included, which name just their first row)
    # never reject a row or the submission under either policy.
    errors = issues.filter(pl.col("severity") == _ERROR)
    submission_level = (
        errors.filter(pl.col(SOURCE_ROW).is_null()).height > 0
        or duplicates.filter(pl.col("severity") == _ERROR).height > 0
    )
    if submission_level or (policy == "strict" and errors.height > 0):
        return _result(SubmissionStatus.REJECTED, _empty_valid(contract), issues, rows_in=rows_in,
                       rows_loaded=0, rows_rejected=rows_in)

    error_rows = errors.select(SOURCE_ROW).unique()
    valid = typed.join(error_rows, on=SOURCE_ROW, how="anti", maintain_order="left")
    rows_rejected = rows_in - valid.height
    if rows_in > 0 and valid.height == 0:
        status = SubmissionStatus.REJECTED
    elif issues.height > 0:
        status = SubmissionStatus.ACCEPTED_WITH_WARNINGS
    else:
        status = SubmissionStatus.ACCEPTED
    return _result(status, valid, issues, rows_in=rows_in, rows_loaded=valid.height,
                   rows_rejected=rows_rejected)
