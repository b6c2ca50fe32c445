"""Contract: 托管点安全检查情况 — safety inspections at childcare sites (period: season).

The worked example of adding a dataset (CONTRIBUTING.md, "Adding a dataset"): this file
goes to `schemas/childcare_safety.py`.
"""

from __future__ import annotations

from countyflow.periods import PeriodKind
from schemas._common import county_column, site_code_column, site_code_format_rule
from schemas.checks import AtMost, InPeriod
from schemas.contract import Column, Contract, Rule
from schemas.contract import ColumnType as T
from schemas.contract import Severity as S

CONTRACT = Contract(
    dataset="childcare_safety",
    title_zh="托管点安全检查情况",
    title_en="Childcare sites: safety inspections",
    grain="site × inspection date",
    period_kinds=frozenset({PeriodKind.SUMMER, PeriodKind.WINTER}),
    key=("site_code", "inspection_date"),
    columns=(
        county_column(required=False),
        site_code_column(),
        Column("inspection_date", T.DATE, "检查日期", "day of the inspection", aliases=("日期",)),
        Column("hazards_found", T.COUNT, "发现隐患数", "hazards found", aliases=("隐患数",)),
        Column("hazards_fixed", T.COUNT, "已整改隐患数", "hazards fixed", aliases=("整改数",)),
    ),
    rules=(
        site_code_format_rule(),
        Rule("inspection_outside_season", S.ERROR, "inspection_date",
             "检查日期不在本假期范围内", "inspection date is outside the season",
             InPeriod(),
             fix_zh="把检查日期改为本假期内的日期", fix_en="use a date inside the holiday"),
        Rule("fixed_exceed_found", S.ERROR, "hazards_fixed",
             "已整改隐患数大于发现隐患数", "hazards fixed exceed hazards found",
             AtMost("hazards_found"),
             fix_zh="核对两个数：已整改的只能是本次发现的隐患",
             fix_en="check both numbers: only hazards found can be fixed"),
    ),
)
