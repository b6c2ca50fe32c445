"""The figures the demo landing zone must reproduce (SPEC §8), as exact numbers.

The newspaper page gives ranges and round numbers ("2000多人", "近万", "400多名"); the demo
needs exact ones, so where the page is vague this module states the number chosen. The
generator (`countyflow.demo`) shapes its row-level data to hit these figures; the demo tests
sum the generated rows and compare. Pipeline code never imports this module: the pipeline
must *compute* the figures from the submissions, and `countyflow demo` shows that it does.

Every figure counts only the final accepted submission of each partition (a rejected file
and a superseded file carry different numbers on purpose).

Scale: `DEMO_TARGETS` holds the figures at `scale=1`. `DemoTargets.scaled(n)` gives the
figures of a demo generated with `scale=n`: city-wide and per-county additive figures
(sites, children, volunteers, new intake, 普高班 places and schools) are multiplied by n,
the heart centre is joined by n-1 more facilities with the same per-facility figures, and
the sites the page names (`NAMED_SITES`) still appear once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from types import MappingProxyType

SUMMER_2024 = "2024-summer"
WINTER_2025 = "2025-winter"
SUMMER_2025 = "2025-summer"
SEASONS: tuple[str, ...] = (SUMMER_2024, WINTER_2025, SUMMER_2025)

SCHOOL_YEARS: tuple[str, ...] = ("2022", "2023", "2024", "2025")

SUIJIANG = "530626"
ZHAOYANG = "530602"


@dataclass(frozen=True)
class ChildcareSeasonTarget:
    """City-wide childcare figures of one season (all 11 counties)."""

    season: str
    sites: int
    children_enrolled: int
    volunteers_university: int
    """Volunteers of source `university_student`."""
    volunteers_other: int
    """Volunteers of every other source (returning students, school staff, community workers, …)."""

    @property
    def volunteers_total(self) -> int:
        return self.volunteers_university + self.volunteers_other


@dataclass(frozen=True)
class CountySeasonTarget:
    """A county's childcare figures the page states for one season."""

    county_code: str
    season: str
    sites: int
    children_enrolled: int
    volunteers_university: int
    universities: tuple[str, ...]
    """The institutions of its university-student volunteers (each has at least one)."""


@dataclass(frozen=True)
class NamedSite:
    """A site the page names. It is generated with these attributes in `SUMMER_2025`;
    fields left `None` are generated like any other site's. In other seasons listed in
    `seasons` the site takes part with generated figures (its size stays proportional)."""

    county_code: str
    site_name: str
    host_type: str
    township: str | None = None
    children_enrolled: int | None = None
    relocated_children: int | None = None
    start_date: date | None = None
    service_days: int | None = None
    hours_per_day: float | None = None
    meal_subsidy_yuan: float | None = None
    service_person_times: int | None = None
    seasons: tuple[str, ...] = SEASONS


@dataclass(frozen=True)
class VocationalTarget:
    """City-wide vocational figures per school year (period `YYYY`)."""

    new_intake: Mapping[str, int]
    """New intake per school year, all schools, tracks and grades (grades 2–3 report 0)."""
    general_high_school_places: Mapping[str, int]
    """New intake of track `general_high_school_class` (普高班) per school year."""
    general_high_school_schools: int
    """Schools running a 普高班 (the page: 鲁甸职业技术高级中学等4所学校)."""
    comprehensive_high_school_schools: int
    """Schools running a 综合高中班 (the page: 全市9所职中)."""
    first_pathway_year: str = "2024"
    """First school year with 普高班, "3+2" and "3+4" classes."""

    def intake_change(self, school_year: str) -> int:
        """New intake minus the previous school year's."""
        return self.new_intake[school_year] - self.new_intake[str(int(school_year) - 1)]


@dataclass(frozen=True)
class HealthTarget:
    """Figures of the cardiovascular centre of 云南省滇东北中心医院, per facility."""

    county_code: str
    facility_code: str
    facility_name: str
    first_month: str
    last_month: str
    internal_groups: int
    surgical_groups: int
    surgeries_total: int
    """Surgeries summed over every department and month first_month … last_month."""
    beds_open_latest: int
    """Beds open summed over departments in last_month."""
    experts_dispatched_total: int
    """Resident experts newly dispatched, summed over all months (人次)."""
    resident_experts_min: int
    """Resident experts on site, summed over departments, in every month (at least)."""
    visiting_experts_total: int
    surgeons_independent_first: int
    """Local surgeons operating independently, summed over departments, in first_month."""
    surgeons_independent_last: int
    """The same in last_month; the monthly series never decreases."""
    returned_patients_total: int
    """Returned patients summed over all months (the page: 1000多名)."""

    @property
    def months(self) -> int:
        first_year, first_month = map(int, self.first_month.split("-"))
        last_year, last_month = map(int, self.last_month.split("-"))
        return (last_year - first_year) * 12 + last_month - first_month + 1


@dataclass(frozen=True)
class DemoTargets:
    """Everything the demo must reproduce; see the module docstring for `scale`."""

    childcare: tuple[ChildcareSeasonTarget, ...]
    counties: tuple[CountySeasonTarget, ...]
    named_sites: tuple[NamedSite, ...]
    vocational: VocationalTarget
    health: HealthTarget
    health_facilities: int = 1
    scale: int = 1

    def season(self, season: str) -> ChildcareSeasonTarget:
        for target in self.childcare:
            if target.season == season:
                return target
        raise KeyError(season)

    def county(self, county_code: str, season: str) -> CountySeasonTarget | None:
        for target in self.counties:
            if target.county_code == county_code and target.season == season:
                return target
        return None

    def scaled(self, scale: int) -> DemoTargets:
        """The figures of a demo generated with `scale` (see the module docstring)."""
        if scale < 1:
            raise ValueError(f"scale must be at least 1, not {scale}")
        if scale == 1:
            return self
        return replace(
            self,
            childcare=tuple(
                replace(t, sites=t.sites * scale, children_enrolled=t.children_enrolled * scale,
                        volunteers_university=t.volunteers_university * scale,
                        volunteers_other=t.volunteers_other * scale)
                for t in self.childcare
            ),
            counties=tuple(
                replace(t, sites=t.sites * scale, children_enrolled=t.children_enrolled * scale,
                        volunteers_university=t.volunteers_university * scale)
                for t in self.counties
            ),
            vocational=replace(
                self.vocational,
                new_intake=_frozen({y: v * scale for y, v in self.vocational.new_intake.items()}),
                general_high_school_places=_frozen(
                    {y: v * scale for y, v in self.vocational.general_high_school_places.items()}
                ),
                general_high_school_schools=self.vocational.general_high_school_schools * scale,
                comprehensive_high_school_schools=self.vocational.comprehensive_high_school_schools * scale,
            ),
            health_facilities=self.health_facilities * scale,
            scale=self.scale * scale,
        )


def _frozen(mapping: dict[str, int]) -> Mapping[str, int]:
    return MappingProxyType(mapping)


_SUMMER_2025_START = date(2025, 7, 7)

NAMED_SITES: tuple[NamedSite, ...] = (
    # 昭阳区红路馨居小学托管服务点: 940余名小朋友, 每人每天 8 元标准的免费午餐.
    NamedSite(ZHAOYANG, "红路馨居小学", "school", children_enrolled=946, relocated_children=604,
              start_date=_SUMMER_2025_START, service_days=40, hours_per_day=6.0,
              meal_subsidy_yuan=8.0),
    # 永丰镇3个服务点集中托管495名学生, 其中搬迁群众家庭孩子200余人; 中心小学 200余名.
    NamedSite(ZHAOYANG, "永丰镇中心小学", "school", township="永丰镇", children_enrolled=216,
              relocated_children=98, meal_subsidy_yuan=8.0),
    NamedSite(ZHAOYANG, "永丰镇吴家湾小学", "school", township="永丰镇", children_enrolled=152,
              relocated_children=61, meal_subsidy_yuan=8.0),
    NamedSite(ZHAOYANG, "永丰镇团结社区儿童之家", "childrens_home", township="永丰镇",
              children_enrolled=127, relocated_children=55),
    # 鲁甸县砚池街道卯家湾小学: 为期 30 天的暑期托管.
    NamedSite("530621", "卯家湾小学", "school", township="砚池街道", children_enrolled=168,
              start_date=date(2025, 7, 7), service_days=30, hours_per_day=5.5),
    # 巧家县立鹤小学托管服务点.
    NamedSite("530622", "立鹤小学", "school", children_enrolled=124),
    # 盐津县牛寨中学暑期托管服务点: 90余名小朋友.
    NamedSite("530623", "牛寨中学", "school", township="牛寨乡", children_enrolled=93),
    # 盐津县"移动的儿童之家": 预计开展托管服务 2000余人次 (612 + 548 + 503 + 473 = 2136).
    NamedSite("530623", "“移动的儿童之家”豆沙片区", "mobile", township="豆沙镇",
              children_enrolled=48, service_person_times=612, meal_subsidy_yuan=0.0,
              seasons=(SUMMER_2024, SUMMER_2025)),
    NamedSite("530623", "“移动的儿童之家”庙坝片区", "mobile", township="庙坝镇",
              children_enrolled=37, service_person_times=548, meal_subsidy_yuan=0.0,
              seasons=(SUMMER_2025,)),
    NamedSite("530623", "“移动的儿童之家”滩头片区", "mobile", township="滩头乡",
              children_enrolled=41, service_person_times=503, meal_subsidy_yuan=0.0,
              seasons=(SUMMER_2025,)),
    NamedSite("530623", "“移动的儿童之家”兴隆片区", "mobile", township="兴隆乡",
              children_enrolled=35, service_person_times=473, meal_subsidy_yuan=0.0,
              seasons=(SUMMER_2024, SUMMER_2025)),
    # 绥江县新滩镇石龙小学, 南岸镇珍珠社区儿童之家.
    NamedSite(SUIJIANG, "石龙小学", "school", township="新滩镇"),
    NamedSite(SUIJIANG, "珍珠社区儿童之家", "childrens_home", township="南岸镇"),
    # 威信县扎西镇龙溪社区"一老一小"关爱服务中心: 7月6日开班, 为期 40 天, 65 名小朋友, 免费午餐.
    NamedSite("530629", "扎西镇龙溪社区“一老一小”关爱服务中心", "community_center",
              township="扎西镇", children_enrolled=65, start_date=date(2025, 7, 6),
              service_days=40, hours_per_day=6.0, meal_subsidy_yuan=8.0),
    # 彝良县发界安置区"一老一小"爱心家园暑期托管点: 数十名孩子, 安置区搬迁群众.
    NamedSite("530628", "发界安置区“一老一小”爱心家园", "community_center",
              children_enrolled=58, relocated_children=52),
)

DEMO_TARGETS = DemoTargets(
    childcare=(
        # 2024 暑假: 全市留守儿童暑假集中托管近万人 → exactly 10000 (so +6000, +60% in 2025).
        ChildcareSeasonTarget(SUMMER_2024, sites=702, children_enrolled=10000,
                              volunteers_university=352, volunteers_other=1918),
        # 2025 寒假: the page mentions it ("去年暑假、寒假托管服务实践"); figures chosen.
        ChildcareSeasonTarget(WINTER_2025, sites=436, children_enrolled=6120,
                              volunteers_university=131, volunteers_other=1266),
        # 2025 暑期: 997 个集中托管点, 大学生志愿者 566 人, 其他 2847 人, 托管儿童 1.6 万人.
        ChildcareSeasonTarget(SUMMER_2025, sites=997, children_enrolled=16000,
                              volunteers_university=566, volunteers_other=2847),
    ),
    counties=(
        # 绥江县: 12 个公益暑托班, 400多名留守儿童, 45名大学生 (大连理工大学、大连海事大学、苏州大学).
        CountySeasonTarget(SUIJIANG, SUMMER_2025, sites=12, children_enrolled=412,
                           volunteers_university=45,
                           universities=("大连理工大学", "大连海事大学", "苏州大学")),
    ),
    named_sites=NAMED_SITES,
    vocational=VocationalTarget(
        # 2023、2024年招生人数同比分别增加2000多人、4000多人: +2463 and +4318.
        new_intake=_frozen({"2022": 13486, "2023": 15949, "2024": 20267, "2025": 21035}),
        # 2024年单列800个普高计划, 4所学校开设普高班; continued in 2025.
        general_high_school_places=_frozen({"2024": 800, "2025": 800}),
        general_high_school_schools=4,
        comprehensive_high_school_schools=9,
    ),
    health=HealthTarget(
        county_code=ZHAOYANG,
        facility_code="12530600MB0R74852X",
        facility_name="云南省滇东北中心医院",
        first_month="2023-01",
        last_month="2025-07",
        internal_groups=6,
        surgical_groups=3,
        surgeries_total=52954,
        beds_open_latest=268,
        experts_dispatched_total=95,
        resident_experts_min=8,
        visiting_experts_total=658,
        surgeons_independent_first=3,
        surgeons_independent_last=16,
        returned_patients_total=1168,
    ),
)
"""The figures at scale 1."""
