"""JSON submissions (the online form): a list of records, or `{"records": [...]}` whose
optional `county_code` / `dataset` / `period` keys must agree with the landing path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import polars as pl

from countyflow.ingest.model import SOURCE_ROW, ParsedSubmission, SubmissionRejected
from countyflow.ingest.readers.grid import assemble, positional
from countyflow.ingest.readers.text import decode_text, sniff_binary
from countyflow.reference import county_aliases
from schemas.contract import Contract

_HEADER_KEYS = ("county_code", "dataset", "period")
_EXACT_INT_LIMIT = 2**53


def value_text(value: object) -> str | None:
    """A JSON value as text: integral numbers without `.0`, null stays null.

    Nested objects/lists are kept as compact JSON text, so the value is reported as
    written rather than silently dropped.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < _EXACT_INT_LIMIT:
            return str(int(value))
        return repr(value)
    if isinstance(value, str):
        return value or None
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _county_code(value: str) -> str | None:
    aliases = county_aliases()
    match = aliases.filter(pl.col("alias") == value.strip().lower())
    return match["county_code"].item() if match.height else None


def check_header(document: Mapping[str, object], expected: Mapping[str, str] | None) -> None:
    """The optional header keys must agree with the path; the county may be any alias."""
    if not expected:
        return
    for key in _HEADER_KEYS:
        if key not in document or document[key] is None or key not in expected:
            continue
        written = str(document[key]).strip()
        wanted = str(expected[key]).strip()
        if key == "county_code":
            code = _county_code(written)
            agrees = code is not None and code == (_county_code(wanted) or wanted)
        else:
            agrees = written == wanted
        if not agrees:
            raise SubmissionRejected(
                "json_header_mismatch", f"{key}: {written} ≠ {wanted}", column=key, value=written)


def _records(document: object, expected: Mapping[str, str] | None) -> list[object]:
    if isinstance(document, list):
        return document
    if isinstance(document, dict) and "records" in document:
        check_header(document, expected)
        records = document["records"]
        if isinstance(records, list):
            return records
        raise SubmissionRejected("json_shape", "records is not a list")
    raise SubmissionRejected("json_shape")


def read_json(data: bytes, contract: Contract, *, expected: Mapping[str, str] | None = None,
              max_columns: int) -> ParsedSubmission:
    """Read a JSON submission; `source_row` is the 1-based record index.

    `json.loads` already materialises every value as a Python object, so the text
    conversion is a comprehension over those objects; online-form submissions are small.
    """
    sniff_binary(data, "json")
    text, _ = decode_text(data)
    if not text.strip():
        raise SubmissionRejected("empty_file")
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise SubmissionRejected("file_unreadable", f"JSON: {error}"[:200]) from None
    records = _records(document, expected)
    if not records:
        raise SubmissionRejected("empty_file")
    bad = next((index for index, record in enumerate(records, 1) if not isinstance(record, dict)), None)
    if bad is not None:
        raise SubmissionRejected("json_shape", f"record {bad} is not an object")
    keys: dict[str, None] = {}
    for record in records:
        keys.update(dict.fromkeys(record))  # type: ignore[arg-type]
    header = list(keys)
    if len(header) > max_columns:
        raise SubmissionRejected("too_many_columns", f"{len(header)} > {max_columns}")
    columns = {
        positional(index): pl.Series([value_text(record.get(key)) for record in records],  # type: ignore[union-attr]
                                     dtype=pl.Utf8)
        for index, key in enumerate(header)
    }
    body = pl.DataFrame(columns).with_columns(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(SOURCE_ROW))
    return assemble(header, body, contract, spreadsheet=False)
