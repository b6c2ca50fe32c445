"""Header recognition: which file column is which contract column.

Counties write headers in many ways: the canonical English name, the Chinese label or an
alias, with full- or half-width brackets, stray spaces or line breaks inside a cell
(Excel wraps long headers), a `*` marking a required column, or a unit in brackets
(`托管儿童数（人）`). Every header is normalised the same way on both sides (contract and
file) and compared exactly, so there is no fuzzy matching that could silently pick the
wrong column.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from countyflow.ingest.model import SubmissionRejected, common_issue
from schemas.contract import PERSONAL_COLUMNS, Column, Contract

# `\s` covers ASCII whitespace, U+3000 and NBSP; zero-width characters and a stray BOM
# are invisible in Excel but break equality, so they go too.
_INVISIBLE = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")
_TRAILING_UNIT = re.compile(r"\([^()]*\)$")
_REQUIRED_MARK = "*"


def normalise_header(text: str) -> str:
    """Canonical form of a header for comparison.

    NFKC folds full-width brackets, letters, digits and U+3000 to their ASCII forms;
    whitespace anywhere is removed (`县 (区) 代码`, a header wrapped onto two lines);
    a leading/trailing `*` (template marker for required columns) is dropped; case is
    folded so `County_Code` matches.
    """
    folded = unicodedata.normalize("NFKC", text)
    folded = _INVISIBLE.sub("", folded)
    return folded.strip(_REQUIRED_MARK).casefold()


@dataclass(frozen=True)
class HeaderLookup:
    """Normalised header → column, for one contract plus the personal columns."""

    columns: dict[str, Column]
    personal: frozenset[str]

    def match(self, header: str | None) -> Column | None:
        """The column a header names, or None.

        A trailing bracketed unit (`（人）`, `（元）`) is tried off only when the full
        header is not known, so `县（区）` still matches exactly first.
        """
        if header is None:
            return None
        key = normalise_header(str(header))
        if not key:
            return None
        column = self.columns.get(key)
        if column is None:
            stripped = _TRAILING_UNIT.sub("", key)
            if stripped and stripped != key:
                column = self.columns.get(stripped)
        return column

    def is_personal(self, column: Column) -> bool:
        return column.name in self.personal


def header_lookup(contract: Contract) -> HeaderLookup:
    """Build the lookup; two columns claiming the same header is a contract bug, so fail loudly."""
    columns: dict[str, Column] = {}
    for column in (*contract.columns, *PERSONAL_COLUMNS):
        for header in column.headers:
            key = normalise_header(header)
            other = columns.get(key)
            if other is not None and other.name != column.name:
                raise ValueError(
                    f"{contract.dataset}: header {header!r} names both {other.name} and {column.name}"
                )
            columns[key] = column
    return HeaderLookup(columns, frozenset(column.name for column in PERSONAL_COLUMNS))


def known_columns(row: Sequence[str | None], lookup: HeaderLookup) -> int:
    """How many distinct contract (non-personal) columns a row's cells name."""
    names = {
        column.name
        for cell in row
        if (column := lookup.match(cell)) is not None and not lookup.is_personal(column)
    }
    return len(names)


def _is_blank(row: Sequence[str | None]) -> bool:
    return all(cell is None or not _INVISIBLE.sub("", str(cell)) for cell in row)


def find_header(rows: Sequence[Sequence[str | None]], lookup: HeaderLookup, *,
                search_rows: int = 6) -> int:
    """Index of the header row among the first `search_rows` rows.

    The header is the first row naming at least two contract columns: title rows
    (`昭通市2025年暑期托管点统计表`) and blank rows above it never do. Failing that, the
    first row naming one column is taken, so a file whose header is mostly wrong gets a
    precise "required column missing" report instead of a vague "no header".
    """
    window = rows[:search_rows]
    fallback: int | None = None
    for index, row in enumerate(window):
        known = known_columns(row, lookup)
        if known >= 2:
            return index
        if known == 1 and fallback is None:
            fallback = index
    if fallback is not None:
        return fallback
    if all(_is_blank(row) for row in window):
        raise SubmissionRejected("empty_file")
    raise SubmissionRejected("header_not_found")


@dataclass
class HeaderMap:
    """Result of mapping a header row: file position → canonical name, plus warnings.

    Personal and unknown columns are absent from `positions`: callers select only
    these positions, so personal data is dropped at the first step after reading.
    """

    positions: dict[int, str]
    issues: list[dict[str, object]] = field(default_factory=list)
    unnamed: list[int] = field(default_factory=list)


def _label(column: Column) -> str:
    return f"{column.name}（{column.label_zh}）"


def map_headers(header: Sequence[str | None], contract: Contract,
                lookup: HeaderLookup | None = None) -> HeaderMap:
    """Map a header row onto the contract.

    Raises `duplicate_column` when two headers name the same contract column (which
    one holds the truth is unknowable) and `required_column_missing` listing every
    missing required column, so the clerk fixes them all in one go. Unknown headers
    each give one `unknown_column` warning; empty header cells are reported by the
    caller only if their column holds data.
    """
    lookup = lookup or header_lookup(contract)
    positions: dict[int, str] = {}
    seen: dict[str, list[str]] = {}
    result = HeaderMap(positions)
    for index, cell in enumerate(header):
        text = None if cell is None else str(cell).strip()
        if not text or not _INVISIBLE.sub("", text):
            result.unnamed.append(index)
            continue
        column = lookup.match(text)
        if column is None:
            result.issues.append(common_issue("unknown_column", column=text))
            continue
        if lookup.is_personal(column):
            continue
        seen.setdefault(column.name, []).append(text)
        positions[index] = column.name
    for name, originals in seen.items():
        if len(originals) > 1:
            raise SubmissionRejected(
                "duplicate_column", f"{_label(contract.column(name))}: {' / '.join(originals)}",
                column=name, value=" / ".join(originals),
            )
    missing = [contract.column(name) for name in contract.required_columns if name not in seen]
    if missing:
        raise SubmissionRejected(
            "required_column_missing", ", ".join(_label(column) for column in missing),
            column=missing[0].name,
        )
    return result
