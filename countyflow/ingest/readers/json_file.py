"""JSON submissions (the online form): a list of records, or `{"records": [...]}` whose
optional `county_code` / `dataset` / `period` keys must agree with the landing path.

Parsing refuses what `json.loads` would otherwise let through silently or crash on: a key
written twice in one object (the last value would win unseen) is `json_duplicate_key`;
an integer too long for any count is kept as the text it was written as, so the
normaliser reports it like the same digits in a CSV (`count_format` in a count column)
instead of `int()` raising past its 4,300-digit limit; a `\\ud800` escape that pairs with
nothing (a lone surrogate, which no text encoding can write) is `file_unreadable`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import cast

import polars as pl

from countyflow.ingest.model import SOURCE_ROW, ParsedSubmission, SubmissionRejected
from countyflow.ingest.readers.grid import assemble, positional
from countyflow.ingest.readers.text import decode_text, sniff_binary
from countyflow.reference import county_aliases
from schemas.contract import Contract

_HEADER_KEYS = ("county_code", "dataset", "period")
_EXACT_INT_LIMIT = 2**53
_MAX_INT_DIGITS = 18
"""Longer integers are no count (Int64 ends at 19 digits): kept as text, never `int()`-ed."""
_SHOWN_KEY_CHARS = 50
# A `\uD800`…`\uDFFF` escape may decode to a lone surrogate; only then is the check needed.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _unique_object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """`object_pairs_hook`: the object as a dict, refusing a key written twice."""
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return document


def _integer(text: str) -> int | str:
    """`parse_int`: an int, or the digits as written when too long to be any count."""
    return text if len(text) > _MAX_INT_DIGITS else int(text)


def parse_document(text: str) -> object:
    """The JSON document, or `SubmissionRejected` (never another exception) for any text."""
    try:
        document = json.loads(text, object_pairs_hook=_unique_object, parse_int=_integer)
    except _DuplicateKey as duplicate:
        shown = duplicate.key[:_SHOWN_KEY_CHARS] + ("…" if len(duplicate.key) > _SHOWN_KEY_CHARS else "")
        # A key may itself hold a lone surrogate: escaped, as reports must be writable text.
        shown = shown.encode("utf-8", "backslashreplace").decode("utf-8")
        raise SubmissionRejected("json_duplicate_key", f"“{shown}”", value=shown) from None
    except (json.JSONDecodeError, RecursionError, ValueError) as error:
        raise SubmissionRejected("file_unreadable", f"JSON: {error}"[:200]) from None
    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(document, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise SubmissionRejected(
                "file_unreadable", "JSON 含有无法成对的 \\u 转义字符（代理项） / "
                "JSON holds a \\u escape of an unpaired surrogate") from None
        except (RecursionError, ValueError) as error:
            raise SubmissionRejected("file_unreadable", f"JSON: {error}"[:200]) from None
    return document


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
    records = _records(parse_document(text), expected)
    if not records:
        raise SubmissionRejected("empty_file")
    bad = next((index for index, record in enumerate(records, 1) if not isinstance(record, dict)), None)
    if bad is not None:
        raise SubmissionRejected("json_shape", f"record {bad} is not an object")
    objects = cast(list[dict[str, object]], records)  # each one checked to be a dict just above
    keys: dict[str, None] = {}
    for record in objects:
        keys.update(dict.fromkeys(record))
    header = list(keys)
    if len(header) > max_columns:
        raise SubmissionRejected("too_many_columns", f"{len(header)} > {max_columns}")
    columns = {
        positional(index): pl.Series([value_text(record.get(key)) for record in objects],
                                     dtype=pl.Utf8)
        for index, key in enumerate(header)
    }
    body = pl.DataFrame(columns).with_columns(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(SOURCE_ROW))
    return assemble(header, body, contract, spreadsheet=False)
