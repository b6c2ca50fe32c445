"""Header recognition: which file column is which contract column.

Counties write headers in many ways: the canonical English name, the Chinese label or an
alias, with full- or half-width brackets, stray spaces or line breaks inside a cell
(Excel wraps long headers), a `*` marking a required column, or a unit in brackets
(`托管儿童数（人）`). Every header is normalised the same way on both sides (contract and
file) and compared exactly, so there is no fuzzy matching that could silently pick the
wrong column.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from countyflow.ingest.model import SubmissionRejected, common_issue
from schemas.contract import PERSONAL_COLUMNS, Column, Contract

# `\s` covers ASCII whitespace, U+3000 and NBSP; zero-width characters and a stray BOM
# are invisible in Excel but break equality, so they go too.
_INVISIBLE = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")
_TRAILING_UNIT = re.compile(r"\((?!其中)[^()]{1,12}\)$")
"""A unit in brackets (`（人）`, `（元/人·天）`); never a qualifying `（其中：女）`."""
_REQUIRED_MARK = "*"


@functools.lru_cache(maxsize=1 << 16)
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


IGNORED_HEADERS = frozenset({"序号", "列号", "行号", "行次", "栏次"})
"""Numbering columns of Chinese forms: never data, never worth a warning."""
_WHICH_OF = re.compile(r"^其中[:：]?")
_TOTAL_LEAVES = frozenset({"合计", "小计", "计", "总计", "合计数"})
_COLUMN_NUMBER = re.compile(r"^(?:[甲乙丙丁戊己庚辛壬癸]|[A-Za-z]|[0-9]{1,3}|栏次|列号|行次|行号)$")
HEADER_SEARCH_ROWS = 20
MAX_HEADER_ROWS = 3


@dataclass(frozen=True)
class HeaderLookup:
    """Normalised header → column, for one contract plus the personal columns; for a
    contract with a wide form, also normalised header → category value."""

    columns: dict[str, Column]
    personal: frozenset[str]
    categories: dict[str, str] = field(default_factory=dict)
    # Header texts repeat across the rows and runs a header search combines.
    _matches: dict[str, Column | None] = field(default_factory=dict, compare=False, repr=False)

    def _find(self, table: dict[str, Column] | dict[str, str], key: str) -> object | None:
        """Exact first; then without a trailing bracketed unit (`（人）`), without a leading
        `其中`/`其中：`, and without both — so `县（区）` still matches exactly first."""
        for candidate in (key, _TRAILING_UNIT.sub("", key), _WHICH_OF.sub("", key),
                          _TRAILING_UNIT.sub("", _WHICH_OF.sub("", key))):
            if candidate and candidate in table:
                return table[candidate]
        return None

    def match(self, header: str | None) -> Column | None:
        """The column a header names, or None."""
        if header is None:
            return None
        text = str(header)
        if text in self._matches:
            return self._matches[text]
        key = normalise_header(text)
        found = self._find(self.columns, key) if key else None
        column = found if isinstance(found, Column) else None
        if len(self._matches) < 1 << 16:
            self._matches[text] = column
        return column

    def category(self, header: str | None) -> str | None:
        """The category value a wide-form header names (`大学生志愿者` → `university_student`)."""
        if header is None or not self.categories:
            return None
        found = self._find(self.categories, normalise_header(str(header)))
        return found if isinstance(found, str) else None

    def is_personal(self, column: Column) -> bool:
        return column.name in self.personal


def is_ignored_header(header: str | None) -> bool:
    return header is not None and normalise_header(str(header)) in IGNORED_HEADERS


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
    categories: dict[str, str] = {}
    if contract.wide is not None:
        vocabulary = contract.column(contract.wide.category).vocabulary or {}
        for value, aliases in vocabulary.items():
            for spelling in (value, *aliases):
                key = normalise_header(spelling)
                if key in columns:
                    raise ValueError(f"{contract.dataset}: {spelling!r} is a column and a category")
                categories.setdefault(key, value)
    return HeaderLookup(columns, frozenset(column.name for column in PERSONAL_COLUMNS), categories)


def known_columns(row: Sequence[str | None], lookup: HeaderLookup) -> int:
    """How many distinct contract (non-personal) columns and wide-form categories a row names."""
    names = {
        column.name
        for cell in row
        if (column := lookup.match(cell)) is not None and not lookup.is_personal(column)
    }
    categories = {category for cell in row if (category := lookup.category(cell)) is not None}
    return len(names) + len(categories)


def _is_blank(row: Sequence[str | None]) -> bool:
    return all(cell is None or not _INVISIBLE.sub("", str(cell)) for cell in row)


def find_header(rows: Sequence[Sequence[str | None]], lookup: HeaderLookup, *,
                search_rows: int = HEADER_SEARCH_ROWS) -> int:
    """Index of the one-row header among the first `search_rows` rows (CSV).

    The header is the row naming the most contract columns: title rows
    (`昭通市2025年暑期托管点统计表`), form lines and blank rows above it name none or
    few; the first of equally good rows wins. A file whose header is mostly wrong still
    gets its best row, so the clerk gets a precise "required column missing" report
    instead of a vague "no header".
    """
    window = rows[:search_rows]
    best, best_known = -1, 0
    for index, row in enumerate(window):
        known = known_columns(row, lookup)
        if known > best_known:
            best, best_known = index, known
    if best >= 0:
        return best
    if all(_is_blank(row) for row in window):
        raise SubmissionRejected("empty_file")
    raise SubmissionRejected("header_not_found")


@dataclass(frozen=True)
class HeaderBlock:
    """The header found in a sheet: its rows (0-based in the grid searched), and one name
    per column built from them (None for a column without a header of its own)."""

    start: int
    depth: int
    names: list[str | None]
    numbering_row: bool = False
    """A row of column numbers (`甲 乙 1 2 3 …`) follows the header; it is not data."""

    @property
    def body_start(self) -> int:
        """Index of the first row below the header (and its numbering row)."""
        return self.start + self.depth + (1 if self.numbering_row else 0)


def _clean(cell: str | None) -> str | None:
    if cell is None:
        return None
    text = str(cell).strip()
    return text if _INVISIBLE.sub("", text) else None


def combine_header(rows: Sequence[Sequence[str | None]], lookup: HeaderLookup, *,
                   continuation: frozenset[int] = frozenset()) -> list[str | None]:
    """One name per column from up to three header rows (SPEC §3.1, "Multi-row headers").

    A column's texts top to bottom (a cell merged down repeats, counted once) end in its
    leaf. The name is the leaf; its parent's when the leaf is `合计`/`小计`/`计`; the leaf
    qualified by its parent (`在校生数（其中：女）`) when the leaf alone is not a known
    header or recurs under several parents — under a bare `其中` the leaf stands alone.
    `continuation` holds columns that continue a merged leaf cell to their left: they
    have no header of their own.
    """
    width = max((len(row) for row in rows), default=0)
    stacks: list[list[str]] = []
    for index in range(width):
        texts: list[str] = []
        for row in rows:
            text = _clean(row[index]) if index < len(row) else None
            if text is not None and (not texts or normalise_header(texts[-1]) != normalise_header(text)):
                texts.append(text)
        stacks.append([] if index in continuation else texts)
    parents_of: dict[str, set[str]] = {}
    for texts in stacks:
        if len(texts) > 1:
            parents_of.setdefault(normalise_header(texts[-1]), set()).add(normalise_header(texts[-2]))
    names: list[str | None] = []
    for texts in stacks:
        if not texts:
            names.append(None)
            continue
        leaf = texts[-1]
        parent = texts[-2] if len(texts) > 1 else None
        leaf_key = normalise_header(leaf)
        if parent is None:
            names.append(leaf)
        elif leaf_key in _TOTAL_LEAVES:
            names.append(parent)
        elif _WHICH_OF.sub("", normalise_header(parent)) == "" or ((lookup.match(leaf) is not None or lookup.category(leaf) is not None) \
                and len(parents_of.get(leaf_key, ())) <= 1):
            names.append(leaf)
        else:
            names.append(f"{parent}（{leaf}）")
    return names


def _score(names: Sequence[str | None], lookup: HeaderLookup) -> int:
    """Known columns, less every column named twice (a parent read as a leaf repeats)."""
    matched = [column.name for name in names
               if (column := lookup.match(name)) is not None and not lookup.is_personal(column)]
    return known_columns(names, lookup) - (len(matched) - len(set(matched)))


_NUMBER_LIKE = re.compile(r"^[-+]?[0-9０-９][0-9０-９,.，．]*$")


def _continues_header(row: Sequence[str | None], above: Sequence[str | None],
                      lookup: HeaderLookup, *, spanned: frozenset[int] = frozenset()) -> bool:
    """A row of leaves under a parent the clerk did not merge across (`其中` in one cell,
    `留守儿童数 | 搬迁群众子女数` below it and its right neighbour): text only (every data
    and total row has a number), some cell a sub-header — `合计`, `其中…` or a known name —
    and some cell under an empty header cell or under a cell merged across (`spanned`),
    where only a parent to its left can reach."""
    cells = [(index, text) for index, cell in enumerate(row) if (text := _clean(cell)) is not None]
    if not cells or any(_NUMBER_LIKE.match(normalise_header(text)) for _, text in cells):
        return False
    under_empty = any(index >= len(above) or _clean(above[index]) is None or index in spanned
                      for index, _ in cells)
    return under_empty and any(
        normalise_header(text) in _TOTAL_LEAVES or _WHICH_OF.match(normalise_header(text))
        or lookup.match(text) is not None or lookup.category(text) is not None
        for _, text in cells)


def _is_numbering_row(row: Sequence[str | None]) -> bool:
    cells = [text for cell in row if (text := _clean(cell)) is not None]
    return len(cells) >= 2 and all(_COLUMN_NUMBER.match(normalise_header(cell)) for cell in cells)


def find_header_block(grid: Sequence[Sequence[str | None]], lookup: HeaderLookup, *,
                      spans_down: Callable[[int], bool] = lambda _row: False,
                      continuation: Callable[[int, int], frozenset[int]] = lambda _s, _e: frozenset(),
                      ) -> HeaderBlock:
    """The header among the first rows of a sheet: one to three rows (SPEC §3.1).

    Every run of one to three rows in the first `HEADER_SEARCH_ROWS` is combined
    (`combine_header`) and scored by the contract columns its names know; the best run
    wins, the shorter and then the earlier of equals. A row above it joined to it by a
    cell merged down across the boundary (`spans_down(row)`) belongs to the header too.
    `grid` has merged cells already filled in; `continuation(first, last)` names the
    columns continuing a merged leaf cell within those rows.
    """
    window = list(grid[:HEADER_SEARCH_ROWS])
    best: tuple[int, int, int] | None = None  # (known, -depth, -start)
    # A header run starts at a row naming a column, or at a parent row above one.
    naming = [known_columns(row, lookup) > 0 for row in window]
    for start in range(len(window)):
        if not any(naming[start:start + MAX_HEADER_ROWS]):
            continue
        for depth in range(1, MAX_HEADER_ROWS + 1):
            if start + depth > len(window):
                break
            names = combine_header(window[start:start + depth], lookup,
                                   continuation=continuation(start, start + depth - 1))
            score = (_score(names, lookup), -depth, -start)
            if score[0] > 0 and (best is None or score > best):
                best = score
    if best is None:
        if all(_is_blank(row) for row in window):
            raise SubmissionRejected("empty_file")
        raise SubmissionRejected("header_not_found")
    start, depth = -best[2], -best[1]
    while depth < MAX_HEADER_ROWS and start > 0 and spans_down(start - 1):
        start, depth = start - 1, depth + 1
    while (depth < MAX_HEADER_ROWS and start + depth < len(window)
           and _continues_header(window[start + depth], window[start + depth - 1], lookup,
                                 spanned=continuation(start + depth - 1, start + depth - 1))):
        depth += 1
    names = combine_header(window[start:start + depth], lookup,
                           continuation=continuation(start, start + depth - 1))
    after = start + depth
    numbering = after < len(grid) and _is_numbering_row(grid[after])
    return HeaderBlock(start, depth, names, numbering)


@dataclass
class HeaderMap:
    """Result of mapping a header: file position → canonical name, plus warnings.

    Personal and unknown columns are absent from `positions`: callers select only
    these positions, so personal data is dropped at the first step after reading.
    For a wide form, `categories` maps positions to category values and `row_total` is
    the position of the row-total column. `implied` names required columns the file
    does not carry but its path gives (the county).
    """

    positions: dict[int, str]
    issues: list[dict[str, object]] = field(default_factory=list)
    unnamed: list[int] = field(default_factory=list)
    categories: dict[int, str] = field(default_factory=dict)
    row_total: int | None = None
    implied: list[str] = field(default_factory=list)

    @property
    def is_wide(self) -> bool:
        return bool(self.categories)


def _label(column: Column) -> str:
    return f"{column.name}（{column.label_zh}）"


def map_headers(header: Sequence[str | None], contract: Contract,
                lookup: HeaderLookup | None = None, *, ignored: frozenset[int] = frozenset(),
                implied: frozenset[str] = frozenset()) -> HeaderMap:
    """Map a header (one name per column) onto the contract.

    Positions in `ignored` (hidden columns) are passed over. Raises `duplicate_column`
    when two headers name the same contract column (which one holds the truth is
    unknowable) and `required_column_missing` listing every missing required column not
    in `implied`, so the clerk fixes them all in one go. Unknown headers each give one
    `unknown_column` warning; numbering columns (`序号`) none; empty header cells are
    reported by the caller only if their column holds data. A wide form (two or more
    category columns and no category column) maps its categories and row total instead.
    """
    lookup = lookup or header_lookup(contract)
    positions: dict[int, str] = {}
    seen: dict[str, list[str]] = {}
    result = HeaderMap(positions)
    wide = contract.wide
    categories: dict[int, str] = {}
    totals: list[int] = []
    unknown: list[tuple[int, str]] = []
    for index, cell in enumerate(header):
        if index in ignored:
            continue
        text = None if cell is None else str(cell).strip()
        if not text or not _INVISIBLE.sub("", text):
            result.unnamed.append(index)
            continue
        if is_ignored_header(text):
            continue
        column = lookup.match(text)
        if column is None:
            category = lookup.category(text)
            if category is not None:
                categories[index] = category
            elif wide is not None and normalise_header(text) in {normalise_header(t) for t in wide.total_headers}:
                totals.append(index)
            else:
                unknown.append((index, text))
            continue
        if lookup.is_personal(column):
            continue
        seen.setdefault(column.name, []).append(text)
        positions[index] = column.name
    if wide is not None and len(set(categories.values())) >= 2 and wide.category not in seen:
        result.categories = categories
        # Under a parent such as `志愿者人数`, the `合计` leaf takes the parent's name.
        value_at = [index for index, name in positions.items() if name == wide.value]
        for index in value_at:
            del positions[index]
        seen.pop(wide.value, None)
        candidates = totals + value_at
        if len(candidates) > 1:
            raise SubmissionRejected("duplicate_column", "合计 / total",
                                     column=wide.value, value=" / ".join(str(header[i]) for i in candidates))
        result.row_total = candidates[0] if candidates else None
        produced = {wide.category, wide.value}
    else:
        unknown += [(index, str(header[index])) for index in (*categories, *totals)]
        produced = set()
    for _index, text in sorted(unknown):
        result.issues.append(common_issue("unknown_column", column=text))
    for name, originals in seen.items():
        if len(originals) > 1:
            raise SubmissionRejected(
                "duplicate_column", f"{_label(contract.column(name))}: {' / '.join(originals)}",
                column=name, value=" / ".join(originals),
            )
    absent = [name for name in contract.required_columns if name not in seen and name not in produced]
    result.implied = [name for name in absent if name in implied]
    missing = [contract.column(name) for name in absent if name not in implied]
    if missing:
        raise SubmissionRejected(
            "required_column_missing", ", ".join(_label(column) for column in missing),
            column=missing[0].name,
        )
    return result
