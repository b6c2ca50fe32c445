"""Contract: 托管点每日到托情况 — daily attendance at childcare sites (period: season).

Checked against the county's site registry for the season; held until it arrives.
"""

from __future__ import annotations

import polars as pl

from countyflow.periods import PeriodKind
from schemas._common import (
    county_column,
    site_code_column,
    site_code_format_rule,
    site_registered_rule,
)
from schemas.checks import AtMost, Custom, InPeriod
from schemas.contract import Column, Contract, Rule
from schemas.contract import ColumnType as T
from schemas.contract import Severity as S

CONTRACT = Contract(
    dataset="childcare_daily",
    title_zh="托管点每日到托情况",
    title_en="Childcare sites: daily attendance",
    grain="site × date",
    period_kinds=frozenset({PeriodKind.SUMMER, PeriodKind.WINTER}),
    key=("site_code", "date"),
    columns=(
        county_column(required=False),
        site_code_column(),
        Column("date", T.DATE, "日期", "day of attendance", aliases=("到托日期",)),
        Column("children_present", T.COUNT, "到托人数", "children present", aliases=("实到人数",)),
        Column("volunteers_on_duty", T.COUNT, "在岗志愿者人数", "volunteers on duty", required=False),
        Column("meals_served", T.COUNT, "供餐人次", "meals served", required=False,
               aliases=("用餐人数",)),
    ),
    rules=(
        site_code_format_rule(),
        site_registered_rule(),
        Rule("date_outside_season", S.ERROR, "date",
             "日期不在本假期范围内", "date is outside the season",
             InPeriod(),
             fix_zh="把日期改为本假期内的日期（暑期 6月15日–9月15日，寒假 1月1日–3月15日）",
             fix_en="use a date inside the holiday (summer: 15 Jun – 15 Sep; winter: 1 Jan – 15 Mar)"),
        Rule("date_outside_site_service", S.WARNING, "date",
             "日期不在该托管点的开班与结班日期之间", "date is outside the site's start and end dates",
             Custom(lambda: pl.col("date").is_between(pl.col("ctx_site_start"), pl.col("ctx_site_end")),
                    "`date` between the site's start and end dates", requires=("ctx_site_start", "ctx_site_end")),
             fix_zh="核对日期，或基本情况表中该托管点的开始、结束日期",
             fix_en="check the date, or the site's start and end dates in the sites form"),
        Rule("present_exceed_enrolled", S.WARNING, "children_present",
             "到托人数大于该托管点的托管儿童数", "children present exceed the site's children enrolled",
             AtMost("ctx_site_children_enrolled", requires=("ctx_site_children_enrolled",)),
             fix_zh="核对到托人数；托管儿童数有变化的，更新托管点基本情况表",
             fix_en="check children present; if enrolment changed, update the sites form"),
        Rule("meals_exceed_people", S.WARNING, "meals_served",
             "供餐人次大于到托儿童与在岗志愿者之和", "meals served exceed children present plus volunteers",
             Custom(lambda: pl.col("meals_served")
                    <= pl.col("children_present") + pl.col("volunteers_on_duty").fill_null(0),
                    "`meals_served` ≤ `children_present` + `volunteers_on_duty`"),
             fix_zh="核对供餐人次，只计当天到托儿童和在岗志愿者",
             fix_en="check meals served: count only that day's children present and volunteers on duty"),
    ),
    lookups=("site_registry",),
    hold_until="site_registry",
    depends_on=("childcare_sites",),
)
