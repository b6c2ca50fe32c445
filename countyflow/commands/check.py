"""`countyflow check`: validate one file against its contract without touching the warehouse.

Rules that need a warehouse lookup (site registry, surgery history) are skipped and the
submission is never held; everything else is checked exactly as the pipeline would.
Exit codes: 0 no errors (warnings allowed), 1 errors, 2 usage problems.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.markup import escape

from countyflow.commands.console import console as default_console
from countyflow.ingest.discover import decode_name
from countyflow.ingest.model import SubmissionRejected, ValidationResult
from countyflow.ingest.report import (
    STATUS_ZH,
    render_read_table,
    render_report_table,
    write_report,
)
from countyflow.ingest.validate import reject_submission, validate_submission
from countyflow.periods import InvalidPeriod, Period, parse_period
from countyflow.reference import county_aliases, county_name
from countyflow.settings import Settings
from schemas import CONTRACTS
from schemas.contract import Contract

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2
REPORT_SUFFIXES = (".json", ".html", ".htm", ".xlsx")


class UsageProblem(Exception):
    """A problem with the command line, not with the file: exit 2."""


def resolve_county(text: str) -> str:
    """County code for a code, full name, short name or pinyin (case-insensitive)."""
    aliases = county_aliases()
    match = aliases.filter(pl.col("alias") == text.strip().lower())
    if match.height == 0:
        raise UsageProblem(f"未知县区 unknown county {text!r}; use a code, name or pinyin, "
                           "e.g. 530602, 昭阳区, zhaoyang")
    return str(match["county_code"].item(0))


def resolve_dataset(name: str) -> Contract:
    contract = CONTRACTS.get(name.strip())
    if contract is None:
        known = ", ".join(sorted(CONTRACTS))
        raise UsageProblem(f"未知数据集 unknown dataset {name!r}; known datasets: {known}")
    return contract


def resolve_period(label: str, contract: Contract) -> Period:
    try:
        period = parse_period(label.strip())  # a stray space on a command line is no typo
    except InvalidPeriod as exc:
        raise UsageProblem(f"报送期无效 {exc}") from exc
    if period.kind not in contract.period_kinds:
        kinds = ", ".join(sorted(kind.value for kind in contract.period_kinds))
        raise UsageProblem(f"报送期类型与数据集不符 period {label!r} is a {period.kind.value}; "
                           f"{contract.dataset} takes: {kinds}")
    return period


def _read_bytes(path: Path, settings: Settings) -> bytes:
    """The file's bytes; UsageProblem if it cannot be opened, SubmissionRejected if too large."""
    if not path.exists():
        raise UsageProblem(f"文件不存在 file not found: {path}")
    if path.is_dir():
        raise UsageProblem(f"这是一个目录，不是文件 is a directory, not a file: {path}")
    try:
        size = path.stat().st_size
        if size > settings.max_file_bytes:
            raise SubmissionRejected(
                "file_too_large", f"{size} > {settings.max_file_bytes} bytes")
        return path.read_bytes()
    except OSError as exc:
        raise UsageProblem(f"无法读取文件 cannot read {path}: {exc.strerror or exc}") from exc


def summary_line(result: ValidationResult) -> str:
    status, counts = str(result.status), result.counts
    return (
        f"状态 status: {STATUS_ZH.get(status, status)} ({status}) · "
        f"读入 rows in: {counts.rows_in} · 有效 valid: {counts.rows_loaded} · "
        f"退回 rejected: {counts.rows_rejected} · 错误 errors: {counts.errors} · "
        f"警告 warnings: {counts.warnings}"
    )


def check_file(path: Path, *, dataset: str, county: str, period: str,
               report_path: Path | None, settings: Settings,
               console: Console | None = None) -> int:
    """Validate `path` as `dataset` from `county` for `period`; print the report.

    Returns 1 when the file has errors, 0 otherwise, 2 for usage problems (unknown
    dataset, county or period, unreadable path, unsupported report format).
    """
    out = console or default_console
    try:
        contract = resolve_dataset(dataset)
        county_code = resolve_county(county)
        the_period = resolve_period(period, contract)
        if report_path is not None and report_path.suffix.lower() not in REPORT_SUFFIXES:
            raise UsageProblem(f"报告格式不支持 unsupported report format {report_path.suffix!r}; "
                               "use .json, .html or .xlsx")
        result, submission_id = _validate(path, contract, county_code, the_period, settings)
    except UsageProblem as exc:
        out.print(f"[red]{escape(str(exc))}[/]")
        return EXIT_USAGE

    # A name that is not UTF-8 (a GBK name from a Windows zip tool) is shown as the run
    # shows it: decoded as GB18030, else its bytes escaped; never as unprintable surrogates.
    file_name = decode_name(path.name)[0]
    header = {
        "file_name": file_name,
        "county_code": county_code,
        "county_name": county_name(county_code),
        "dataset": contract.dataset,
        "period": the_period.label,
        "submission_id": submission_id,
    }
    out.print(f"{escape(file_name)} — {contract.title_zh} {escape(contract.title_en)} · "
              f"{header['county_name']} ({county_code}) · {the_period.label}")
    read = render_read_table(result.layout)
    if read is not None:
        out.print(read)
    if result.issues.height:
        out.print(render_report_table(result, contract,
                                      max_issue_rows=settings.max_issue_rows_per_rule))
    style = "red" if result.counts.errors else ("yellow" if result.counts.warnings else "green")
    out.print(f"[{style}]{escape(summary_line(result))}[/]")
    if report_path is not None:
        written = write_report(result, header, report_path, contract,
                               max_issue_rows=settings.max_issue_rows_per_rule)
        out.print(f"报告已写入 report written: {escape(str(written))}")
    return EXIT_ERRORS if result.counts.errors else EXIT_OK


def _validate(path: Path, contract: Contract, county_code: str, period: Period,
              settings: Settings) -> tuple[ValidationResult, str | None]:
    try:
        data = _read_bytes(path, settings)
    except SubmissionRejected as exc:
        return reject_submission(exc, contract=contract), None
    submission_id = hashlib.sha256(data).hexdigest()
    # lazy: the reader pulls in the spreadsheet libraries.
    from countyflow.ingest.read import read_submission

    try:
        parsed = read_submission(
            data, extension=path.suffix.lower().lstrip("."), contract=contract,
            expected={"county_code": county_code, "dataset": contract.dataset,
                      "period": period.label},
            max_cells=settings.max_sheet_cells, max_columns=settings.max_columns,
        )
    except SubmissionRejected as exc:
        return reject_submission(exc, contract=contract), submission_id
    result = validate_submission(
        parsed, contract, county_code=county_code, period=period, lookups=None,
        policy=settings.policy_for(contract.dataset), hold_missing=False,
        max_text_chars=settings.max_text_chars,
    )
    return result, submission_id
