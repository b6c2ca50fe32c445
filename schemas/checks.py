"""The vocabulary a contract rule is declared in: what must hold for a row, said once.

A rule's check (`Rule.check`) is one of these. From it come the Polars expression the
validator runs (`expression`), the warehouse gate's check (`warehouse.expectations`
translates each kind: a native Great Expectations expectation where one exists —
between, column pairs — portable SQL otherwise), and the condition the docs print
(`describe`). Change a bound here and all three change together.

A condition this vocabulary cannot say is a `Custom` check: its Polars expression is
written out, and it has no warehouse form — so only warning rules (rows loaded by
design, listed in audit_issue) may use one; `warehouse.expectations` refuses an error
rule that does.

Every check passes a row where its result is null: a missing optional value is not a
violation (a missing required value is the `value_required` rule's business).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

PERIOD_START, PERIOD_END = "ctx_period_start", "ctx_period_end"
SITE_KNOWN = "ctx_site_known"


def _number(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class Between:
    """min ≤ value ≤ max (min excluded with `strict_min`; no max when None)."""

    min_value: float
    max_value: float | None = None
    strict_min: bool = False
    requires: tuple[str, ...] = ()

    def expression(self, column: str) -> pl.Expr:
        value = pl.col(column)
        low = value > self.min_value if self.strict_min else value >= self.min_value
        return low if self.max_value is None else low & (value <= self.max_value)

    def describe(self, column: str) -> str:
        low = f"{_number(self.min_value)} {'<' if self.strict_min else '≤'} `{column}`"
        return low if self.max_value is None else f"{low} ≤ {_number(self.max_value)}"


@dataclass(frozen=True)
class AtMost:
    """value ≤ another column of the same row."""

    other: str
    requires: tuple[str, ...] = ()

    def expression(self, column: str) -> pl.Expr:
        return pl.col(column) <= pl.col(self.other)

    def describe(self, column: str) -> str:
        return f"`{column}` ≤ `{self.other}`"


@dataclass(frozen=True)
class NotBefore:
    """value ≥ another column of the same row (a date not before another)."""

    other: str
    requires: tuple[str, ...] = ()

    def expression(self, column: str) -> pl.Expr:
        return pl.col(column) >= pl.col(self.other)

    def describe(self, column: str) -> str:
        return f"`{column}` ≥ `{self.other}`"


_PORTABLE = re.compile(r"(\[[0-9A-Za-z-]+\](\{\d+(,\d+)?\})?)+")


@dataclass(frozen=True)
class Pattern:
    """The whole value matches `pattern`. Only bracket expressions and {m,n} counts: the
    part of regular expressions that Polars, DuckDB's and PostgreSQL's `SIMILAR TO` read
    alike (GX's regex expectation raises "Regex is not supported for dialect duckdb")."""

    pattern: str
    requires: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _PORTABLE.fullmatch(self.pattern):
            raise ValueError(f"not a portable pattern (bracket expressions and counts only): "
                             f"{self.pattern!r}")

    def expression(self, column: str) -> pl.Expr:
        return pl.col(column).str.contains(f"^(?:{self.pattern})$")

    def describe(self, column: str) -> str:
        return f"`{column}` matches `{self.pattern}`"


@dataclass(frozen=True)
class InPeriod:
    """A date lies within its row's period (start … end, both included)."""

    requires: tuple[str, ...] = (PERIOD_START, PERIOD_END)

    def expression(self, column: str) -> pl.Expr:
        return pl.col(column).is_between(pl.col(PERIOD_START), pl.col(PERIOD_END))

    def describe(self, column: str) -> str:
        return f"`{column}` within the period"


@dataclass(frozen=True)
class Registered:
    """A site is in its county's registry (the sites form) for the period."""

    requires: tuple[str, ...] = (SITE_KNOWN,)

    def expression(self, column: str) -> pl.Expr:
        return pl.col(SITE_KNOWN)

    def describe(self, column: str) -> str:
        return f"`{column}` in the county's site registry for the period"


@dataclass(frozen=True)
class Custom:
    """A condition the vocabulary cannot say, written as a Polars expression. Warning
    rules only (it has no warehouse form)."""

    passes: Callable[[], pl.Expr]
    text: str
    """The condition, for the docs."""
    requires: tuple[str, ...] = ()

    def expression(self, column: str) -> pl.Expr:
        return self.passes()

    def describe(self, column: str) -> str:
        return self.text


RuleCheck = Between | AtMost | NotBefore | Pattern | InPeriod | Registered | Custom
"""What a contract rule may be declared as."""
DECLARED: tuple[type, ...] = (Between, AtMost, NotBefore, Pattern, InPeriod, Registered)
"""The kinds the warehouse gate can check too."""
