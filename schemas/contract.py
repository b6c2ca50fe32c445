"""The contract vocabulary: what a dataset contract declares, once.

A `Contract` lists a dataset's columns (canonical name, Chinese label, aliases, type,
requiredness), its key and grain, and its rules, each with a severity and a message in
Chinese and English. The parser maps headers with it, the normaliser types values with
it, `schemas.pandera` builds the Pandera schema from it, the clerk report explains
issues with it, and the docs are generated from it. A rule is declared in the small
vocabulary of `schemas.checks` (between, at most, pattern, in period…), from which its
vectorised Polars expression, the warehouse gate's check and the docs all come.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import polars as pl

from countyflow.periods import PeriodKind
from schemas.checks import RuleCheck


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
    def dtype(self) -> builtins.type[pl.DataType]:  # `type` here is the field above
        return POLARS_TYPES[self.type]

    @property
    def headers(self) -> tuple[str, ...]:
        """Every header that names this column: canonical, Chinese label, aliases."""
        return (self.name, self.label_zh, *self.aliases)


@dataclass(frozen=True)
class Rule:
    """A row-level rule: `check` (`schemas.checks`) says what must hold for `column`.

    `passes()` is its Polars expression, true where a row passes; a null result counts as
    passing (a missing optional value is not a violation; a missing required value is
    reported by the `value_required` rule instead). `requires` names the context columns
    (see `schemas.lookups`) the check needs; when a context is unavailable (no warehouse,
    e.g. `countyflow check`), the rule is not evaluated.
    """

    id: str
    severity: Severity
    column: str
    message_zh: str
    message_en: str
    check: RuleCheck
    fix_zh: str = ""
    """怎么改: one short line telling the clerk how to correct a failing row."""
    fix_en: str = ""

    def passes(self) -> pl.Expr:
        return self.check.expression(self.column)

    @property
    def requires(self) -> tuple[str, ...]:
        return self.check.requires

    @property
    def condition(self) -> str:
        """The condition in words, for the docs."""
        return self.check.describe(self.column)


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
class WideForm:
    """A cross-tab layout a contract also accepts: one column per value of the ENUM column
    `category` (headed by any of its spellings), each cell holding that category's
    `value`, plus an optional row-total column (`合计`). The reader unpivots it into the
    long form, one row per row × category with a value, and reconciles the row total."""

    category: str
    value: str
    total_headers: tuple[str, ...] = ("合计", "小计", "总计", "合计人数")


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
    wide: WideForm | None = None
    """Set when a sheet may carry one column per value of an enumeration (SPEC §3.1)."""

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
    "file_unreadable": _text(E, "文件无法读取或已损坏", "the file cannot be read or is corrupt",
                             fix_zh="用 Excel 或 WPS 打开，确认内容正常后另存为 .xlsx 重新报送",
                             fix_en="open it in Excel or WPS, check it shows correctly, save as .xlsx and submit again"),
    "file_undecodable": _text(E, "文件编码无法识别（请使用 UTF-8 或 GB18030）",
                              "the file's text encoding is not UTF-8 or GB18030",
                              fix_zh="在 Excel 中另存为“CSV UTF-8”或 .xlsx 后重新报送",
                              fix_en="save it again from Excel as 'CSV UTF-8' or .xlsx and submit again"),
    "mixed_encoding": _text(E, "文件前半部分是 UTF-8 编码，后面却混入了其他编码（如 GBK）的内容",
                            "the file starts in UTF-8 but later lines are in another encoding (e.g. GBK)",
                            fix_zh="在 Excel 或 WPS 中打开，检查并重新录入提示的那一行及其后从别处粘贴的内容，另存为“CSV UTF-8”或 .xlsx 后重新报送",
                            fix_en="open it in Excel or WPS, retype the named line and anything pasted after it, save as 'CSV UTF-8' or .xlsx and submit again"),
    "unsupported_extension": _text(E, "不支持的文件类型（仅接受 csv、xlsx、json）",
                                   "unsupported file type (only csv, xlsx and json are accepted)",
                                   fix_zh="在 Excel 或 WPS 中另存为 .xlsx 后重新报送",
                                   fix_en="save it as .xlsx in Excel or WPS and submit again"),
    "empty_file": _text(E, "文件为空或没有数据行", "the file is empty or has no data rows",
                        fix_zh="确认报送的是正确的文件，并在表头下方填好数据行",
                        fix_en="check it is the right file and that data rows are filled in under the header"),
    "file_too_large": _text(E, "文件超过大小上限", "the file is larger than the size limit",
                            fix_zh="删除图片、无关工作表和大片空白行列，另存后重新报送",
                            fix_en="remove pictures, unrelated sheets and large empty areas, save and submit again"),
    "spreadsheet_too_large": _text(E, "表格展开后超过安全上限（行列过多或压缩异常）",
                                   "the spreadsheet expands past safe limits (too many cells or a suspicious compression ratio)",
                                   fix_zh="删除无关工作表和设置过格式的大片空白区域，另存为新的 .xlsx 后重新报送",
                                   fix_en="delete unrelated sheets and large formatted empty areas, save as a new .xlsx and submit again"),
    "too_many_columns": _text(E, "列数过多", "the file has too many columns",
                              fix_zh="删除表格右侧多余的空列和无关列",
                              fix_en="delete the empty and unrelated columns to the right of the table"),
    "header_not_found": _text(E, "未找到表头行（前 20 行内没有可识别的列名）",
                              "no header row found (no known column names in the first 20 rows)",
                              fix_zh="使用市里下发的模板，列名不要改动，表头放在前 20 行内",
                              fix_en="use the city's template with its column names unchanged, header within the first 20 rows"),
    "sheet_ambiguous": _text(E, "多个工作表都像数据表，无法确定读取哪一个",
                             "several sheets hold the table and the period cannot decide between them",
                             fix_zh="删除重复的数据表，只保留本期的那一张",
                             fix_en="delete the duplicate table sheet and keep only this period's one"),
    "sheet_for_period_missing": _text(E, "工作簿中没有本报送期（月份）的工作表",
                                      "the workbook has no sheet for this period's month",
                                      fix_zh="把本月数据放在以月份命名的工作表中（如“6月”）",
                                      fix_en="put this month's data on a sheet named by the month (e.g. 6月)"),
    "too_many_merged_ranges": _text(E, "合并单元格过多，超过安全上限",
                                    "the sheet has more merged ranges than is safe to read",
                                    fix_zh="取消表格正文中的合并单元格，每行填写完整",
                                    fix_en="unmerge the cells in the table body and fill in every row in full"),
    "required_column_missing": _text(E, "缺少必填列", "a required column is missing",
                                     fix_zh="按模板补上说明中列出的列，列名不要改动",
                                     fix_en="add the columns named in the message, as the template names them"),
    "duplicate_column": _text(E, "同一列出现多次", "the same column appears more than once",
                              fix_zh="删除重复的列，每一项只保留一列",
                              fix_en="delete the repeated column so each item appears once"),
    "duplicate_key": _text(E, "文件内主键重复", "duplicate key inside the file",
                           fix_zh="合并或删除重复的行；若确是不同的行，核对编码是否填错",
                           fix_en="merge or delete the repeated rows; if they really differ, check for a mistyped code"),
    "unknown_county_path": _text(E, "路径中的县区代码未知", "the county in the file's path is unknown",
                                 fix_zh="把文件放到以本县区 6 位代码命名的文件夹中（如 530602）",
                                 fix_en="put the file in the folder named by your county's 6-digit code (e.g. 530602)"),
    "unknown_dataset_path": _text(E, "路径中的数据集未知", "the dataset in the file's path is unknown",
                                  fix_zh="把文件放到报送说明规定的数据集文件夹中",
                                  fix_en="put the file in the dataset folder named in the reporting instructions"),
    "unknown_period_path": _text(E, "路径中的报送期无效", "the period in the file's path is not valid",
                                 fix_zh="报送期文件夹按 2025、2025-summer、2025-winter 或 2025-07 的格式命名",
                                 fix_en="name the period folder like 2025, 2025-summer, 2025-winter or 2025-07"),
    "path_undecodable": _text(E, "文件名或文件夹名的编码无法识别（既不是 UTF-8 也不是 GB18030）",
                              "the file or folder name is not readable text (neither UTF-8 nor GB18030)",
                              fix_zh="把文件重命名为普通的中文或英文名称后重新报送；不要用压缩软件改过编码的名称",
                              fix_en="rename the file with plain Chinese or English characters and submit it again"),
    "period_kind_mismatch": _text(E, "报送期类型与数据集不符", "the period does not fit this dataset",
                                  fix_zh="放到本数据集对应的报送期文件夹（学年、假期或月份）",
                                  fix_en="put the file under this dataset's kind of period (school year, holiday or month)"),
    "path_layout": _text(E, "文件路径应为 <县区代码>/<数据集>/<报送期>/<文件名>",
                         "the file path must be <county_code>/<dataset>/<period>/<file name>",
                         fix_zh="把文件移到正确的文件夹层级，不要多建或少建文件夹",
                         fix_en="move the file to the right folder level, with no extra or missing folders"),
    "json_shape": _text(E, "JSON 应为记录数组或包含 records 的对象",
                        "JSON must be a list of records or an object with a records list",
                        fix_zh="改用 xlsx 模板报送，或请技术人员按说明重新生成 JSON",
                        fix_en="send the xlsx template instead, or have the JSON regenerated as documented"),
    "json_duplicate_key": _text(E, "JSON 同一对象中的键重复（只能保留一个值）",
                                "a key appears twice in one JSON object (only one value can be kept)",
                                fix_zh="删除或改正重复的键，每条记录中每项只写一次",
                                fix_en="delete or correct the repeated key so each item appears once per record"),
    "json_header_mismatch": _text(E, "JSON 头部信息与文件路径不一致",
                                  "the JSON header keys disagree with the file's path",
                                  fix_zh="改正或删除 JSON 中的 county_code、dataset、period",
                                  fix_en="correct or delete county_code, dataset and period in the JSON"),
    # staging failed in its worker process (countyflow/isolation.py): the file is rejected
    "reader_crashed": _text(E, "读取该文件时程序异常终止，文件未能处理",
                            "reading this file crashed the reader, so it could not be processed",
                            fix_zh="用 Excel 或 WPS 打开文件，确认内容正常后另存为新的 .xlsx 重新报送；仍不行的请联系市统计局",
                            fix_en="open it in Excel or WPS, check it shows correctly, save as a new .xlsx and submit "
                                   "again; if that fails too, contact the city statistics office"),
    "too_large_when_expanded": _text(E, "文件展开后所需内存超过安全上限（表格范围过大或压缩异常）",
                                     "the file needs more memory than is safe once expanded "
                                     "(a huge sheet range or a suspicious compression)",
                                     fix_zh="删除无关工作表和远处被填写或设置过格式的单元格（按 Ctrl+End 查看），另存为新的 .xlsx 后重新报送",
                                     fix_en="delete unrelated sheets and far-away cells that hold a value or format "
                                            "(Ctrl+End shows them), save as a new .xlsx and submit again"),
    "timed_out": _text(E, "文件处理超时，未能在时限内读取完毕",
                       "the file took longer to process than the time limit allows",
                       fix_zh="删除无关工作表、图片和大片空白行列，另存为新的 .xlsx 后重新报送",
                       fix_en="remove unrelated sheets, pictures and large empty areas, save as a new .xlsx and submit again"),
    # warnings about the file as a whole
    "unknown_column": _text(W, "未识别的列已忽略", "unknown column ignored",
                            fix_zh="该项需要上报的，改用模板中的列名；不需要的可删除该列",
                            fix_en="if the column should be reported, use the template's name for it; otherwise delete it"),
    "total_row_mismatch": _text(W, "合计行与各行之和不一致", "the total row does not match the column sum",
                                fix_zh="核对合计行和各行数据，改正填错的一方",
                                fix_en="check the total row against the rows and correct whichever is wrong"),
    "subtotal_mismatch": _text(W, "小计行与本组各行之和不一致",
                               "the subtotal row does not match the sum of its group's rows",
                               fix_zh="核对小计行和本组各行数据，改正填错的一方",
                               fix_en="check the subtotal against its group's rows and correct whichever is wrong"),
    "row_total_mismatch": _text(W, "本行“合计”列与各类别人数之和不一致",
                                "the row's 合计 column does not match the sum of its categories",
                                fix_zh="核对本行各类别人数和“合计”列，改正填错的一方",
                                fix_en="check the row's category counts against its 合计 column and correct the wrong one"),
    "sheet_skipped": _text(W, "工作表未读取", "sheet not read",
                           fix_zh="该表也有本期数据的，并入数据表；否则无需处理",
                           fix_en="if that sheet holds data for this period, move it into the data sheet; otherwise nothing to do"),
    "hidden_rows_skipped": _text(W, "隐藏行未作为数据读取", "hidden rows were not read as data",
                                 fix_zh="这些行需要上报的，取消隐藏后重新报送；否则删除它们",
                                 fix_en="if these rows should be reported, unhide them and submit again; otherwise delete them"),
    "hidden_columns_ignored": _text(W, "隐藏列已忽略", "hidden columns were ignored",
                                    fix_zh="这些列需要上报的，取消隐藏后重新报送；否则删除它们",
                                    fix_en="if these columns should be reported, unhide them and submit again; otherwise delete them"),
    "county_from_path": _text(W, "表中没有县（区）列，已按文件路径中的县区填写",
                              "the sheet has no county column; the county in the file's path was used",
                              fix_zh="核对文件所在的县区是否正确；正确则无需处理",
                              fix_en="check the file is filed under the right county; if so, nothing to do"),
    "count_dash_zero": _text(W, "必填数量填写了“—”“/”“无”等符号，按 0 计",
                             "a required count was written as —, / or 无 and is read as 0",
                             fix_zh="确实没有的填 0，有数的填实际数",
                             fix_en="write 0 where there really is none, otherwise the actual number"),
    # value level: the row is invalid
    "value_required": _text(E, "必填项为空", "a required value is missing",
                            fix_zh="填写该项；确实没有的数量填 0",
                            fix_en="fill it in; for a count that is really none, write 0"),
    "count_format": _text(E, "应为非负整数", "must be a whole number of 0 or more",
                          fix_zh="只填整数，如 12，不带小数、文字或负号",
                          fix_en="write a whole number such as 12, with no decimals, words or minus sign"),
    "count_approximate": _text(E, "数量须为确数，不能填约数（如“2000多”“约2000”）",
                               "counts must be exact, not approximate (e.g. '2000多', '约2000')",
                               fix_zh="核实后填写准确数字，如 2036",
                               fix_en="check and write the exact figure, e.g. 2036"),
    "decimal_format": _text(E, "应为数字", "must be a number",
                            fix_zh="只填数字，如 5.5；单位写在表头里，不写在格子里",
                            fix_en="write just a number such as 5.5; units belong in the header, not the cell"),
    "grade_format": _text(E, "年级应为 1 至 3（如“一年级”“高一”）", "grade must be 1 to 3 (e.g. 一年级, 高一)",
                          fix_zh="写成数字 1、2 或 3，不加其他文字",
                          fix_en="write it as the digit 1, 2 or 3 with no other words"),
    "grade_cohort": _text(E, "入学年级（如“2025级”）不在本学年的一至三年级内",
                          "the cohort (e.g. 2025级) is not grade 1 to 3 in this school year",
                          fix_zh="只填本学年在读的三个年级（如 2025 学年：2025级、2024级、2023级）",
                          fix_en="use only the three cohorts in school this year (for 2025: 2025级, 2024级, 2023级)"),
    "text_too_long": _text(E, "内容过长，超过单元格字数上限", "the value is longer than a cell may be",
                           fix_zh="只填该项本身（如名称、编码），说明文字不要写进数据格",
                           fix_en="write only the item itself (a name or code); keep explanations out of data cells"),
    "date_format": _text(E, "日期格式无法识别（如 2025-07-06、2025年7月6日）",
                         "unrecognised date (use e.g. 2025-07-06 or 2025年7月6日)",
                         fix_zh="改为完整的年月日，如 2025-07-06，不要写“7月上旬”之类",
                         fix_en="write a full date such as 2025-07-06, not 'early July' or similar"),
    "enum_unknown": _text(E, "取值不在允许范围内", "value is not one of the allowed values",
                          fix_zh="从模板下拉选项中选择，或按数据说明中的允许取值填写",
                          fix_en="pick a value from the template's drop-down list or the data guide"),
    "county_unknown": _text(E, "县区名称或代码未知", "unknown county name or code",
                            fix_zh="填写本县区的全称或 6 位代码，如“昭阳区”或 530602",
                            fix_en="write the county's full name or 6-digit code, e.g. 昭阳区 or 530602"),
    "county_mismatch": _text(E, "县区与文件路径中的县区不一致", "the county differs from the county in the file's path",
                             fix_zh="只报送本县区的数据；其他县区的行删除，或放到该县区的文件夹报送",
                             fix_en="send only your county's rows; delete other counties' rows or file them under that county"),
}
