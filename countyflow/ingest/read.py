"""Read one submission's bytes into text columns named by its contract (SPEC §3).

This is the file edge of ingest: it never types or validates values (the normaliser
and validator do), it only finds the table in the file, maps headers to canonical
columns, drops personal columns, and rejects files that cannot or must not be read.
Every value comes back as a string, with `source_row` pointing at the row a clerk sees.
"""

from __future__ import annotations

from collections.abc import Mapping

from countyflow.ingest.model import ParsedSubmission, SubmissionRejected
from countyflow.ingest.readers.csv_file import read_csv
from countyflow.ingest.readers.json_file import read_json
from countyflow.ingest.readers.xlsx_file import read_xlsx
from countyflow.periods import InvalidPeriod, Period, parse_period
from schemas.contract import Contract

SUPPORTED_EXTENSIONS = ("csv", "xlsx", "json")


def normalise_extension(extension: str) -> str:
    """`.XLSX` / `xlsx` → `xlsx`."""
    return extension.strip().lstrip(".").lower()


def read_submission(data: bytes, *, extension: str, contract: Contract,
                    expected: Mapping[str, str] | None = None, max_cells: int,
                    max_columns: int) -> ParsedSubmission:
    """Parse a submission file into a `ParsedSubmission` of text columns.

    `expected` holds `county_code`, `dataset` and `period` from the landing path; JSON
    header keys are checked against it, the period picks a workbook's month sheet, and
    the county stands in for a county column the file does not have. `max_cells` bounds a spreadsheet's expanded
    size and `max_columns` any file's width. Raises `SubmissionRejected` for every
    submission-level problem; nothing else is expected to escape for any input bytes.
    """
    kind = normalise_extension(extension)
    if kind not in SUPPORTED_EXTENSIONS:
        raise SubmissionRejected("unsupported_extension", f".{kind}" if kind else "",
                                 value=f".{kind}" if kind else None)
    if not data:
        raise SubmissionRejected("empty_file")
    county_code = (expected or {}).get("county_code") or None
    if kind == "csv":
        return read_csv(data, contract, max_columns=max_columns, county_code=county_code)
    if kind == "xlsx":
        return read_xlsx(data, contract, max_cells=max_cells, max_columns=max_columns,
                         period=_period(expected), county_code=county_code)
    return read_json(data, contract, expected=expected, max_columns=max_columns)


def _period(expected: Mapping[str, str] | None) -> Period | None:
    label = (expected or {}).get("period")
    if not label:
        return None
    try:
        return parse_period(label)
    except InvalidPeriod:
        return None
