"""Contract: 托管志愿者情况 — volunteers at childcare sites (period: season)."""

from __future__ import annotations

from countyflow.periods import PeriodKind
from schemas._common import site_code_column, site_code_format_rule, site_registered_rule
from schemas.checks import Between
from schemas.contract import Column, Contract, Rule, WideForm
from schemas.contract import ColumnType as T
from schemas.contract import Severity as S

SOURCES: dict[str, tuple[str, ...]] = {
    "university_student": ("大学生志愿者", "高校志愿者", "大学生"),
    "returning_student": ("返乡大学生",),
    "school_staff": ("教职工", "学校教职工", "教师"),
    "community_worker": ("社区工作者", "村（社区）干部", "村(社区)干部", "村干部"),
    "social_volunteer": ("社会爱心人士", "爱心人士"),
    "other": ("其他",),
}

CONTRACT = Contract(
    dataset="childcare_volunteers",
    title_zh="托管志愿者情况",
    title_en="Childcare sites: volunteers",
    grain="site × volunteer source × institution",
    period_kinds=frozenset({PeriodKind.SUMMER, PeriodKind.WINTER}),
    key=("site_code", "source", "institution"),
    columns=(
        site_code_column(),
        Column("source", T.ENUM, "志愿者类别", "where the volunteers come from",
               aliases=("来源",), vocabulary=SOURCES),
        Column("institution", T.TEXT, "所在高校", "university or employer", required=False,
               aliases=("单位", "所在单位")),
        Column("volunteers", T.COUNT, "人数", "number of volunteers", aliases=("志愿者人数",)),
    ),
    rules=(
        site_code_format_rule(),
        site_registered_rule(),
        Rule("volunteers_below_one", S.ERROR, "volunteers",
             "志愿者人数至少为 1", "there must be at least 1 volunteer",
             Between(1),
             fix_zh="填实际人数；没有这类志愿者的，删除整行",
             fix_en="write the actual number; delete the row if there were none of that kind"),
    ),
    lookups=("site_registry",),
    hold_until="site_registry",
    depends_on=("childcare_sites",),
    wide=WideForm(category="source", value="volunteers"),
)
