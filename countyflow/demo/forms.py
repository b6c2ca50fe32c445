"""Real county forms (SPEC §3.1): what a county office's spreadsheet looks like around the data.

This module knows the datasets: which columns a clerk writes once per group (merged down),
which group gets a 小计 row and where its label goes, how the rows are ordered so groups are
contiguous, the row a clerk hides instead of deleting (a cancelled site or facility, never
part of the canonical data), the `其中：女` column of a vocational form, the wide volunteer
sheet, and the 卫统 block above a health table. `countyflow.demo.render` writes the cells.

Everything here is deterministic: choices come from `rng_for` / `uniform` with the seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import polars as pl

from countyflow.demo._random import rng_for, salt_for, uniform


@dataclass(frozen=True)
class Groups:
    """How a dataset's rows group on a form."""

    merge: tuple[str, ...]
    """Columns written once per group in a cell merged down, outermost first (nested runs)."""
    by: str
    """The column whose groups get a 小计 row."""
    label: str
    """The column holding the 小计 label (`龙头山镇小计`, or `小计`)."""
    named: bool
    """Label the subtotal with the group's name (`龙头山镇小计`) rather than `小计`."""


GROUPS: dict[str, Groups] = {
    "childcare_sites": Groups(("county_code", "township"), "township", "township", True),
    "childcare_volunteers": Groups(("site_code",), "site_code", "site_code", False),
    "childcare_daily": Groups(("county_code", "site_code"), "site_code", "site_code", False),
    "vocational_enrollment": Groups(("county_code", "school_code", "school_name", "program"),
                                    "school_code", "school_name", True),
    "health_monthly": Groups(("county_code", "facility_code", "facility_name"),
                             "facility_code", "facility_name", False),
}

WIDE_SOURCES: tuple[tuple[str, str], ...] = (
    ("university_student", "大学生志愿者"),
    ("returning_student", "返乡大学生"),
    ("school_staff", "教职工"),
    ("community_worker", "村（社区）干部"),
    ("social_volunteer", "社会爱心人士"),
    ("other", "其他"),
)
"""Volunteer kinds as the columns of a wide sheet (one row per site), in template order."""
WIDE_TOTAL = "合计"

TWO_ROW_PARENT = "其中"
"""Sites: `其中` merged across over `留守儿童数 | 搬迁群众子女数`."""
TWO_ROW_LEAVES: dict[str, str] = {"left_behind_children": "留守儿童数", "relocated_children": "搬迁群众子女数"}
ENROLLED_PARENT = "在校生数"
"""Vocational: `在校生数` merged across over `合计 | 其中：女`."""
ENROLLED_LEAF = "合计"
FEMALE_LEAF = "其中：女"
FEMALE_HEADER = f"{ENROLLED_PARENT}（{FEMALE_LEAF}）"
"""The female column's name as a reader qualifies it by its parent (not a contract column)."""

MONTH_SHEET = "{month}月"
INSTRUCTIONS_SHEET = "填表说明"
INSTRUCTIONS: tuple[str, ...] = (
    "填表说明",
    "1. 本表由各县（市、区）主管部门填报，经审核后报市级汇总。",
    "2. 数量请填写确数，不要填写“约”“余”“多”等字样；没有的填 0 或“—”。",
    "3. 日期请按“2025年7月6日”或“2025-07-06”的格式填写。",
    "4. 合计、小计行请勿删除；已撤销的不要删除行，可将该行隐藏。",
    "5. 如有疑问，请与市级业务科室联系。",
)

_PROGRAMS_STOPPED = ("汽车运用与维修", "计算机应用", "电子商务", "旅游服务与管理", "畜禽生产技术",
                     "服装设计与工艺", "农村电气技术")
"""Programmes a school stopped recruiting for: the hidden row of a vocational form."""
CANCELLED_FACILITY = ("12530600MC0000001X", "云南省滇东北中心医院（北院区）")
"""A branch that stopped reporting: the hidden row of a health form (no real facility's code)."""


def cancelled_site_code(county_code: str) -> str:
    """A site code no registry uses (`530602-X01`): the hidden row of a childcare form."""
    return f"{county_code}-X01"


def arrange(dataset: str, frame: pl.DataFrame, *, merge_keys: bool, subtotals: bool,
            month_sheets: bool, wide: bool) -> pl.DataFrame:
    """The rows in the order the form writes them: month sheets first (daily attendance),
    then groups contiguous, each group where its first row was (a stable sort, so rows
    keep their order inside a group). A wide volunteer sheet cannot carry institutions."""
    if wide:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Utf8).alias("institution"))
    keys: list[pl.Expr] = []
    if month_sheets and dataset == "childcare_daily":
        keys.append(pl.col("date").dt.month())
    if merge_keys or subtotals:
        columns = [c for c in (*GROUPS[dataset].merge, GROUPS[dataset].by) if c in frame.columns]
        for depth in range(1, len(columns) + 1):
            keys.append(pl.int_range(pl.len()).min().over(columns[:depth]))
    if not keys:
        return frame
    ranks = [key.alias(f"__rank{i}") for i, key in enumerate(keys)]
    names = [f"__rank{i}" for i in range(len(keys))]
    return frame.with_columns(ranks).sort(names, maintain_order=True).drop(names)


def wide_possible(frame: pl.DataFrame) -> bool:
    """A wide sheet writes one number per site × kind: only when no site has two rows of a kind
    (several institutions), so the numbers are the canonical rows' own."""
    return frame.height > 0 and not frame.select(
        pl.struct("site_code", "source").is_duplicated().any()).item()


def wide(frame: pl.DataFrame) -> pl.DataFrame:
    """Volunteers as one row per site (in order of first appearance), one column per kind
    (null where the site has none of that kind) and their 合计."""
    order = frame.select("site_code").unique(maintain_order=True)
    kinds = [pl.col("volunteers").filter(pl.col("source") == source).sum().alias(label)
             for source, label in WIDE_SOURCES]
    counts = frame.group_by("site_code", maintain_order=True).agg(kinds)
    labels = [label for _, label in WIDE_SOURCES]
    return (order.join(counts, on="site_code", how="left", maintain_order="left")
            .with_columns(pl.sum_horizontal(labels).alias(WIDE_TOTAL))
            .with_columns(pl.when(pl.col(label) > 0).then(pl.col(label)).otherwise(None).alias(label)
                          for label in labels))


def female(enrolled: pl.Series, seed: int, *salt: object) -> pl.Series:
    """A plausible `其中：女` count for each enrolled figure (30–65 %, never more)."""
    u = uniform(salt_for(seed, "female", *salt), pl.int_range(enrolled.len(), dtype=pl.Int64, eager=True))
    return (enrolled.cast(pl.Float64) * (0.30 + 0.35 * u)).floor().cast(pl.Int64).alias(FEMALE_HEADER)


def hidden_row(dataset: str, frame: pl.DataFrame, county_code: str, seed: int, *salt: object,
               ) -> tuple[int, pl.DataFrame]:
    """A row a clerk hid rather than deleted, and the data row it follows.

    Its values are nobody's canonical data: a cancelled site (a code no registry holds), a
    stopped programme, a branch that no longer reports. It sits after the last row of a group
    in the middle of the table, so a 小计 following it never counts it.
    """
    rng = rng_for(seed, "hidden-row", dataset, county_code, *salt)
    after = hidden_position(frame, GROUPS[dataset].by, rng)
    return after, _cancelled(dataset, frame.slice(after, 1), county_code, frame, rng)


def hidden_position(frame: pl.DataFrame, by: str, rng: random.Random) -> int:
    """The data row a hidden row follows: the last row of a group in the middle of the table."""
    if by not in frame.columns:
        return frame.height // 2
    ends = frame.select(pl.col(by).ne_missing(pl.col(by).shift(-1)).arg_true()).to_series().to_list()
    middle = [i for i in ends if frame.height // 4 <= i < frame.height - 1] or [frame.height // 2]
    return rng.choice(middle)


def _cancelled(dataset: str, row: pl.DataFrame, county_code: str, frame: pl.DataFrame,
               rng: random.Random) -> pl.DataFrame:
    half = {c: (pl.col(c) // 2 + 1).alias(c) for c in row.columns
            if c in ("children_enrolled", "left_behind_children", "relocated_children", "children_present",
                     "meals_served", "volunteers", "enrolled", "new_intake", "surgeries",
                     "interventional_procedures")}
    if dataset in ("childcare_sites", "childcare_daily", "childcare_volunteers"):
        changes = [pl.lit(cancelled_site_code(county_code)).alias("site_code")]
        if dataset == "childcare_sites":
            changes.append((pl.col("site_name") + "（二部）").alias("site_name"))
            half["left_behind_children"] = (pl.col("left_behind_children") // 2).alias("left_behind_children")
            half["relocated_children"] = (pl.col("relocated_children") // 2).alias("relocated_children")
        if dataset == "childcare_volunteers":
            half["volunteers"] = pl.lit(1, dtype=pl.Int64).alias("volunteers")
        return row.with_columns(*changes, *half.values())
    if dataset == "vocational_enrollment":
        taken = set(frame.filter(pl.col("school_code") == row["school_code"][0])["program"])
        program = next((p for p in rng.sample(_PROGRAMS_STOPPED, len(_PROGRAMS_STOPPED)) if p not in taken),
                       "停招专业")
        half["dropouts"] = (pl.col("dropouts") // 2).alias("dropouts")
        half["new_intake"] = pl.when(pl.col("grade") == 1).then(pl.col("enrolled") // 2 + 1).otherwise(0
                                                                                                       ).alias("new_intake")
        return row.with_columns(pl.lit(program).alias("program"), *half.values())
    code, name = CANCELLED_FACILITY
    return row.with_columns(pl.lit(code).alias("facility_code"), pl.lit(name).alias("facility_name"),
                            *half.values())


def wide_hidden_row(county_code: str) -> dict[str, object]:
    """The wide sheet's hidden row: a cancelled site with a few volunteers."""
    return {"site_code": cancelled_site_code(county_code), "大学生志愿者": None, "返乡大学生": 1,
            "教职工": 2, "村（社区）干部": 1, "社会爱心人士": None, "其他": None, WIDE_TOTAL: 4}


def health_block(period_year: int, month: int, facility_name: str) -> tuple[tuple[bool, str], ...]:
    """The 卫统 block above a health table: (right-hand side?, text) per line."""
    return (
        (True, "表号：卫统1-1表"),
        (True, "制表机关：国家卫生健康委员会"),
        (True, "批准机关：国家统计局"),
        (True, "批准文号：国统制〔2024〕18号"),
        (True, "有效期至：2027年12月"),
        (False, "组织机构代码：□□□□□□□□-□"),
        (False, f"机构名称：{facility_name}"),
        (False, f"{period_year}年 {month}月"),
    )
