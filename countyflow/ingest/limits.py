"""Limits on what is stored and shown of a submission's issues: masking, clipping, caps.

An issue echoes what a clerk typed, so a hostile or careless file decides how much of it
is stored and shown. Three bounds, all Polars expressions (no Python per row):

- `mask_pii`: mobile numbers (`1[3-9]` + 9 digits; with spaces or dashes, full-width
  digits, a `+86` prefix), ID-card numbers (17 digits + digit or X) and whatever follows
  a reporter label (`填报人`, `联系人`, `联系电话` …) are masked: `填报人张三13812345678` →
  `填报人**138****5678`. Enough stays for the clerk to find the cell, not the person.
- `clip_text`: a value is echoed up to `VALUE_ECHO_CHARS` characters, then `…` and the
  original length (a 20 MB cell must not become a 20 MB audit row, report or console cell).
- `cap_issues`: per rule × column only the first N issues are listed one by one; one
  summary issue per capped rule × column says how many more there are and on which rows.

Masking and clipping are applied where issues leave validation (`finalise_issues`), so
the audit table, every report format, the console and Prefect artifacts only ever see
the masked, clipped text. Capping is applied where issues are stored or listed (the
audit table, the JSON/XLSX per-issue list): counts, verdicts and row conservation are
decided on the full issue frame before that.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl

from countyflow.ingest.model import SOURCE_ROW, ReadLayout
from schemas.contract import PERSONAL_COLUMNS

VALUE_ECHO_CHARS = 200
"""A value (a cell's text) is echoed up to this many characters."""
TEXT_ECHO_CHARS = 2_000
"""Column names and messages (which may quote a header or a detail) up to this many."""

_DIGIT = "[0-9０-９]"
_NOT_DIGIT = "[^0-9０-９]"
_SEP = r"[\s\-－‐–—]?"  # one optional space or dash between digits: 138 1234 5678
_PREFIX = rf"(?:[(（]?(?:\+|＋|00)?(?:86|８６)[)）]?{_SEP})?"

# Rust's regex has no look-around: a number's edges are captured (start or a non-digit)
# and written back. A separator between two adjacent numbers is consumed by the first
# match, so each pattern runs twice (masked text never matches again: it holds `*`).
_MOBILE = (
    rf"(^|{_NOT_DIGIT})({_PREFIX})([1１]){_SEP}([3-9３-９]){_SEP}({_DIGIT}){_SEP}"
    rf"(?:{_DIGIT}{_SEP}){{4}}({_DIGIT}){_SEP}({_DIGIT}){_SEP}({_DIGIT}){_SEP}({_DIGIT})"
    rf"($|{_NOT_DIGIT})"
)
_MOBILE_MASK = "${1}${2}${3}${4}${5}****${6}${7}${8}${9}${10}"
_ID_CARD = (
    rf"(^|{_NOT_DIGIT})({_DIGIT}{{3}}){_DIGIT}{{11}}({_DIGIT}{{3}}[0-9０-９XxＸｘ])($|{_NOT_DIGIT})"
)
_ID_CARD_MASK = "${1}${2}***********${3}${4}"

_REPORTER_LABELS = sorted(
    {name for column in PERSONAL_COLUMNS if column.name in ("reporter_name", "reporter_phone")
     for name in column.headers if not name.isascii()} | {"联系人", "手机号码", "经办人"},
    key=len, reverse=True,  # the longest label first: 填报人姓名 before 填报人
)
_LABEL = "(" + "|".join(_REPORTER_LABELS) + r")([\s:：]*)"
# After a label: a name (anything up to a digit, a mask or a separator) …
_LABELLED_NAME = _LABEL + r"[^\s:：0-9０-９*,，;；、/|()（）\[\]<>]{1,12}"
# … or a number that is not a mobile (a landline: 0870-2123456), masked whole.
_LABELLED_NUMBER = _LABEL + rf"{_DIGIT}[0-9０-９\s\-－()（）]{{3,}}{_DIGIT}"


def mask_numbers(text: pl.Expr) -> pl.Expr:
    """`text` (a string expression) with mobile and ID-card numbers masked. Idempotent."""
    for pattern, mask in ((_ID_CARD, _ID_CARD_MASK), (_ID_CARD, _ID_CARD_MASK),
                          (_MOBILE, _MOBILE_MASK), (_MOBILE, _MOBILE_MASK)):
        text = text.str.replace_all(pattern, mask)
    return text


def mask_pii(text: pl.Expr) -> pl.Expr:
    """`mask_numbers`, and the text after a reporter label masked; see the module
    docstring. Idempotent. Not for column names: a header `填报人姓名` would read as the
    label `填报人` and the name `姓名` (the regex engine has no look-ahead to tell)."""
    text = mask_numbers(text)
    for pattern, mask in ((_LABELLED_NAME, "${1}${2}**"), (_LABELLED_NUMBER, "${1}${2}****")):
        text = text.str.replace_all(pattern, mask)
    return text


def mask_name(name: str) -> str:
    """A file name or path as it may be stored and shown: mobile and ID-card numbers masked
    (`mask_numbers`), so a clerk's `托管点_张三13812345678.xlsx` reaches the ledger, reports
    and run summary as `托管点_张三138****5678.xlsx`. Not the reporter labels of `mask_pii`:
    in a file name they are words (`联系电话表.xlsx`), not a field someone filled in."""
    if sum(character.isdigit() for character in name) < 11:  # too few for either number
        return name
    names = pl.DataFrame({"name": [name]}, schema={"name": pl.Utf8})
    return str(names.select(mask_numbers(pl.col("name"))).item())


CLIP_SLACK = 48
"""A text at most this much longer than its limit is kept whole: a clipped text (limit +
the note, under 48 characters) is never clipped again, so clipping can run at every
edge that shows a text and still say the original length."""


def clip_text(text: pl.Expr, limit: int) -> pl.Expr:
    """At most `limit` characters, then `…` and the original length: `abc…（共 20971520 字符
    / 20971520 chars）`, so a clerk knows the cell held more than is shown (see
    `CLIP_SLACK`)."""
    length = text.str.len_chars()
    return (
        pl.when(length > limit + CLIP_SLACK)
        .then(pl.concat_str(text.str.slice(0, limit), pl.lit("…（共 "), length.cast(pl.Utf8),
                            pl.lit(" 字符 / "), length.cast(pl.Utf8), pl.lit(" chars）")))
        .otherwise(text)
    )


# What any mask could change: a run of 11 digits (separators allowed) or a label. One
# cheap search picks the few issues worth the ten masking passes.
_CANDIDATE = rf"(?:{_DIGIT}{_SEP}){{10}}{_DIGIT}|" + "|".join(_REPORTER_LABELS)


def finalise_issues(issues: pl.DataFrame) -> pl.DataFrame:
    """Issues as they leave validation: personal data masked, long texts clipped.

    Masked before clipping, so a number cut at the limit is never half shown.
    """
    texts = ("value", "column", "message_zh", "message_en")
    candidate = pl.any_horizontal(
        pl.col(name).str.contains(_CANDIDATE).fill_null(False) for name in texts)
    indexed = issues.with_row_index("_at").with_columns(candidate.alias("_mask"))
    masked = indexed.filter(pl.col("_mask")).with_columns(
        mask_pii(pl.col("value")),
        # A column is an unknown header as the clerk wrote it, or contract names.
        mask_numbers(pl.col("column")),
        mask_pii(pl.col("message_zh")),
        mask_pii(pl.col("message_en")),
    )
    return (
        pl.concat([masked, indexed.filter(~pl.col("_mask"))])
        .sort("_at")
        .drop("_at", "_mask")
        .with_columns(
            clip_text(pl.col("value"), VALUE_ECHO_CHARS),
            *(clip_text(pl.col(name), TEXT_ECHO_CHARS) for name in texts[1:]),
        )
    )


def finalise_layout(layout: ReadLayout | None) -> ReadLayout | None:
    """The read layout with its preview cells (and header texts) masked and clipped like
    issue values: the preview shows cells of the table as read, typed by the clerk."""
    if layout is None:
        return None
    header = _finalise_texts(layout.preview_header, mask_numbers)
    widths = [len(row) for row in layout.preview_rows]
    cells = _finalise_texts([cell for row in layout.preview_rows for cell in row], mask_pii)
    rows: list[tuple[str | None, ...]] = []
    start = 0
    for width in widths:  # a handful of preview rows, not the submission's rows
        rows.append(tuple(cells[start:start + width]))
        start += width
    return ReadLayout(
        sheets=layout.sheets, header_rows=layout.header_rows, skipped=layout.skipped,
        preview_header=tuple(text or "" for text in header), preview_rows=tuple(rows),
        row_parts=layout.row_parts,
    )


def _finalise_texts(texts: Sequence[str | None],
                    mask: Callable[[pl.Expr], pl.Expr]) -> list[str | None]:
    series = pl.Series("text", list(texts), dtype=pl.Utf8)
    return series.to_frame().select(
        clip_text(mask(pl.col("text")), VALUE_ECHO_CHARS)).to_series().to_list()


CAP_KEY: tuple[str, ...] = ("rule", "column", "severity")
"""What "the same kind of issue" is for capping: a rule on a column (severity follows the
rule, and keeps a summary row's severity that of the issues it stands for)."""


def cap_issues(issues: pl.DataFrame, max_rows: int | None) -> pl.DataFrame:
    """The first `max_rows` issues of each rule × column, in frame order, plus one summary
    issue per capped rule × column (`source_row` null, `value` the count K, the message
    saying `and K more rows not listed (rows a–b)`) placed where its first omitted issue
    was. `None` keeps every issue. Other columns of the frame (a report's `column_zh`)
    are kept, a summary taking the value of its first omitted issue.
    """
    if max_rows is None or issues.height <= max_rows:
        return issues
    key = list(CAP_KEY)
    ranked = issues.with_row_index("_at").with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).over(key).alias("_nth"))
    kept = ranked.filter(pl.col("_nth") < max_rows)
    if kept.height == ranked.height:
        return issues
    omitted = ranked.filter(pl.col("_nth") >= max_rows)
    first, last = pl.col("_first").cast(pl.Utf8), pl.col("_last").cast(pl.Utf8)
    span = pl.when(pl.col("_first") == pl.col("_last")).then(first).otherwise(
        pl.concat_str(first, pl.lit("–"), last))
    summary = (
        omitted.group_by(key, maintain_order=True)
        .agg(pl.all().exclude("_nth", "_at", *key).first(),
             pl.col("_at").min(), pl.len().alias("_more"),
             pl.col(SOURCE_ROW).min().alias("_first"), pl.col(SOURCE_ROW).max().alias("_last"))
        .with_columns(
            pl.lit(None, dtype=pl.Int64).alias(SOURCE_ROW),
            # The count as the value: BI reads it on any backend with CAST(value AS BIGINT).
            pl.col("_more").cast(pl.Utf8).alias("value"),
            pl.concat_str(
                pl.lit("另有 "), pl.col("_more").cast(pl.Utf8), pl.lit(" 处同类问题未逐条列出"),
                pl.when(span.is_null()).then(pl.lit("")).otherwise(
                    pl.concat_str(pl.lit("（第 "), span, pl.lit(" 行）"))),
            ).alias("message_zh"),
            pl.concat_str(
                pl.lit("and "), pl.col("_more").cast(pl.Utf8), pl.lit(" more rows not listed"),
                pl.when(span.is_null()).then(pl.lit("")).otherwise(
                    pl.concat_str(pl.lit(" (rows "), span, pl.lit(")"))),
            ).alias("message_en"),
        )
    )
    columns = ["_at", *issues.columns]
    return (
        pl.concat([kept.select(columns), summary.select(columns).cast(kept.select(columns).schema)])
        .sort("_at", maintain_order=True)
        .drop("_at")
    )
