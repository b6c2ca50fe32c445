"""Contract: 假期托管点基本情况 — holiday childcare sites (period: summer/winter break).

This is the site registry: daily attendance and volunteers are checked against it.
"""

from __future__ import annotations

import polars as pl

from countyflow.periods import PeriodKind
from schemas._common import county_column, site_code_column, site_code_format_rule
from schemas.checks import AtMost, Between, Custom, InPeriod, NotBefore
from schemas.contract import Column, Contract, Rule
from schemas.contract import ColumnType as T
from schemas.contract import Severity as S

HOST_TYPES: dict[str, tuple[str, ...]] = {
    "school": ("学校", "学校托管点", "中小学"),
    "childrens_home": ("儿童之家", "村（社区）儿童之家"),
    "community_center": ("社区", "“一老一小”关爱服务中心", '"一老一小"关爱服务中心',
                         "一老一小关爱服务中心", "社区服务中心"),
    "mobile": ("流动服务点", "移动的儿童之家", "“移动的儿童之家”", "流动托管"),
}

MIN_SERVICE_DAYS = 30

CONTRACT = Contract(
    dataset="childcare_sites",
    title_zh="假期托管点基本情况",
    title_en="Holiday childcare sites",
    grain="site × season",
    period_kinds=frozenset({PeriodKind.SUMMER, PeriodKind.WINTER}),
    key=("site_code",),
    columns=(
        county_column(),
        site_code_column(),
        Column("site_name", T.TEXT, "托管点名称", "site name"),
        Column("township", T.TEXT, "乡镇（街道）", "township or sub-district",
               required=False, aliases=("乡镇", "街道", "乡（镇、街道）")),
        Column("host_type", T.ENUM, "托管点类型", "kind of host", aliases=("举办类型",),
               vocabulary=HOST_TYPES),
        Column("start_date", T.DATE, "开始日期", "first day of service", aliases=("开班日期",)),
        Column("end_date", T.DATE, "结束日期", "last day of service", aliases=("结班日期",)),
        Column("hours_per_day", T.DECIMAL, "每日托管时长", "hours of care per day",
               aliases=("每天托管小时数", "每日托管时长（小时）")),
        Column("meal_subsidy_yuan", T.DECIMAL, "午餐补助标准", "lunch subsidy, yuan per child-day",
               required=False, aliases=("餐补标准", "午餐补助标准（元/人·天）")),
        Column("children_enrolled", T.COUNT, "托管儿童数", "children enrolled at the site",
               aliases=("受托儿童数",)),
        Column("left_behind_children", T.COUNT, "其中留守儿童数", "of whom left-behind children",
               aliases=("留守儿童数", "留守儿童", "其中：留守儿童")),
        Column("relocated_children", T.COUNT, "其中搬迁群众子女数",
               "of whom children of relocated families", required=False,
               aliases=("易地搬迁家庭儿童数", "搬迁群众子女数", "搬迁群众子女", "易地搬迁儿童数")),
        Column("service_person_times", T.COUNT, "服务人次", "visits served (mobile sites)",
               required=False),
    ),
    rules=(
        site_code_format_rule(),
        Rule("start_outside_season", S.ERROR, "start_date",
             "开始日期不在本假期范围内", "start date is outside the season",
             InPeriod(),
             fix_zh="把日期改为本假期内的日期（暑期 6月15日–9月15日，寒假 1月1日–3月15日）",
             fix_en="use a date inside the holiday (summer: 15 Jun – 15 Sep; winter: 1 Jan – 15 Mar)"),
        Rule("end_outside_season", S.ERROR, "end_date",
             "结束日期不在本假期范围内", "end date is outside the season",
             InPeriod(),
             fix_zh="把日期改为本假期内的日期（暑期 6月15日–9月15日，寒假 1月1日–3月15日）",
             fix_en="use a date inside the holiday (summer: 15 Jun – 15 Sep; winter: 1 Jan – 15 Mar)"),
        Rule("end_before_start", S.ERROR, "end_date",
             "结束日期早于开始日期", "end date is before the start date",
             NotBefore("start_date"),
             fix_zh="核对开始、结束日期是否填反，或年份、月份写错",
             fix_en="check whether start and end are swapped or have a wrong month or year"),
        Rule("hours_out_of_range", S.ERROR, "hours_per_day",
             "每日托管时长应大于 0 且不超过 12 小时", "hours per day must be more than 0 and at most 12",
             Between(0, 12, strict_min=True),
             fix_zh="填每天托管的小时数，如 5.5（不是分钟数或总时长）",
             fix_en="write the hours of care per day, e.g. 5.5 (not minutes or a total)"),
        Rule("hours_below_policy", S.WARNING, "hours_per_day",
             "每日托管时长少于 5 小时（政策要求 5–6 小时）", "fewer than 5 hours a day (policy is 5–6 h)",
             Between(5),
             fix_zh="核实每日托管时长；确实不足 5 小时的可不改",
             fix_en="check the daily hours; if they really are under 5, leave them"),
        Rule("meal_subsidy_out_of_range", S.ERROR, "meal_subsidy_yuan",
             "午餐补助标准应在 0–50 元之间", "meal subsidy must be between 0 and 50 yuan",
             Between(0, 50),
             fix_zh="填每人每天的补助元数，如 10（不是总金额）",
             fix_en="write yuan per child per day, e.g. 10 (not the total amount)"),
        Rule("left_behind_exceed_enrolled", S.ERROR, "left_behind_children",
             "留守儿童数不能大于托管儿童数", "left-behind children cannot exceed children enrolled",
             AtMost("children_enrolled"),
             fix_zh="核对两个数：留守儿童是托管儿童中的一部分",
             fix_en="check both figures: left-behind children are part of the children enrolled"),
        Rule("relocated_exceed_enrolled", S.ERROR, "relocated_children",
             "搬迁群众子女数不能大于托管儿童数", "relocated children cannot exceed children enrolled",
             AtMost("children_enrolled"),
             fix_zh="核对两个数：搬迁群众子女是托管儿童中的一部分",
             fix_en="check both figures: children of relocated families are part of the children enrolled"),
        Rule("service_days_below_policy", S.WARNING, "end_date",
             "托管服务不足 30 天（政策要求 30 天以上）", "fewer than 30 service days (policy is 30 or more)",
             Custom(lambda: ((pl.col("end_date") - pl.col("start_date")).dt.total_days() + 1) >= MIN_SERVICE_DAYS,
                    f"`end_date` − `start_date` + 1 ≥ {MIN_SERVICE_DAYS} days"),
             fix_zh="核实开始、结束日期；确实不足 30 天的可不改",
             fix_en="check the start and end dates; if the service really was shorter, leave them"),
    ),
)
