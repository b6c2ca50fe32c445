"""Normalise raw submission text into typed values (SPEC §3), one Polars expression per column.

Every normaliser takes a string expression and returns a struct expression whose `value`
field is the typed value (null when missing or unreadable) and whose `problem` field is a
problem code (a `COMMON_RULES` id, null when the value is fine or simply missing); `split`
gives the pair. Missing markers are handled once, in `with_missing` (used by
`normalise_column` and `normalise_values`), so a required blank is reported as
`value_required` and never also as a format error. In a required count column a dash
marker (`—`, `/`, `无`, …) means "no number" = 0, with a `count_dash_zero` warning that
`normalise_frame` reports once per column with the rows as ranges.

Everything is a vectorised expression (regex extraction, `replace_many`, `replace_strict`):
no Python runs per row.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import date
from typing import NamedTuple

import polars as pl

from countyflow.ingest.model import ISSUE_SCHEMA, SOURCE_ROW
from countyflow.periods import Period
from countyflow.reference import county_aliases
from countyflow.settings import DEFAULT_MAX_TEXT_CHARS
from schemas.contract import COMMON_RULES, Column, ColumnType, Contract


class Normalised(NamedTuple):
    """A typed value expression and its problem code (Utf8 rule id, null when fine); see `split`."""

    value: pl.Expr
    problem: pl.Expr


# Full-width ASCII (U+FF01…U+FF5E) and the ideographic space, as half-width equivalents.
_FULL_WIDTH = [chr(code) for code in range(0xFF01, 0xFF5F)] + ["\u3000"]
_HALF_WIDTH = [chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)] + [" "]

MISSING_MARKERS: tuple[str, ...] = (
    "", "—", "——", "–", "-", "--", "/", "无", "…", "……", "n/a", "na", "null",
)
"""Cell texts meaning "no value", compared after trimming, half-width folding and lower-casing."""

DASH_ZERO_MARKERS: tuple[str, ...] = ("—", "——", "–", "-", "--", "/", "无")
"""Missing markers that in a required count column mean "no number", i.e. 0 (the convention
of Chinese statistical tables, SPEC §3); `－` and `／` fold to `-` and `/`. A blank, `…` or
`N/A` says nothing about the number, so it stays a missing required value."""

DASH_ZERO = "count_dash_zero"
GROUPED_RULES: tuple[str, ...] = (DASH_ZERO,)
"""Value problems `normalise_frame` reports once per column (first row, rows as ranges):
a form that writes `—` for every empty category would otherwise bury the real issues."""

COUNT_UNITS: tuple[str, ...] = (
    "人次", "小时", "人", "个", "名", "元", "天", "台", "张", "次", "例", "位", "所", "家", "床",
)
DECIMAL_UNITS: tuple[str, ...] = (
    "元/人·天", "元/人•天", "元/人・天", "元/人/天", "元/人天", "元/天", "元/人", "小时", "h",
    *COUNT_UNITS,
)
# Words that make a count approximate, before or after the number (SPEC §3: an error).
APPROX_PREFIXES: tuple[str, ...] = ("大约", "将近", "接近", "差不多", "超过", "约", "近")
APPROX_INFIXES: tuple[str, ...] = ("多", "余", "来", "+")
APPROX_SUFFIXES: tuple[str, ...] = ("左右", "以上", "多", "余", "+")

QUOTES = ("“", "”", '"', "'", "‘", "’", "「", "」", "『", "』")

EXCEL_EPOCH = date(1899, 12, 30)
"""Day 0 of Excel's 1900 date system (serials from 61 on, i.e. every plausible date)."""

_MAX_COUNT_DIGITS = 15  # keeps `int × 10000` inside Int64


def _alternation(words: tuple[str, ...]) -> str:
    escaped = sorted((_escape(word) for word in words), key=len, reverse=True)
    return "|".join(escaped)


def _escape(word: str) -> str:
    return "".join("\\" + char if char in r"\.+*?()|[]{}^$/" else char for char in word)


_INTEGER = r"[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+"
COUNT_PATTERN = (
    rf"^(?P<pre>{_alternation(APPROX_PREFIXES)})?"
    rf"(?P<int>{_INTEGER})(?:\.(?P<frac>[0-9]+))?"
    r"(?P<wan>万)?"
    rf"(?P<mid>{_alternation(APPROX_INFIXES)})?"
    rf"(?:{_alternation(COUNT_UNITS)})?"
    rf"(?P<post>{_alternation(APPROX_SUFFIXES)})?$"
)
DECIMAL_PATTERN = (
    r"^(?P<sign>-)?"
    rf"(?P<int>{_INTEGER})?(?:\.(?P<frac>[0-9]+))?"
    r"(?P<wan>万)?"
    rf"(?:{_alternation(DECIMAL_UNITS)})?$"
)
_TIME = r"(?:[ T]+[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"
DATE_PATTERN = (
    "^(?:"
    rf"(?P<y1>[0-9]{{4}})\s*[-/.]\s*(?P<m1>[0-9]{{1,2}})\s*[-/.]\s*(?P<d1>[0-9]{{1,2}}){_TIME}"
    r"|(?P<y2>[0-9]{4})\s*年\s*(?P<m2>[0-9]{1,2})\s*月\s*(?P<d2>[0-9]{1,2})\s*[日号]?"
    r"|(?P<m3>[0-9]{1,2})\s*月\s*(?P<d3>[0-9]{1,2})\s*[日号]?"
    # `7.14`, `7/6`: month and day without a year (also an Excel number cell holding 7.14).
    # One or two digits each, so an Excel serial (`45844`, `45844.0`) never matches here.
    r"|(?P<m4>[0-9]{1,2})\s*[./]\s*(?P<d4>[0-9]{1,2})"
    r"|(?P<serial>[0-9]{5})(?:\.[0-9]+)?"
    ")$"
)
_CHINESE_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
GRADE_PATTERN = (
    r"^(?:(?P<cohort>[0-9]{4})级"  # a cohort, named by the autumn it entered (SPEC §3.1)
    r"|(?:中职|高职|高|职)?"
    rf"(?:(?P<n>[0-9]{{1,3}})(?:\.0+)?|(?P<zh>[{''.join(_CHINESE_DIGITS)}]))"
    r"(?:年级)?)$"
)
_GRADES = 3


# --- building blocks -------------------------------------------------------------------
#
# A normaliser is one struct expression: it starts as {raw}, each step adds fields computed
# from the previous ones (`struct.with_fields` + `pl.field`), and it ends with `value` and
# `problem`. Chaining on one struct evaluates the regex extraction once per cell; splitting
# the steps into separate expressions would make Polars recompute it for every use.


def half_width(raw: pl.Expr) -> pl.Expr:
    """Full-width ASCII letters, digits, punctuation and U+3000 folded to half-width."""
    return raw.cast(pl.Utf8).str.replace_many(_FULL_WIDTH, _HALF_WIDTH)


def _compact(raw: pl.Expr) -> pl.Expr:
    """Half-width, every whitespace character removed, lower-cased: the key values are matched on."""
    return half_width(raw).str.replace_all(r"\s+", "").str.to_lowercase()


def is_missing(raw: pl.Expr) -> pl.Expr:
    """True where the cell is null, blank or a missing marker (`—`, `/`, `无`, `N/A`, …)."""
    return raw.is_null() | _compact(raw).is_in(list(MISSING_MARKERS))


def is_dash_zero(raw: pl.Expr) -> pl.Expr:
    """True where the cell is a dash marker (`—`, `－`, `/`, `无`, …): 0 in a required count."""
    return _compact(raw).is_in(list(DASH_ZERO_MARKERS)).fill_null(False)


def _start(raw: pl.Expr) -> pl.Expr:
    return pl.struct(raw.cast(pl.Utf8).alias("raw"))


def _part(name: str) -> pl.Expr:
    return pl.field("parts").struct.field(name)


def _finish(steps: pl.Expr, dtype: type[pl.DataType]) -> pl.Expr:
    """Null the value wherever there is a problem, so rules never see half-read values."""
    return steps.struct.with_fields(
        value=pl.when(pl.field("problem").is_null()).then(pl.field("value")).cast(dtype),
        problem=pl.field("problem").cast(pl.Utf8),
    )


def split(normalised: pl.Expr) -> Normalised:
    """A normaliser's struct as a (value, problem) pair of expressions.

    Convenient for a few values; for whole frames materialise the struct first (as
    `normalise_values` does) so it is evaluated once.
    """
    return Normalised(normalised.struct.field("value"), normalised.struct.field("problem"))


def _clean_text(raw: pl.Expr) -> pl.Expr:
    text = (
        raw.str.replace_all("\u3000", "", literal=True)
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )
    return pl.when(text != "").then(text)


def normalise_text(raw: pl.Expr) -> pl.Expr:
    """Trimmed, every U+3000 removed, internal runs of whitespace collapsed to one space."""
    return _finish(_start(raw).struct.with_fields(
        value=_clean_text(pl.field("raw")), problem=pl.lit(None, dtype=pl.Utf8),
    ), pl.Utf8)


def normalise_count(raw: pl.Expr) -> pl.Expr:
    """A whole number ≥ 0: `1,234`, `１２３`, `12人`, `1.6万`, `12.0`; approximations are errors."""
    steps = (
        _start(raw)
        .struct.with_fields(parts=_compact(pl.field("raw")).str.extract_groups(COUNT_PATTERN))
        .struct.with_fields(
            int=_part("int").str.replace_all(",", "", literal=True),
            frac=_part("frac").fill_null("").str.strip_chars_end("0"),
            wan=_part("wan").is_not_null(),
            approximate=pl.any_horizontal(_part(name).is_not_null() for name in ("pre", "mid", "post")),
        )
        .struct.with_fields(
            value=pl.field("int").str.to_integer(strict=False)
            * pl.when(pl.field("wan")).then(10_000).otherwise(1)
            + pl.when(pl.field("wan"))
            .then(pl.field("frac").str.pad_end(4, "0").str.to_integer(strict=False))
            .otherwise(0),
            decimals=pl.field("frac").str.len_chars(),
        )
        .struct.with_fields(
            problem=pl.when(pl.field("int").is_null()).then(pl.lit("count_format"))
            .when(pl.field("approximate")).then(pl.lit("count_approximate"))
            .when(pl.field("decimals") > pl.when(pl.field("wan")).then(4).otherwise(0))
            .then(pl.lit("count_format"))
            .when(pl.field("int").str.len_chars() > _MAX_COUNT_DIGITS).then(pl.lit("count_format"))
            .when(pl.field("value").is_null()).then(pl.lit("count_format"))
        )
    )
    return _finish(steps, pl.Int64)


def normalise_decimal(raw: pl.Expr) -> pl.Expr:
    """A number (hours, yuan): `5.5`, `5.5小时`, `8元/人·天`, `1,234.5`, `1.5万`."""
    steps = (
        _start(raw)
        .struct.with_fields(parts=_compact(pl.field("raw")).str.extract_groups(DECIMAL_PATTERN))
        .struct.with_fields(
            int=_part("int").str.replace_all(",", "", literal=True),
            frac=_part("frac"),
            scale=pl.when(_part("wan").is_not_null()).then(10_000.0).otherwise(1.0),
            sign=_part("sign").fill_null(""),
        )
        .struct.with_fields(
            value=pl.concat_str(pl.field("sign"), pl.field("int").fill_null("0"), pl.lit("."),
                                pl.field("frac").fill_null("0"))
            .cast(pl.Float64, strict=False) * pl.field("scale"),
        )
        .struct.with_fields(
            problem=pl.when(
                (pl.field("int").is_null() & pl.field("frac").is_null())
                | pl.field("value").is_null() | pl.field("value").is_infinite()
            ).then(pl.lit("decimal_format"))
        )
    )
    return _finish(steps, pl.Float64)


def _year_for(month: pl.Expr, period: Period | None) -> pl.Expr:
    """The year of a date written without one: the period's year (a school year spans two)."""
    if period is None:
        return pl.lit(None, dtype=pl.Int64)
    if period.start.year == period.end.year:
        return pl.lit(period.start.year, dtype=pl.Int64)
    return pl.when(month >= period.start.month).then(period.start.year).otherwise(period.end.year)


def normalise_date(raw: pl.Expr, *, period: Period | None = None) -> pl.Expr:
    """ISO (with or without time), `2025/7/6`, `2025.7.6`, `2025年7月6日`, `7月6日`, `7.6`,
    `7/6`, Excel serials.

    `7月6日`, `7.6` and `7/6` take their year from `period` (without a period they are
    `date_format` problems). Impossible calendar dates (2025-02-30, `2.30`) are `date_format`
    problems.
    """
    steps = (
        _start(raw)
        .struct.with_fields(
            parts=half_width(pl.field("raw")).str.strip_chars().str.extract_groups(DATE_PATTERN))
        .struct.with_fields(
            year=pl.coalesce(
                _part("y1").str.to_integer(strict=False), _part("y2").str.to_integer(strict=False),
                _year_for(pl.coalesce(_part("m3"), _part("m4")).str.to_integer(strict=False),
                          period),
            ),
            month=pl.coalesce(_part("m1"), _part("m2"), _part("m3"), _part("m4")),
            day=pl.coalesce(_part("d1"), _part("d2"), _part("d3"), _part("d4")),
            serial=_part("serial").str.to_integer(strict=False),
        )
        .struct.with_fields(
            value=pl.when(pl.field("serial").is_not_null())
            .then(pl.lit(EXCEL_EPOCH, dtype=pl.Date) + pl.duration(days=pl.field("serial")))
            .otherwise(
                pl.concat_str(
                    pl.field("year").cast(pl.Utf8).str.pad_start(4, "0"), pl.lit("-"),
                    pl.field("month").str.pad_start(2, "0"), pl.lit("-"),
                    pl.field("day").str.pad_start(2, "0"),
                ).str.strptime(pl.Date, "%Y-%m-%d", strict=False)
            )
        )
        .struct.with_fields(problem=pl.when(pl.field("value").is_null()).then(pl.lit("date_format")))
    )
    return _finish(steps, pl.Date)


def _school_year(period: Period | None) -> int | None:
    """The autumn year of the school year `period` falls in (a `YYYY` period is school year YYYY)."""
    if period is None:
        return None
    start = period.start
    return start.year if start.month >= 9 else start.year - 1


def normalise_grade(raw: pl.Expr, *, period: Period | None = None) -> pl.Expr:
    """`1`, `一年级`, `高一`, `1年级`, `职一` → 1 (the 1..3 range is the contract's `grade_range` rule).

    A cohort (`2025级`: entered in autumn 2025) is grade 1 in school year 2025, 2 in 2026, 3
    in 2027; a cohort outside grades 1..3 of the period's school year is `grade_cohort`,
    and without a period a cohort cannot be read (`grade_format`).
    """
    school_year = _school_year(period)
    if school_year is None:
        cohort_grade = pl.lit(None, dtype=pl.Int64)
        cohort_problem = "grade_format"
    else:
        cohort_grade = pl.lit(school_year + 1, dtype=pl.Int64) - pl.field("cohort")
        cohort_problem = "grade_cohort"
    steps = (
        _start(raw)
        .struct.with_fields(parts=_compact(pl.field("raw")).str.extract_groups(GRADE_PATTERN))
        .struct.with_fields(cohort=_part("cohort").str.to_integer(strict=False))
        .struct.with_fields(cohort_grade=cohort_grade)
        .struct.with_fields(value=pl.coalesce(
            _part("n").str.to_integer(strict=False),
            _part("zh").replace_strict(_CHINESE_DIGITS, default=None, return_dtype=pl.Int64),
            pl.when(pl.field("cohort_grade").is_between(1, _GRADES)).then(pl.field("cohort_grade")),
        ))
        .struct.with_fields(problem=pl.when(pl.field("value").is_null()).then(
            pl.when(pl.field("cohort").is_not_null()).then(pl.lit(cohort_problem))
            .otherwise(pl.lit("grade_format"))
        ))
    )
    return _finish(steps, pl.Int64)


def vocabulary_key(raw: pl.Expr) -> pl.Expr:
    """How enumeration values are compared: no whitespace, half-width, no quotes, lower-case."""
    return _compact(raw).str.replace_many(list(QUOTES), [""] * len(QUOTES))


def vocabulary_mapping(vocabulary: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """Every spelling of a vocabulary (canonical values and aliases, as keys) → canonical value.

    Keys go through `vocabulary_key`, the same expression applied to cells. Where two
    canonical values share a spelling, the first declared wins.
    """
    spellings = [(spelling, canonical) for canonical, aliases in vocabulary.items()
                 for spelling in (canonical, *aliases)]
    frame = pl.DataFrame(spellings, schema={"spelling": pl.Utf8, "canonical": pl.Utf8}, orient="row")
    keyed = frame.select(vocabulary_key(pl.col("spelling")).alias("key"), "canonical")
    keyed = keyed.unique(subset="key", keep="first", maintain_order=True)
    return dict(zip(keyed["key"].to_list(), keyed["canonical"].to_list(), strict=True))


def normalise_enum(raw: pl.Expr, vocabulary: Mapping[str, tuple[str, ...]], *,
                   open_vocabulary: bool = False) -> pl.Expr:
    """Canonical value for any alias; unknown → `enum_unknown` (or kept as written when open)."""
    mapping = vocabulary_mapping(vocabulary)
    steps = _start(raw).struct.with_fields(
        mapped=vocabulary_key(pl.field("raw")).replace_strict(mapping, default=None,
                                                              return_dtype=pl.Utf8))
    if open_vocabulary:
        steps = steps.struct.with_fields(
            value=pl.coalesce(pl.field("mapped"), _clean_text(pl.field("raw"))),
            problem=pl.lit(None, dtype=pl.Utf8),
        )
    else:
        steps = steps.struct.with_fields(
            value=pl.field("mapped"),
            problem=pl.when(pl.field("mapped").is_null()).then(pl.lit("enum_unknown")),
        )
    return _finish(steps, pl.Utf8)


def normalise_county(raw: pl.Expr) -> pl.Expr:
    """County code, full name, short name or pinyin (any case) → county code."""
    aliases = county_aliases()
    mapping = dict(zip(aliases["alias"].to_list(), aliases["county_code"].to_list(), strict=True))
    steps = _start(raw).struct.with_fields(
        # A code typed into a numeric spreadsheet cell may arrive as `530602.0`.
        value=_compact(pl.field("raw")).str.replace(r"^([0-9]+)\.0+$", "${1}")
        .replace_strict(mapping, default=None, return_dtype=pl.Utf8),
    ).struct.with_fields(problem=pl.when(pl.field("value").is_null()).then(pl.lit("county_unknown")))
    return _finish(steps, pl.Utf8)


def normaliser_for(column: Column, *, period: Period | None) -> Callable[[pl.Expr], pl.Expr]:
    """The normaliser of a contract column's type."""
    match column.type:
        case ColumnType.COUNT:
            return normalise_count
        case ColumnType.DECIMAL:
            return normalise_decimal
        case ColumnType.DATE:
            return lambda raw: normalise_date(raw, period=period)
        case ColumnType.GRADE:
            return lambda raw: normalise_grade(raw, period=period)
        case ColumnType.COUNTY:
            return normalise_county
        case ColumnType.ENUM:
            return lambda raw: normalise_enum(raw, column.vocabulary or {})
        case ColumnType.TEXT if column.vocabulary:
            vocabulary = column.vocabulary
            return lambda raw: normalise_enum(raw, vocabulary, open_vocabulary=True)
        case _:
            return normalise_text


def with_missing(value: pl.Expr, problem: pl.Expr, missing: pl.Expr, dash_zero: pl.Expr,
                 column: Column) -> Normalised:
    """A reading with missing markers applied: null value, and `value_required` as the
    problem if the column is required (no problem otherwise), wherever `missing`.

    In a required count a dash marker (`dash_zero`) is 0 with the `count_dash_zero`
    warning instead: the value stays 0 (a warning never nulls a value), so rules and
    sums see the number the clerk meant.
    """
    required = pl.lit("value_required") if column.required else pl.lit(None, dtype=pl.Utf8)
    if column.required and column.type is ColumnType.COUNT:
        zero = missing & dash_zero
        return Normalised(
            pl.when(zero).then(pl.lit(0)).when(~missing).then(value).cast(column.dtype),
            pl.when(zero).then(pl.lit(DASH_ZERO)).when(missing).then(required)
            .otherwise(problem).cast(pl.Utf8),
        )
    return Normalised(
        pl.when(~missing).then(value).cast(column.dtype),
        pl.when(missing).then(required).otherwise(problem).cast(pl.Utf8),
    )


def normalise_column(raw: pl.Expr, column: Column, *, period: Period | None) -> pl.Expr:
    """Missing markers first (→ null, `value_required` if required; 0 with `count_dash_zero`
    for a dash in a required count), then the type's normaliser.

    A struct expression with fields `value` (typed per the column) and `problem`.
    """
    value, problem = with_missing(pl.field("value"), pl.field("problem"), pl.field("missing"),
                                  pl.field("dash_zero"), column)
    return (
        normaliser_for(column, period=period)(raw)
        .struct.with_fields(missing=is_missing(pl.field("raw")),
                            dash_zero=is_dash_zero(pl.field("raw")))
        .struct.with_fields(value=value, problem=problem)
    )


# --- frames --------------------------------------------------------------------------------

_PROBLEM = "__problem__"
_STRUCT = "__normalised__"
_RAW = "__raw__"


def rule_texts() -> pl.DataFrame:
    """`COMMON_RULES` as a frame (rule, severity, message_zh, message_en) to join issues onto."""
    return pl.DataFrame(
        [(rule, text.severity.value, text.message_zh, text.message_en)
         for rule, text in COMMON_RULES.items()],
        schema={"rule": pl.Utf8, "severity": pl.Utf8, "message_zh": pl.Utf8, "message_en": pl.Utf8},
        orient="row",
    )


def typed_schema(contract: Contract) -> dict[str, pl.DataType | type[pl.DataType]]:
    """Columns of a normalised frame: every contract column, typed, then `source_row`."""
    return {**{column.name: column.dtype for column in contract.columns}, SOURCE_ROW: pl.Int64}


def _normaliser_key(column: Column, period: Period | None) -> tuple[object, ...]:
    """Columns with equal keys read a text identically, so they share readings."""
    vocabulary = tuple((k, tuple(v)) for k, v in (column.vocabulary or {}).items())
    if column.type in (ColumnType.ENUM, ColumnType.TEXT):
        return (column.type, vocabulary)
    # `7月6日` / `7.6` take their year from the period; `2025级` is a grade only in a school year
    if column.type in (ColumnType.DATE, ColumnType.GRADE):
        return (column.type, period)
    return (column.type,)


class ReadingCache:
    """Readings of texts already normalised in this process, per normaliser.

    A reading depends only on the text and the normaliser, and counties write the same
    few thousand texts (codes, small counts, the days of a season) into every file, so a
    file mostly needs no normaliser run at all. Bounded: a normaliser's readings are
    dropped once they exceed `max_rows`, so memory does not grow with the landing zone.
    Thread-safe (the thread runner stages several files at once).
    """

    def __init__(self, max_rows: int = 100_000) -> None:
        self.max_rows = max_rows
        self._lock = threading.Lock()
        self._readings: dict[tuple[object, ...], pl.DataFrame] = {}

    def known(self, key: tuple[object, ...]) -> pl.DataFrame | None:
        with self._lock:
            return self._readings.get(key)

    def add(self, key: tuple[object, ...], readings: pl.DataFrame) -> None:
        """Remember `readings` (texts not known yet)."""
        with self._lock:
            known = self._readings.get(key)
            merged = readings if known is None else pl.concat([known, readings]).unique(
                subset=_RAW, keep="first", maintain_order=True)
            if merged.height <= self.max_rows:
                self._readings[key] = merged
            else:
                self._readings.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._readings.clear()


READINGS = ReadingCache()


def _read_texts(texts: pl.LazyFrame, column: Column, *, period: Period | None) -> pl.LazyFrame:
    """Each text with its reading: `raw`, `missing`, `dash_zero`, `value`, `problem`.

    `missing` and `dash_zero` depend on the text alone; requiredness is applied after the
    join (`with_missing`), so columns of one normaliser share readings whatever they require.
    """
    reading = normaliser_for(column, period=period)(pl.col(_RAW))
    return texts.select(
        pl.col(_RAW),
        is_missing(pl.col(_RAW)).alias("missing"),
        is_dash_zero(pl.col(_RAW)).alias("dash_zero"),
        reading.struct.field("value"),
        reading.struct.field("problem"),
    )


def _readings(frame: pl.DataFrame, groups: Mapping[tuple[object, ...], list[Column]], *,
              period: Period | None, cache: ReadingCache) -> dict[tuple[object, ...], pl.DataFrame]:
    """Per normaliser, the readings of the distinct texts of its columns."""
    source = frame.lazy()
    distinct = pl.collect_all([
        pl.concat([source.select(pl.col(c.name).cast(pl.Utf8).alias(_RAW)) for c in columns])
        .unique()
        for columns in groups.values()
    ])
    unread: dict[tuple[object, ...], pl.LazyFrame] = {}
    readings: dict[tuple[object, ...], pl.DataFrame] = {}
    for (key, columns), texts in zip(groups.items(), distinct, strict=True):
        known = cache.known(key)
        if known is None:
            unread[key] = _read_texts(texts.lazy(), columns[0], period=period)
            continue
        # Only this frame's texts, so the joins back to the cells stay as small as the
        # frame; the semi join hashes the frame's few texts, not the whole cache.
        found = known.join(texts, on=_RAW, how="semi", nulls_equal=True)
        readings[key] = found
        if found.height < texts.height:
            new = texts.join(found, on=_RAW, how="anti", nulls_equal=True)
            unread[key] = _read_texts(new.lazy(), columns[0], period=period)
    for key, read in zip(unread, pl.collect_all(list(unread.values())), strict=True):
        cache.add(key, read)
        readings[key] = pl.concat([readings[key], read]) if key in readings else read
    return readings


def normalise_values(frame: pl.DataFrame, contract: Contract, *,
                     period: Period | None, cache: ReadingCache = READINGS) -> pl.DataFrame:
    """Typed contract columns, `source_row`, and one `__problem__<column>` column per input column.

    Spreadsheets repeat themselves (a site code, a date or a small count recurs thousands
    of times, in file after file), so each normaliser reads only texts it has not read
    before (`cache`) and the readings are joined back by text: the cost follows the new
    distinct texts, not the cells, and a normaliser's fixed cost is paid at most once per
    frame. The result equals `normalise_column` applied cell by cell.
    """
    if SOURCE_ROW not in frame.columns:
        frame = frame.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(SOURCE_ROW))
    present = [column for column in contract.columns if column.name in frame.columns]
    groups: dict[tuple[object, ...], list[Column]] = {}
    for column in present:
        groups.setdefault(_normaliser_key(column, period), []).append(column)
    readings = _readings(frame, groups, period=period, cache=cache)
    source = frame.lazy()
    joined = source.select(pl.col(SOURCE_ROW).cast(pl.Int64),
                           *(pl.col(c.name).cast(pl.Utf8) for c in present))
    for column in present:
        suffix = _STRUCT + column.name
        joined = joined.join(
            readings[_normaliser_key(column, period)].lazy().rename(
                {name: name + suffix for name in (_RAW, "missing", "dash_zero", "value",
                                                  "problem")}),
            left_on=column.name, right_on=_RAW + suffix, how="left", nulls_equal=True,
            maintain_order="left",
        )
    values: list[pl.Expr] = []
    problems: list[pl.Expr] = []
    for column in contract.columns:
        if column not in present:
            values.append(pl.lit(None, dtype=column.dtype).alias(column.name))
            continue
        suffix = _STRUCT + column.name
        value, problem = with_missing(pl.col("value" + suffix), pl.col("problem" + suffix),
                                      pl.col("missing" + suffix), pl.col("dash_zero" + suffix),
                                      column)
        values.append(value.alias(column.name))
        problems.append(problem.alias(_PROBLEM + column.name))
    return joined.select(*values, SOURCE_ROW, *problems).collect()


def group_rows(issues: pl.LazyFrame) -> pl.LazyFrame:
    """One issue per (column, rule) of `issues` (`ISSUE_SCHEMA`): its first row and that
    row's text, the messages ending in every row as ranges (`：第 5–9、12 行`, `: rows 5–9, 12`).

    Rows are the sheet's own numbers, so a run of consecutive numbers is one range.
    """
    first, last, span = "__first__", "__last__", "__span__"
    row = pl.col(SOURCE_ROW)
    runs = (
        issues.sort("column", "rule", SOURCE_ROW, maintain_order=True)
        # Sheets read together may repeat a row number: one mention each.
        .unique(subset=["column", "rule", SOURCE_ROW], keep="first", maintain_order=True)
        .with_columns(
            (row.diff().over("column", "rule") != 1).fill_null(True).cum_sum().alias("__run__"))
        .group_by("column", "rule", "__run__", maintain_order=True)
        .agg(row.first().alias(first), row.last().alias(last),
             pl.col("value", "severity", "message_zh", "message_en").first())
        .with_columns(
            pl.when(pl.col(first) == pl.col(last)).then(pl.col(first).cast(pl.Utf8))
            .otherwise(pl.concat_str(pl.col(first), pl.lit("–"), pl.col(last))).alias(span))
    )
    return (
        runs.group_by("column", "rule", maintain_order=True)
        .agg(
            pl.col(first).first().alias(SOURCE_ROW),
            pl.col("value", "severity", "message_zh", "message_en").first(),
            pl.col(span).str.join("、").alias("__zh__"),
            pl.col(span).str.join(", ").alias("__en__"),
            (pl.col(last).last() > pl.col(first).first()).alias("__several__"),
        )
        .select(
            SOURCE_ROW, "column", "value", "rule", "severity",
            pl.concat_str(pl.col("message_zh"), pl.lit("：第 "), pl.col("__zh__"), pl.lit(" 行"))
            .alias("message_zh"),
            pl.concat_str(pl.col("message_en"),
                          pl.when(pl.col("__several__")).then(pl.lit(": rows "))
                          .otherwise(pl.lit(": row ")),
                          pl.col("__en__")).alias("message_en"),
        )
    )


TOO_LONG = "text_too_long"
SHOWN_CHARS = 50
"""How much of an over-long cell an issue shows (then its length): enough to find it."""


def _over_long(frame: pl.DataFrame, names: list[str], limit: int) -> pl.DataFrame:
    """Per cell of `names`, True where its text is longer than `limit` characters."""
    return frame.select(
        pl.col(name).cast(pl.Utf8).str.len_chars().gt(limit).fill_null(False) for name in names)


def _shown(raw: pl.Expr) -> pl.Expr:
    """An over-long text as an issue value: its start and its length."""
    length = raw.str.len_chars().cast(pl.Utf8)
    return pl.concat_str(raw.str.slice(0, SHOWN_CHARS), pl.lit("…（共 "), length,
                         pl.lit(" 字 / "), length, pl.lit(" characters）"))


def normalise_frame(frame: pl.DataFrame, contract: Contract, *, period: Period,
                    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Type a parsed (all-text) frame by its contract; return (typed frame, issues frame).

    The typed frame has every contract column in contract order (optional columns absent
    from the file as typed nulls) plus `source_row`, in the input's row order. The issues
    frame (`ISSUE_SCHEMA`) has one row per unreadable or missing-but-required cell, with the
    original text; `GROUPED_RULES` (the `count_dash_zero` warning) instead give one row per
    column (`group_rows`). A required column absent from the file is the reader's
    (submission-level) problem and yields no row issues here.

    A cell longer than `max_text_chars` is `text_too_long` (an error), shown by its first
    `SHOWN_CHARS` characters and its length; it is read as empty, so no normaliser, cache
    or rule ever holds the whole text.
    """
    present = [name for name in contract.column_names if name in frame.columns]
    over_long = _over_long(frame, present, max_text_chars)
    long_columns = [name for name in present if over_long[name].any()]
    readable = frame.with_columns(
        pl.when(over_long[name]).then(None).otherwise(pl.col(name)).alias(name)
        for name in long_columns
    )
    normalised = normalise_values(readable, contract, period=period)
    typed = normalised.select(*contract.column_names, SOURCE_ROW)
    if not present:
        return typed, pl.DataFrame(schema=ISSUE_SCHEMA)
    cells = normalised.hstack(
        frame.select(pl.col(name).cast(pl.Utf8).alias(_RAW + name) for name in present)
    ).hstack(over_long.select(pl.col(name).alias(TOO_LONG + name) for name in long_columns)).lazy()

    def issues_of(name: str) -> pl.LazyFrame:
        """The column's problem cells: (source_row, column, value, rule)."""
        value, rule = pl.col(_RAW + name), pl.col(_PROBLEM + name)
        if name in long_columns:
            long = pl.col(TOO_LONG + name)
            value = pl.when(long).then(_shown(value)).otherwise(value)
            rule = pl.when(long).then(pl.lit(TOO_LONG)).otherwise(rule)
        return cells.select(
            pl.col(SOURCE_ROW), pl.lit(name, dtype=pl.Utf8).alias("column"),
            value.alias("value"), rule.alias("rule"),
        ).filter(pl.col("rule").is_not_null())

    parts = [issues_of(name) for name in present]
    limit_zh, limit_en = f"（上限 {max_text_chars} 字）", f" (limit {max_text_chars} characters)"
    cell_issues = (
        pl.concat(parts)
        .join(rule_texts().lazy(), on="rule", how="left", maintain_order="left")
        .with_columns(
            pl.when(pl.col("rule") == TOO_LONG)
            .then(pl.concat_str(pl.col("message_zh"), pl.lit(limit_zh)))
            .otherwise(pl.col("message_zh")).alias("message_zh"),
            pl.when(pl.col("rule") == TOO_LONG)
            .then(pl.concat_str(pl.col("message_en"), pl.lit(limit_en)))
            .otherwise(pl.col("message_en")).alias("message_en"),
        )
        .select(pl.col(name).cast(dtype) for name, dtype in ISSUE_SCHEMA.items())
    )
    grouped = pl.col("rule").is_in(list(GROUPED_RULES))
    issues = (
        pl.concat([cell_issues.filter(~grouped), group_rows(cell_issues.filter(grouped))])
        .sort(SOURCE_ROW, maintain_order=True)
        .collect()
    )
    return typed, issues
