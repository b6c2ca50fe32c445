"""Contract: 托管点每日到托情况 — daily attendance at childcare sites (period: season).

Checked against the county's site registry for the season; held until it arrives.
"""

from __future__ import annotations

import polars as pl

from countyflow.periods import PeriodKind
from schemas._common import (
    county_column,
    in_period,
    site_code_column,
    site_code_format_rule,
    site_registered_rule,
)
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
             lambda: in_period("date")),
        Rule("date_outside_site_service", S.WARNING, "date",
             "日期不在该托管点的开班与结班日期之间", "date is outside the site's start and end dates",
             lambda: pl.col("date").is_between(pl.col("ctx_site_start"), pl.col("ctx_site_end")),
             requires=("ctx_site_start", "ctx_site_end")),
        Rule("present_exceed_enrolled", S.WARNING, "children_present",
             "到托人数大于该托管点的托管儿童数", "children present exceed the site's children enrolled",
             lambda: pl.col("children_present") <= pl.col("ctx_site_children_enrolled"),
             requires=("ctx_site_children_enrolled",)),
        Rule("meals_exceed_people", S.WARNING, "meals_served",
             "供餐人次大于到托儿童与在岗志愿者之和", "meals served exceed children present plus volunteers",
             lambda: pl.col("meals_served")
             <= pl.col("children_present") + pl.col("volunteers_on_duty").fill_null(0)),
    ),
    lookups=("site_registry",),
    hold_until="site_registry",
    depends_on=("childcare_sites",),
)
