"""The contract vocabulary: what a dataset contract declares, once.

A `Contract` lists a dataset's columns (canonical name, Chinese label, aliases, type,
requiredness), its key and grain, and its rules, each with a severity and a message in
Chinese and English. The parser maps headers with it, the normaliser types values with
it, `schemas.pandera` builds the Pandera schema from it, the clerk report explains
issues with it, and the docs are generated from it. A rule is a Polars expression that
is true where a row passes, so every check is vectorised.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import polars as pl

from countyflow.periods import PeriodKind


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class ColumnType(StrEnum):
    TEXT = "text"
    COUNTY = "county"
    ENUM = "enum"
    GRADE = "grade"
    COUNT = "count"
    DECIMAL = "decimal"
    DATE = "date"


POLARS_TYPES: Mapping[ColumnType, type[pl.DataType]] = {
    ColumnType.TEXT: pl.Utf8,
    ColumnType.COUNTY: pl.Utf8,
    ColumnType.ENUM: pl.Utf8,
    ColumnType.GRADE: pl.Int64,
    ColumnType.COUNT: pl.Int64,
    ColumnType.DECIMAL: pl.Float64,
    ColumnType.DATE: pl.Date,
}


@dataclass(frozen=True)
class Column:
    """One column of a dataset as counties may write it.

    `vocabulary` maps each canonical value to its accepted aliases. For an ENUM a value
    outside it is an error; for TEXT with a vocabulary (an open vocabulary, e.g.
    departments) aliases are mapped and other values are kept as written.
    """

    name: str
    type: ColumnType
    label_zh: str
    description_en: str
    required: bool = True
    aliases: tuple[str, ...] = ()
    vocabulary: Mapping[str, tuple[str, ...]] | None = None

    @property
    def dtype(self) -> type[pl.DataType]:
        return POLARS_TYPES[self.type]

    @property
    def headers(self) -> tuple[str, ...]:
        """Every header that names this column: canonical, Chinese label, aliases."""
        return (self.name, self.label_zh, *self.aliases)


@dataclass(frozen=True)
class Rule:
    """A row-level rule. `passes()` is a Polars expression, true where a row passes.

    A null result counts as passing (a missing optional value is not a violation; a
    missing required value is reported by the `value_required` rule instead). `requires`
    names context columns (see `schemas.lookups`) the rule needs; when a context is
    unavailable (no warehouse, e.g. `countyflow check`), the rule is not evaluated.
    """

    id: str
    severity: Severity
    column: str
    message_zh: str
    message_en: str
    passes: Callable[[], pl.Expr]
    requires: tuple[str, ...] = ()
    fix_zh: str = ""
    """怎么改: one short line telling the clerk how to correct a failing row."""
    fix_en: str = ""


@dataclass(frozen=True)
class RuleText:
    """Severity and messages of a rule that is not specific to one dataset."""

    severity: Severity
    message_zh: str
    message_en: str
    fix_zh: str = ""
    """怎么改: one short line telling the clerk how to correct it."""
    fix_en: str = ""


@dataclass(frozen=True)
class Contract:
    """Everything countyflow knows about one dataset; see the module docstring."""

    dataset: str
    title_zh: str
    title_en: str
    grain: str
    period_kinds: frozenset[PeriodKind]
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    rules: tuple[Rule, ...] = ()
    lookups: tuple[str, ...] = ()
    hold_until: str | None = None
    depends_on: tuple[str, ...] = ()
    doc: str = ""
    extra: Mapping[str, object] = field(default_factory=dict)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.dataset} has no column {name!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns if column.required)

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(f"{self.dataset} has no rule {rule_id!r}")


# Columns any dataset may carry that hold personal data. They are recognised so they can
# be dropped right after parsing: they never reach frames, logs, reports or the warehouse.
PERSONAL_COLUMNS: tuple[Column, ...] = (
    Column("reporter_name", ColumnType.TEXT, "填报人", "name of the person who filled in the form",
           required=False, aliases=("填表人", "填报人姓名")),
    Column("reporter_phone", ColumnType.TEXT, "联系电话", "phone number of the reporter",
           required=False, aliases=("手机", "手机号", "电话", "联系方式")),
    Column("remarks", ColumnType.TEXT, "备注", "free-text remarks (may name people)",
           required=False, aliases=("说明",)),
)


def _text(severity: Severity, zh: str, en: str, fix_zh: str = "", fix_en: str = "") -> RuleText:
    return RuleText(severity, zh, en, fix_zh, fix_en)


E, W = Severity.ERROR, Severity.WARNING

# Rules shared by every dataset: submission-level rejections and value-format problems.
COMMON_RULES: Mapping[str, RuleText] = {
    # submission level: the whole file is rejected
    "file_unreadable": _text(E, "文件无法读取或已损坏", "the file cannot be read or is corrupt"),
    "file_undecodable": _text(E, "文件编码无法识别（请使用 UTF-8 或 GB18030）",
                              "the file's text encoding is not UTF-8 or GB18030"),
    "unsupported_extension": _text(E, "不支持的文件类型（仅接受 csv、xlsx、json）",
                                   "unsupported file type (only csv, xlsx and json are accepted)"),
    "empty_file": _text(E, "文件为空或没有数据行", "the file is empty or has no data rows"),
    "file_too_large": _text(E, "文件超过大小上限", "the file is larger than the size limit"),
    "spreadsheet_too_large": _text(E, "表格展开后超过安全上限（行列过多或压缩异常）",
                                   "the spreadsheet expands past safe limits (too many cells or a suspicious compression ratio)"),
    "too_many_columns": _text(E, "列数过多", "the file has too many columns"),
    "header_not_found": _text(E, "未找到表头行（前 20 行内没有可识别的列名）",
                              "no header row found (no known column names in the first 20 rows)"),
    "sheet_ambiguous": _text(E, "多个工作表都像数据表，无法确定读取哪一个",
                             "several sheets hold the table and the period cannot decide between them"),
    "sheet_for_period_missing": _text(E, "工作簿中没有本报送期（月份）的工作表",
                                      "the workbook has no sheet for this period's month"),
    "too_many_merged_ranges": _text(E, "合并单元格过多，超过安全上限",
                                    "the sheet has more merged ranges than is safe to read"),
    "required_column_missing": _text(E, "缺少必填列", "a required column is missing"),
    "duplicate_column": _text(E, "同一列出现多次", "the same column appears more than once"),
    "duplicate_key": _text(E, "文件内主键重复", "duplicate key inside the file"),
    "unknown_county_path": _text(E, "路径中的县区代码未知", "the county in the file's path is unknown"),
    "unknown_dataset_path": _text(E, "路径中的数据集未知", "the dataset in the file's path is unknown"),
    "unknown_period_path": _text(E, "路径中的报送期无效", "the period in the file's path is not valid"),
    "period_kind_mismatch": _text(E, "报送期类型与数据集不符", "the period does not fit this dataset"),
    "path_layout": _text(E, "文件路径应为 <县区代码>/<数据集>/<报送期>/<文件名>",
                         "the file path must be <county_code>/<dataset>/<period>/<file name>"),
    "json_shape": _text(E, "JSON 应为记录数组或包含 records 的对象",
                        "JSON must be a list of records or an object with a records list"),
    "json_header_mismatch": _text(E, "JSON 头部信息与文件路径不一致",
                                  "the JSON header keys disagree with the file's path"),
    # warnings about the file as a whole
    "unknown_column": _text(W, "未识别的列已忽略", "unknown column ignored"),
    "total_row_mismatch": _text(W, "合计行与各行之和不一致", "the total row does not match the column sum"),
    "subtotal_mismatch": _text(W, "小计行与本组各行之和不一致",
                               "the subtotal row does not match the sum of its group's rows"),
    "row_total_mismatch": _text(W, "本行“合计”列与各类别人数之和不一致",
                                "the row's 合计 column does not match the sum of its categories"),
    "sheet_skipped": _text(W, "工作表未读取", "sheet not read"),
    "hidden_rows_skipped": _text(W, "隐藏行未作为数据读取", "hidden rows were not read as data"),
    "hidden_columns_ignored": _text(W, "隐藏列已忽略", "hidden columns were ignored"),
    "county_from_path": _text(W, "表中没有县（区）列，已按文件路径中的县区填写",
                              "the sheet has no county column; the county in the file's path was used"),
    "count_dash_zero": _text(W, "必填数量填写了“—”“/”“无”等符号，按 0 计",
                             "a required count was written as —, / or 无 and is read as 0"),
    # value level: the row is invalid
    "value_required": _text(E, "必填项为空", "a required value is missing"),
    "count_format": _text(E, "应为非负整数", "must be a whole number of 0 or more"),
    "count_approximate": _text(E, "数量须为确数，不能填约数（如“2000多”“约2000”）",
                               "counts must be exact, not approximate (e.g. '2000多', '约2000')"),
    "decimal_format": _text(E, "应为数字", "must be a number"),
    "grade_format": _text(E, "年级应为 1 至 3（如“一年级”“高一”）", "grade must be 1 to 3 (e.g. 一年级, 高一)"),
    "grade_cohort": _text(E, "入学年级（如“2025级”）不在本学年的一至三年级内",
                          "the cohort (e.g. 2025级) is not grade 1 to 3 in this school year"),
    "date_format": _text(E, "日期格式无法识别（如 2025-07-06、2025年7月6日）",
                         "unrecognised date (use e.g. 2025-07-06 or 2025年7月6日)"),
    "enum_unknown": _text(E, "取值不在允许范围内", "value is not one of the allowed values"),
    "county_unknown": _text(E, "县区名称或代码未知", "unknown county name or code"),
    "county_mismatch": _text(E, "县区与文件路径中的县区不一致", "the county differs from the county in the file's path"),
}
