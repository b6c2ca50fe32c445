"""Contract: 中职学校在校生与招生情况 — vocational enrolment (period `YYYY`, school year)."""

from __future__ import annotations

import polars as pl

from countyflow.periods import PeriodKind
from schemas._common import county_column
from schemas.checks import AtMost, Between, Custom, Pattern
from schemas.contract import Column, Contract, Rule
from schemas.contract import ColumnType as T
from schemas.contract import Severity as S

TRACKS: dict[str, tuple[str, ...]] = {
    "secondary_vocational": ("中职", "中职班"),
    "comprehensive_high_school": ("综合高中班", "综合高中"),
    "general_high_school_class": ("普高班",),
    "vocational_college_3_2": ("3+2", "“3+2”高本贯通", '"3+2"高本贯通', "3+2高本贯通"),
    "undergraduate_3_4": ("3+4", "“3+4”中本贯通", '"3+4"中本贯通', "3+4中本贯通"),
}

CONTRACT = Contract(
    dataset="vocational_enrollment",
    title_zh="中职学校在校生与招生情况",
    title_en="Vocational schools: enrolment and intake",
    grain="school × program × track × grade, per school year",
    period_kinds=frozenset({PeriodKind.SCHOOL_YEAR}),
    key=("school_code", "program", "track", "grade"),
    columns=(
        county_column(),
        Column("school_code", T.TEXT, "学校代码", "10-digit national school identifier",
               aliases=("学校标识码",)),
        Column("school_name", T.TEXT, "学校名称", "school name"),
        Column("program", T.TEXT, "专业名称", "programme (major)", aliases=("专业",)),
        Column("track", T.ENUM, "办学类型", "pathway the class follows",
               aliases=("培养类型",), vocabulary=TRACKS),
        Column("grade", T.GRADE, "年级", "grade 1–3 (一年级/高一/1年级 accepted)"),
        Column("enrolled", T.COUNT, "在校生数", "students enrolled", aliases=("在校学生数",)),
        Column("new_intake", T.COUNT, "招生数", "students newly admitted this year",
               aliases=("新生数", "招生人数")),
        Column("dropouts", T.COUNT, "流失学生数", "students who left during the year",
               aliases=("流失人数",)),
    ),
    rules=(
        Rule("school_code_format", S.ERROR, "school_code",
             "学校代码应为 10 位数字", "school code must be 10 digits",
             Pattern("[0-9]{10}"),
             fix_zh="抄录学校的 10 位学校标识码，不加空格或文字",
             fix_en="copy the school's 10-digit national identifier, without spaces or words"),
        Rule("grade_range", S.ERROR, "grade",
             "年级应为 1 至 3", "grade must be 1 to 3",
             Between(1, 3),
             fix_zh="核对年级列：是否误填了入学年份或班级号",
             fix_en="check whether a cohort year or class number went into the grade column"),
        Rule("dropouts_exceed_enrolled", S.ERROR, "dropouts",
             "流失学生数不能大于在校生数", "dropouts cannot exceed students enrolled",
             AtMost("enrolled"),
             fix_zh="核对两个数，是否填错了列",
             fix_en="check both figures, and whether they were put in the wrong columns"),
        Rule("intake_in_upper_grade", S.WARNING, "new_intake",
             "二、三年级一般不应有招生数，请核实", "new intake reported for grade 2 or 3; please check",
             Custom(lambda: (pl.col("grade") <= 1) | (pl.col("new_intake") == 0),
                    "`new_intake` = 0 in grades 2 and 3"),
             fix_zh="新生只计入一年级；二、三年级的招生数填 0",
             fix_en="count new students in grade 1 only; write 0 for grades 2 and 3"),
    ),
)
