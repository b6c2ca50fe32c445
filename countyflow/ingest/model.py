"""Value objects passed between ingest steps (and between Prefect tasks).

`SubmissionRef` is small and serialisable: tasks pass it, never big frames. Issues are
Polars frames with `ISSUE_SCHEMA`, one row per problem, so reports and the audit table
are built from them with no per-row Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

import polars as pl

from schemas.contract import COMMON_RULES, Severity

SOURCE_ROW = "source_row"

ISSUE_SCHEMA: dict[str, type[pl.DataType]] = {
    "source_row": pl.Int64,
    "column": pl.Utf8,
    "value": pl.Utf8,
    "rule": pl.Utf8,
    "severity": pl.Utf8,
    "message_zh": pl.Utf8,
    "message_en": pl.Utf8,
}


class SubmissionStatus(StrEnum):
    ACCEPTED = "accepted"
    ACCEPTED_WITH_WARNINGS = "accepted_with_warnings"
    REJECTED = "rejected"
    WAITING = "waiting"
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class SubmissionRef:
    """One file in the landing zone: where it is, what its path says, its SHA-256.

    `path_error` is the rule id of a problem found in the path itself (unknown county,
    dataset or period, wrong layout); such a submission is rejected without parsing.
    """

    submission_id: str
    source_url: str
    relative_path: str
    county_code: str
    dataset: str
    period: str
    file_name: str
    extension: str
    size_bytes: int
    modified_at: datetime
    archive_path: str
    path_error: str | None = None

    def sort_key(self) -> tuple[datetime, str]:
        """Order of submissions within a partition: later mtime is newer, ties by name."""
        return (self.modified_at, self.file_name)


IGNORED_REASONS: dict[str, tuple[str, str]] = {
    "symlink": ("符号链接，不跟随读取", "symbolic link, not followed"),
    "not_a_file": ("不是普通文件", "not a regular file"),
    "lock_file": ("Office 临时锁定文件（~$…）", "Office lock or temporary file (~$…)"),
    "hidden": ("隐藏文件或隐藏文件夹", "hidden file or folder"),
    "hidden_folder": ("隐藏文件夹中的数据文件未读取，如需报送请移出该文件夹",
                      "data file inside a hidden folder, not read; move it out to submit it"),
    "os_metadata": ("操作系统生成的文件", "operating-system metadata"),
    "partial_transfer": ("未传完的文件", "unfinished download or upload"),
}
"""Why discovery skipped an entry (`IgnoredEntry.reason`): Chinese and English."""


@dataclass(frozen=True)
class IgnoredEntry:
    """A landing-zone entry discovery did not treat as a submission, and why, for the run
    summary: nothing in the landing zone disappears without a trace.

    `reason` is a key of `IGNORED_REASONS`. `warning` is set
    when the entry looks like a real submission an operator should look at (a data file
    inside a hidden folder such as `.2019-winter/`).
    """

    relative_path: str
    reason: str
    warning: bool = False


class SubmissionRejected(Exception):
    """A submission-level error: the whole file is rejected, nothing of it loaded."""

    def __init__(self, rule: str, detail: str = "", *, column: str | None = None,
                 value: str | None = None) -> None:
        self.rule = rule
        self.detail = detail
        self.column = column
        self.value = value
        text = COMMON_RULES[rule]
        super().__init__(f"{text.message_en}{': ' + detail if detail else ''}")

    def issues(self) -> pl.DataFrame:
        text = COMMON_RULES[self.rule]
        suffix = f"：{self.detail}" if self.detail else ""
        return issues_frame([{
            "source_row": None, "column": self.column, "value": self.value, "rule": self.rule,
            "severity": Severity.ERROR.value,
            "message_zh": text.message_zh + suffix,
            "message_en": text.message_en + (f": {self.detail}" if self.detail else ""),
        }])


def issues_frame(rows: list[dict[str, object]] | None = None) -> pl.DataFrame:
    """An issues frame (possibly empty) with the canonical schema and column order."""
    return pl.DataFrame(rows or [], schema=ISSUE_SCHEMA)


def common_issue(rule: str, *, column: str | None = None, value: str | None = None,
                 source_row: int | None = None, detail: str = "") -> dict[str, object]:
    """One issue row for a rule of `COMMON_RULES`."""
    text = COMMON_RULES[rule]
    return {
        "source_row": source_row, "column": column, "value": value, "rule": rule,
        "severity": text.severity.value,
        "message_zh": text.message_zh + (f"：{detail}" if detail else ""),
        "message_en": text.message_en + (f": {detail}" if detail else ""),
    }


SHEET_ROW_STRIDE = 10_000_000
"""Above Excel's 1,048,576 rows: keeps `source_row` unique across the parts of a read —
the sheets read together, and a wide form's category columns (each unpivoted row keeps
its sheet row, in the part of its column); `ReadLayout.row_parts` names the parts."""


def sheet_row(source_row: int) -> tuple[int, int]:
    """(0-based sheet index among the sheets read, the sheet's own row number)."""
    return divmod(source_row, SHEET_ROW_STRIDE)


@dataclass(frozen=True)
class SkippedPart:
    """Something in a spreadsheet that was deliberately not read as data, for the clerk report.

    `kind` is one of `sheet`, `hidden_rows`, `hidden_columns`, `subtotal_rows`, `total_rows`,
    `notes_rows`; `where` names it: a sheet name, or sheet rows / columns as ranges
    (`5–9, 12`); `reason_zh` / `reason_en` say why it was skipped.
    """

    kind: str
    where: str
    reason_zh: str
    reason_en: str


@dataclass(frozen=True)
class ReadLayout:
    """How a spreadsheet was read: which sheet(s), which header row(s), what was skipped,
    and the first rows of the table as read (contract columns only, so no personal data).

    `header_rows` are 1-based sheet row numbers. `preview_header` holds the header text of
    each previewed column as the file wrote it (merged header rows joined), and
    `preview_rows` the first data rows' cell texts in the same column order, each row
    starting with its sheet row number.
    """

    sheets: tuple[str, ...] = ()
    header_rows: tuple[int, ...] = ()
    skipped: tuple[SkippedPart, ...] = ()
    preview_header: tuple[str, ...] = ()
    preview_rows: tuple[tuple[str | None, ...], ...] = ()
    row_parts: tuple[str, ...] = ()
    """What each `source_row // SHEET_ROW_STRIDE` stands for: a sheet read, or for a wide
    form one category column of it (`Sheet1（大学生志愿者）`), so a report can say where."""


@dataclass
class ParsedSubmission:
    """A file read into text: canonical column names, every value a string, plus `source_row`.

    `source_row` is the spreadsheet's own row number (1-based, header rows counted) or the
    CSV line number, so a clerk can find the row; when several sheets are read together,
    the rows of the k-th sheet (0-based) are numbered `k × SHEET_ROW_STRIDE + row`
    (`sheet_row` splits them again). PII columns are already dropped. `issues` holds
    file-level warnings (e.g. unknown columns). `total_row` holds the spreadsheet's
    合计/小计 rows (same columns, raw text, with `source_row`, `total_kind` = `total` or
    `subtotal`, and the `scope_first`..`scope_last` source rows they sum), kept out of
    `frame`; validation reconciles them once values are typed.
    """

    frame: pl.DataFrame
    issues: pl.DataFrame
    total_row: pl.DataFrame | None = None
    layout: ReadLayout | None = None
    row_totals: pl.DataFrame | None = None
    """A wide form's row-total column (`source_row`, `total` text), reconciled per row."""

    @property
    def rows_in(self) -> int:
        return self.frame.height


@dataclass(frozen=True)
class RowCounts:
    """Where one submission's rows went and how many problems it had: the one counts type
    from validation through staging and the ledger to the run summary (whose columns and
    the ledger's are these fields).

    Rows are conserved (CONTRIBUTING rule 8, and the ledger's `rows_conserved` CHECK):
    rows_in == rows_loaded + rows_rejected + rows_held; a count that breaks it, or is
    negative, is refused here, where it is made, not when the ledger refuses the row.
    """

    rows_in: int
    rows_loaded: int
    rows_rejected: int
    rows_held: int
    errors: int
    warnings: int

    def __post_init__(self) -> None:
        if min(self.rows_in, self.rows_loaded, self.rows_rejected, self.rows_held,
               self.errors, self.warnings) < 0:
            raise ValueError(f"negative count: {self}")
        if self.rows_in != self.rows_loaded + self.rows_rejected + self.rows_held:
            raise ValueError(f"row conservation violated (rows_in = rows_loaded + "
                             f"rows_rejected + rows_held): {self}")

    @classmethod
    def from_issues(cls, issues: pl.DataFrame, *, rows_in: int, rows_loaded: int,
                    rows_rejected: int, rows_held: int = 0) -> RowCounts:
        """The counts of a result with these rows and `issues` (an `ISSUE_SCHEMA` frame):
        errors and warnings are its issues of each severity, every one of them (the issues
        stored or reported may be capped, these counts never are)."""
        severity = issues["severity"]
        return cls(
            rows_in=rows_in, rows_loaded=rows_loaded, rows_rejected=rows_rejected,
            rows_held=rows_held,
            errors=int((severity == Severity.ERROR.value).sum()),
            warnings=int((severity == Severity.WARNING.value).sum()),
        )


class Verdict(Protocol):
    """What the ledger records of a processed submission: its status, its issues and its
    counts. A `ValidationResult` is one; so is a staged submission handed between tasks
    (`countyflow.pipeline.StagedSubmission`, its issues read back from their file)."""

    @property
    def status(self) -> SubmissionStatus: ...
    @property
    def issues(self) -> pl.DataFrame: ...
    @property
    def counts(self) -> RowCounts: ...


@dataclass
class ValidationResult:
    """The outcome of validating one submission against its contract.

    `valid` holds typed rows to load (contract columns + `source_row`); `counts` are made
    from `issues` (`RowCounts.from_issues`), so they agree.
    """

    status: SubmissionStatus
    valid: pl.DataFrame
    issues: pl.DataFrame
    counts: RowCounts
    layout: ReadLayout | None = None
    """How the file was read (spreadsheets only), carried to the clerk report."""
