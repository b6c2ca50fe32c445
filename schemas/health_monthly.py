"""Contract: 医疗机构专科服务月报 — specialist services per facility and department (period `YYYY-MM`)."""

from __future__ import annotations

import polars as pl

from countyflow.periods import PeriodKind
from countyflow.reference import reference_path
from schemas._common import county_column
from schemas.checks import Custom, Pattern
from schemas.contract import Column, Contract, Rule
from schemas.contract import ColumnType as T
from schemas.contract import Severity as S

SURGERY_SPIKE_FACTOR = 3


def _departments() -> dict[str, tuple[str, ...]]:
    reference = pl.read_csv(reference_path("departments.csv"))
    return {row["department"]: tuple(row["aliases"].split("|")) for row in reference.iter_rows(named=True)}


def _count(name: str, label_zh: str, description_en: str, *aliases: str) -> Column:
    return Column(name, T.COUNT, label_zh, description_en, required=False, aliases=aliases)


CONTRACT = Contract(
    dataset="health_monthly",
    title_zh="医疗机构专科服务月报",
    title_en="Specialist services per facility and department, monthly",
    grain="facility × department × month",
    period_kinds=frozenset({PeriodKind.MONTH}),
    key=("facility_code", "department"),
    columns=(
        county_column(),
        Column("facility_code", T.TEXT, "机构代码", "facility code (6–18 of 0-9 A-Z)",
               aliases=("医疗机构代码",)),
        Column("facility_name", T.TEXT, "机构名称", "facility name", aliases=("医疗机构名称",)),
        Column("department", T.TEXT, "科室", "department or sub-specialty group",
               aliases=("亚专业", "亚专业组"), vocabulary=_departments()),
        Column("beds_open", T.COUNT, "开放床位数", "beds open"),
        Column("surgeries", T.COUNT, "手术台次", "operations performed", aliases=("手术例数",)),
        _count("interventional_procedures", "介入手术台次", "interventional procedures"),
        _count("outpatient_visits", "门诊人次", "outpatient visits"),
        _count("inpatient_admissions", "入院人次", "inpatient admissions", "住院人次"),
        _count("resident_experts", "常驻专家人数", "resident experts on site that month"),
        _count("experts_dispatched", "新派驻专家人次", "experts newly dispatched that month"),
        _count("visiting_experts", "临时指导专家人次", "visiting experts that month"),
        _count("local_surgeons_independent", "能独立开展手术医生数",
               "local surgeons operating independently (point in time)"),
        _count("returned_patients", "回流患者数", "patients treated here who used to go out of region"),
    ),
    rules=(
        Rule("facility_code_format", S.ERROR, "facility_code",
             "机构代码应为 6–18 位数字或大写字母", "facility code must be 6–18 digits or capital letters",
             Pattern("[0-9A-Z]{6,18}"),
             fix_zh="抄录机构代码，只用数字和大写字母，去掉“-”和空格",
             fix_en="copy the facility code using digits and capital letters only, without '-' or spaces"),
        Rule("department_new", S.WARNING, "department",
             "首次出现的科室名称，请核实", "a department never seen before; please check",
             Custom(lambda: pl.col("ctx_department_known"), "`department` reported before",
                    requires=("ctx_department_known",)),
             fix_zh="核对科室名称是否与以往月份一致；确为新科室的可不改",
             fix_en="check the name matches earlier months; if it is a new department, leave it"),
        Rule("surgeries_spike", S.WARNING, "surgeries",
             "手术台次超过该科室近 12 个月中位数的 3 倍，请核实",
             "surgeries exceed 3 × this department's median of the previous 12 months; please check",
             Custom(lambda: pl.col("surgeries") <= SURGERY_SPIKE_FACTOR * pl.col("ctx_surgeries_median_12m"),
                    f"`surgeries` ≤ {SURGERY_SPIKE_FACTOR} × the department's median of the previous 12 months",
                    requires=("ctx_surgeries_median_12m",)),
             fix_zh="核对是否多填一位或填了累计数；属实的可不改",
             fix_en="check for an extra digit or a cumulative figure; if correct, leave it"),
    ),
    lookups=("known_departments", "surgery_history"),
)
