"""CSV submissions: find the header in the first records, let Polars parse the body.

Only the first few records (titles and the header) go through Python's `csv` module;
the body is parsed by Polars as all-text columns. `source_row` is the file's own line
number where the record starts (header counted), so a clerk can find it in a text
editor; records whose quoted fields contain line breaks are accounted for.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator

import polars as pl

from countyflow.ingest.model import SOURCE_ROW, ParsedSubmission, SubmissionRejected
from countyflow.ingest.readers.grid import assemble, cell_columns, positional
from countyflow.ingest.readers.headers import HEADER_SEARCH_ROWS, find_header, header_lookup
from countyflow.ingest.readers.text import UTF8_BOM, decode_text, sniff_binary
from schemas.contract import Contract

SEPARATOR = ","
QUOTE = '"'
# A header line may hide separators inside quotes; past this many raw separators per
# allowed column it is rejected without splitting it (bounded time and memory).
_HIDDEN_SEPARATOR_SLACK = 4


def _lines(text: str, max_columns: int) -> Iterator[str]:
    """The text's lines, lazily (no copy of the whole text), each checked for width first."""
    start, size = 0, len(text)
    while start < size:
        end = text.find("\n", start)
        end = size if end < 0 else end + 1
        line = text[start:end]
        separators = line.count(SEPARATOR)
        if separators + 1 > max_columns and (
            QUOTE not in line or separators + 1 > max_columns * _HIDDEN_SEPARATOR_SLACK
        ):
            raise SubmissionRejected("too_many_columns", f"> {max_columns}")
        yield line
        start = end


def top_records(text: str, *, max_columns: int,
                limit: int = HEADER_SEARCH_ROWS) -> tuple[list[list[str]], list[int]]:
    """The first `limit` records and, for each, the number of lines read through its end."""
    records: list[list[str]] = []
    ends: list[int] = []
    reader = csv.reader(_lines(text, max_columns), delimiter=SEPARATOR, quotechar=QUOTE)
    try:
        for record in reader:
            if len(record) > max_columns:
                raise SubmissionRejected("too_many_columns", f"{len(record)} > {max_columns}")
            records.append(record)
            ends.append(reader.line_num)
            if len(records) == limit:
                break
    except csv.Error as error:
        raise SubmissionRejected("file_unreadable", f"line {reader.line_num}: {error}") from None
    return records, ends


def _polars_body(payload: bytes, *, skip_lines: int, width: int) -> pl.DataFrame:
    """Records after the header parsed by Polars as text columns, with starting line numbers."""
    schema = {positional(index): pl.Utf8 for index in range(width + 1)}
    body = pl.read_csv(
        payload, has_header=False, skip_lines=skip_lines, schema=schema,
        separator=SEPARATOR, quote_char=QUOTE, truncate_ragged_lines=True,
        missing_columns="insert", raise_if_empty=False, infer_schema=False,
    )
    line = pl.int_range(pl.len(), dtype=pl.Int64) + skip_lines + 1
    if QUOTE.encode() in payload:
        # Lines each record occupies beyond its first: newlines inside quoted fields.
        extra = pl.sum_horizontal(
            pl.col(name).str.count_matches("\n", literal=True).fill_null(0)
            for name in cell_columns(body)
        )
        line = line + extra.cum_sum() - extra
    return body.with_columns(line.alias(SOURCE_ROW))


def _lenient_body(text: str, *, skip_records: int, width: int, max_columns: int) -> pl.DataFrame:
    """The same frame parsed by Python's lenient `csv` module.

    Fallback only, for files Polars refuses because a value *starts* with a quote that
    closes before the value ends: `"3+2"高本贯通` typed by hand (Excel would have quoted
    the whole value and doubled the inner quotes). Python reads it as `3+2高本贯通`, which
    the track aliases accept. Runs per record in Python, so it is not the normal path.
    """
    reader = csv.reader(_lines(text, max_columns), delimiter=SEPARATOR, quotechar=QUOTE)
    rows: list[list[str | None]] = []
    starts: list[int] = []
    previous_end = 0
    for number, record in enumerate(reader):
        start, previous_end = previous_end + 1, reader.line_num
        if number < skip_records:
            continue
        cells: list[str | None] = [value or None for value in record[: width + 1]]
        rows.append(cells + [None] * (width + 1 - len(cells)))
        starts.append(start)
    schema = {positional(index): pl.Utf8 for index in range(width + 1)}
    return pl.DataFrame(rows, schema=schema, orient="row").with_columns(
        pl.Series(SOURCE_ROW, starts, dtype=pl.Int64))


def _body(payload: bytes, text: str, *, header_index: int, skip_lines: int, width: int,
          max_columns: int) -> pl.DataFrame:
    """Records after the header as text columns `c0…`, with their starting line numbers.

    One extra column catches fields beyond the header's width: in a CSV that means the
    row does not line up with the header (typically an unquoted `1,234`), and guessing
    which value belongs where would corrupt data, so the file is rejected.
    """
    try:
        body = _polars_body(payload, skip_lines=skip_lines, width=width)
    except pl.exceptions.PolarsError as error:
        # Quotes always pair up in a well-formed file (escaped ones are doubled); an odd
        # count means a quoted value never closes, and a lenient parser would swallow
        # every following line into it, so that file is refused rather than guessed at.
        if text.count(QUOTE) % 2:
            raise SubmissionRejected(
                "file_unreadable", "引号未闭合 / a quoted value is never closed") from None
        try:
            body = _lenient_body(text, skip_records=header_index + 1, width=width,
                                 max_columns=max_columns)
        except csv.Error:
            raise SubmissionRejected(
                "file_unreadable", str(error).splitlines()[0][:200]) from None
    overflow = positional(width)
    ragged = body.filter(pl.col(overflow).is_not_null() & (pl.col(overflow) != ""))
    if ragged.height:
        line = ragged[SOURCE_ROW][0]
        raise SubmissionRejected(
            "file_unreadable",
            f"第 {line} 行的字段数多于表头（数值中的逗号须加引号） / line {line} has more fields "
            "than the header (a comma inside a value must be quoted)",
        )
    return body.drop(overflow)


def read_csv(data: bytes, contract: Contract, *, max_columns: int,
             county_code: str | None = None) -> ParsedSubmission:
    """Read a CSV submission (UTF-8 with or without BOM, else GB18030)."""
    sniff_binary(data, "csv")
    text, encoding = decode_text(data)
    if not text.strip():
        raise SubmissionRejected("empty_file")
    records, ends = top_records(text, max_columns=max_columns)
    lookup = header_lookup(contract)
    header_index = find_header(records, lookup)
    header = list(records[header_index])
    # Polars needs UTF-8: reuse the bytes when they already are, re-encode otherwise.
    if encoding == "utf-8":
        payload = data[len(UTF8_BOM):] if data.startswith(UTF8_BOM) else data
    else:
        payload = text.encode("utf-8")
    body = _body(payload, text, header_index=header_index, skip_lines=ends[header_index],
                 width=len(header), max_columns=max_columns)
    return assemble(header, body, contract, lookup=lookup, county_code=county_code)
