"""Column declarations shared by several contracts (declared once, reused)."""

from __future__ import annotations

from schemas.checks import Pattern, Registered
from schemas.contract import Column, ColumnType, Rule, Severity
from schemas.contract import Severity as S

COUNTY_ALIASES = ("县区代码", "区划代码", "县（区）代码", "县区", "县（区）", "县区名称", "县（市、区）")


def county_column(required: bool = True) -> Column:
    return Column(
        "county_code", ColumnType.COUNTY, "县（区）代码",
        "county-level unit: code, full name, short name or pinyin (mapped to the code)",
        required=required, aliases=COUNTY_ALIASES,
    )


def site_code_column() -> Column:
    return Column(
        "site_code", ColumnType.TEXT, "托管点编码", "childcare site code (4–32 of 0-9 A-Z a-z -)",
        aliases=("托管点代码", "托管点编号"),
    )


SITE_CODE_PATTERN = "[0-9A-Za-z-]{4,32}"
"""A site code, whole (`schemas.checks.Pattern`)."""


def site_code_format_rule() -> Rule:
    return Rule(
        "site_code_format", Severity.ERROR, "site_code",
        "托管点编码应为 4–32 位字母、数字或连字符", "site code must be 4–32 letters, digits or hyphens",
        Pattern(SITE_CODE_PATTERN),
        fix_zh="使用县里分配的托管点编码（如 ZY-0001），不含空格和汉字",
        fix_en="use the site code the county assigned (e.g. ZY-0001), with no spaces or Chinese characters",
    )


def site_registered_rule() -> Rule:
    return Rule(
        "site_not_registered", S.ERROR, "site_code",
        "该托管点不在本县本期已报送的托管点名单中",
        "the site is not in the county's site registry for this season",
        Registered(),
        fix_zh="核对编码是否与本期托管点基本情况表一致；新托管点先补报基本情况表",
        fix_en="check the code matches this season's sites form; report a new site in the sites form first",
    )
