"""The quality gate task: Great Expectations over the loaded warehouse.

`check_warehouse` runs the checks and publishes a markdown artifact (failures, link to
Data Docs); `enforce_quality_gate` then fails the flow run when an error-severity
expectation failed. They are two steps so that the flow publishes its run summary in
between: an operator looking at a failed run still finds what it loaded.
`settings.run_quality_checks = False` skips the checks without importing GX (which
takes seconds).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger

from countyflow.pipeline import SubmissionOutcome
from countyflow.settings import Settings
from tasks.resources import warehouse_engine
from warehouse.expectations import (
    Check,
    CheckResult,
    QualityReport,
    build_checks,
    checks_after_loading,
)
from warehouse.models import ACCEPTED_STATUSES
from warehouse.quality import run_quality_checks

ARTIFACT_KEY = "countyflow-quality"
Logger = logging.Logger | logging.LoggerAdapter[logging.Logger]


class QualityGateError(RuntimeError):
    """An error-severity expectation failed on the loaded warehouse."""


@task(retries=0)
def check_warehouse(
    settings: Settings, *, outcomes: Sequence[SubmissionOutcome] | None = None
) -> QualityReport:
    """Validate the warehouse; the report says whether the gate passed (see
    `enforce_quality_gate`).

    The gate's cost follows the change: with the run's `outcomes`, a run that processed
    nothing left the warehouse as the last checked run left it and is not checked; one
    that did repeats the checks its loads can affect (`checks_after_loading`). Without
    outcomes every check runs."""
    log = _logger()
    if not settings.run_quality_checks:
        log.info("quality checks skipped (run_quality_checks = false)")
        return QualityReport(skipped=True)
    if outcomes is not None and not outcomes:
        log.info("quality checks skipped: nothing new was loaded, the warehouse did not change")
        return QualityReport(skipped=True)

    scope = {} if outcomes is None else {"checks": _checks_for(outcomes, log)}
    report = run_quality_checks(
        warehouse_engine(settings),
        docs_dir=settings.data_docs_dir,
        severities=settings.quality_severities,
        **scope,
    )
    create_markdown_artifact(
        key=ARTIFACT_KEY, markdown=quality_markdown(report),
        description="Warehouse quality gate (Great Expectations)",
    )
    for result in report.failed_warnings:
        log.warning("quality warning: %s", result.summary())
    if report.failed_errors:
        log.error("quality gate failed:\n%s", report.failure_message())
    else:
        log.info("quality gate passed: %d expectations", len(report.results))
    return report


def _checks_for(outcomes: Sequence[SubmissionOutcome], log: Logger) -> tuple[Check, ...]:
    every = build_checks()
    loaded = sorted({o.dataset for o in outcomes if o.status in ACCEPTED_STATUSES})
    checks = checks_after_loading(every, loaded)
    log.info("quality gate: %d of %d checks (facts loaded this run: %s)",
             len(checks), len(every), ", ".join(loaded) or "none")
    return checks


@task(retries=0)
def enforce_quality_gate(report: QualityReport) -> None:
    """Raise `QualityGateError` (failing the flow run) if an error-severity check failed."""
    if report.failed_errors:
        raise QualityGateError(report.failure_message())


def quality_markdown(report: QualityReport) -> str:
    """The artifact: a summary line, a table of failures, the Data Docs link."""
    total, errors, warnings = (
        len(report.results), len(report.failed_errors), len(report.failed_warnings)
    )
    status = "FAILED" if errors else "passed"
    lines = [
        f"# Warehouse quality gate: {status}",
        "",
        f"{total} expectations: {total - errors - warnings} passed, "
        f"{errors} error{'s' if errors != 1 else ''} failed, "
        f"{warnings} warning{'s' if warnings != 1 else ''} failed.",
    ]
    if report.failed:
        lines += [
            "",
            "| severity | table | column | unexpected rows | expectation | detail |",
            "|---|---|---|---|---|---|",
        ]
        lines += [_row(r) for r in sorted(report.failed, key=lambda r: (r.severity, r.name))]
    if report.docs_index is not None:
        lines += ["", f"Data Docs: [{report.docs_index}]({report.docs_index.resolve().as_uri()})"]
    return "\n".join(lines)


def _row(result: CheckResult) -> str:
    count = "not evaluated" if result.unexpected_count is None else str(result.unexpected_count)
    cells = (result.severity, result.table, result.column or "", count, result.name,
             result.detail or "")
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _logger() -> Logger:
    try:
        return get_run_logger()
    except MissingContextError:  # called as a plain function (tests, scripts)
        return logging.getLogger(__name__)
