"""What the demo knows about Zhaotong's counties, schools and universities.

Plausible, not authoritative: township lists are abridged, weights are rough shares of the
city's population and of its left-behind children, and school/programme names follow the
newspaper page where it names them. Only the generator reads this module.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CountyProfile:
    """How a county's demo data is shaped."""

    county_code: str
    childcare_weight: float
    """Share of the city's childcare sites (relative)."""
    school_share: float
    """Share of its sites hosted by schools (the rest mostly village 儿童之家)."""
    relocated_share: float
    """Typical share of relocated families' children at a site (易地扶贫搬迁)."""
    townships: tuple[str, ...]


COUNTY_PROFILES: tuple[CountyProfile, ...] = (
    CountyProfile("530602", 0.110, 0.50, 0.18, (
        "凤凰街道", "龙泉街道", "太平街道", "旧圃镇", "永丰镇", "北闸镇", "守望回族乡", "洒渔镇",
        "乐居镇", "苏家院镇", "靖安镇", "盘河镇", "炎山镇", "大山包镇", "田坝乡", "布嘎回族乡")),
    CountyProfile("530621", 0.075, 0.48, 0.12, (
        "文屏镇", "砚池街道", "龙头山镇", "水磨镇", "小寨镇", "江底镇", "火德红镇", "龙树镇",
        "新街镇", "梭山镇", "乐红镇", "桃源回族乡", "茨院回族乡")),
    CountyProfile("530622", 0.100, 0.42, 0.10, (
        "白鹤滩街道", "大寨镇", "药山镇", "小河镇", "蒙姑镇", "金塘镇", "茂租镇", "东坪镇",
        "老店镇", "马树镇", "崇溪镇", "炉房镇", "红山乡", "包谷垴乡", "中寨镇", "新店镇")),
    CountyProfile("530623", 0.070, 0.45, 0.08, (
        "盐井镇", "普洱镇", "豆沙镇", "中和镇", "庙坝镇", "柿子镇", "兴隆乡", "落雁乡",
        "滩头乡", "牛寨乡", "生机镇")),
    CountyProfile("530624", 0.050, 0.46, 0.10, (
        "翠华镇", "玉碗镇", "吉利镇", "天星镇", "木杆镇", "悦乐镇", "寿山镇", "高桥镇",
        "上高桥回族彝族苗族乡")),
    CountyProfile("530625", 0.075, 0.44, 0.09, (
        "溪洛渡街道", "桧溪镇", "黄华镇", "茂林镇", "大兴镇", "莲峰镇", "务基镇", "码口镇",
        "团结乡", "细沙乡", "青胜乡", "马楠苗族彝族乡", "伍寨彝族苗族乡", "水竹乡", "墨翰乡")),
    CountyProfile("530626", 0.012, 0.50, 0.06, ("中城镇", "南岸镇", "板栗镇", "新滩镇", "会仪镇")),
    CountyProfile("530627", 0.220, 0.40, 0.14, (
        "乌峰街道", "南台街道", "旧府街道", "泼机镇", "黑树镇", "母享镇", "大湾镇", "以勒镇",
        "赤水源镇", "芒部镇", "雨河镇", "罗坎镇", "牛场镇", "五德镇", "坡头镇", "中屯镇",
        "木卓镇", "盐源镇", "碗厂镇", "花山乡", "塘房镇", "果珠彝族乡", "林口彝族苗族乡",
        "杉树乡", "尖山乡", "场坝镇", "花朗乡")),
    CountyProfile("530628", 0.100, 0.42, 0.16, (
        "角奎镇", "发界街道", "洛泽河镇", "牛街镇", "龙海镇", "小草坝镇", "荞山镇", "龙安镇",
        "钟鸣镇", "海子镇", "两河镇", "毛坪镇", "树林彝族苗族乡", "柳溪苗族乡", "洛旺苗族乡",
        "奎香苗族彝族乡")),
    CountyProfile("530629", 0.070, 0.45, 0.09, (
        "扎西镇", "水田镇", "长安镇", "旧城镇", "罗布镇", "麟凤镇", "庙沟镇", "双河苗族彝族乡",
        "高田乡", "三桃乡")),
    CountyProfile("530681", 0.025, 0.55, 0.05, ("云富街道", "向家坝镇", "太平镇", "两碗镇", "楼坝镇")),
)

_BY_CODE = {profile.county_code: profile for profile in COUNTY_PROFILES}


def county_profile(county_code: str) -> CountyProfile:
    """The profile of a county; a county the demo does not know gets a neutral one."""
    return _BY_CODE.get(county_code) or CountyProfile(
        county_code, 0.05, 0.45, 0.08, ("城关镇", "新城街道", "东山乡", "西河镇", "南坪乡"),
    )


# Village / community names are composed from syllables common in the region's place names.
VILLAGE_FIRST = tuple("大小新老上下石龙沙黄水花青马牛红白田松高长平杨李岩雨麻桃柏银金")
VILLAGE_SECOND = tuple("坝营河山田沟坪岩寨塘林桥湾堡口坡冲场溪箐槽脚垭井")

# University-student volunteers (暑期"返家乡"社会实践): institution and relative weight.
UNIVERSITIES: tuple[tuple[str, float], ...] = (
    ("昭通学院", 3.0), ("云南师范大学", 2.0), ("云南大学", 1.5), ("昆明理工大学", 1.2),
    ("昆明医科大学", 1.0), ("云南农业大学", 1.0), ("曲靖师范学院", 1.0), ("云南民族大学", 0.8),
    ("西南林业大学", 0.6), ("西南大学", 0.5), ("四川大学", 0.4), ("重庆大学", 0.3),
    ("贵州大学", 0.3),
)


@dataclass(frozen=True)
class SchoolProfile:
    """A secondary vocational school and the programmes it runs."""

    county_code: str
    name: str
    weight: float
    """Relative share of the city's intake."""
    programs: tuple[str, ...]
    comprehensive: bool = False
    """Runs a 综合高中班 (the page: 全市9所职中)."""
    general_high_school_places: int = 0
    """普高班 places per school year from 2024 (the page: 800 places in 4 schools)."""
    college_3_2: tuple[str, int, int] | None = None
    """("3+2" programme, intake 2024, intake 2025) — 昭通卫生职业学院 with 昆明医科大学."""
    undergraduate_3_4: tuple[str, int, int] | None = None
    """("3+4" programme, intake 2024, intake 2025) — 绥江县职业高级中学 with 昭通学院."""


_COUNTY_PROGRAMS = ("汽车运用与维修", "计算机应用", "电子商务", "学前教育", "农业机械使用与维护",
                    "电子技术应用", "中餐烹饪", "服装设计与工艺", "建筑工程施工", "旅游服务与管理")

SCHOOLS: tuple[SchoolProfile, ...] = (
    SchoolProfile("530602", "昭通市职业教育中心", 3.6, (
        "会计事务", "电子商务", "计算机应用", "汽车运用与维修", "现代农艺技术", "畜禽生产技术",
        "运动训练", "旅游服务与管理", "学前教育", "工业机器人技术应用")),
    SchoolProfile("530602", "昭通卫生职业学院", 1.2, ("护理", "药剂", "中医康复保健", "农村医学"),
                  college_3_2=("护理", 120, 150)),
    SchoolProfile("530602", "昭阳区职业高级中学", 0.28, ("计算机应用", "电子商务", "汽车运用与维修", "中餐烹饪")),
    SchoolProfile("530621", "鲁甸职业技术高级中学", 0.30, ("汽车运用与维修", "计算机应用", "农业机械使用与维护",
                                                  "服装设计与工艺"),
                  comprehensive=True, general_high_school_places=200),
    SchoolProfile("530622", "巧家县职业高级中学", 1.3, _COUNTY_PROGRAMS[:7],
                  comprehensive=True, general_high_school_places=150),
    SchoolProfile("530623", "盐津县职业高级中学", 0.28, ("电子商务", "计算机应用", "旅游服务与管理", "中餐烹饪"),
                  comprehensive=True),
    SchoolProfile("530624", "大关县职业高级中学", 0.26, ("农业机械使用与维护", "计算机应用", "学前教育",
                                                "电子技术应用"),
                  comprehensive=True),
    SchoolProfile("530625", "永善县职业高级中学", 0.90, ("汽车运用与维修", "计算机应用", "电子商务", "学前教育",
                                                "建筑工程施工", "水电站运行与管理"),
                  comprehensive=True),
    SchoolProfile("530626", "绥江县职业高级中学", 0.35, ("计算机应用", "学前教育", "电子商务", "汽车运用与维修"),
                  comprehensive=True, undergraduate_3_4=("学前教育", 40, 45)),
    SchoolProfile("530627", "镇雄县职业高级中学", 2.8, _COUNTY_PROGRAMS,
                  comprehensive=True, general_high_school_places=250),
    SchoolProfile("530628", "彝良县职业高级中学", 1.4, _COUNTY_PROGRAMS[:8],
                  comprehensive=True, general_high_school_places=200),
    SchoolProfile("530629", "威信县职业高级中学", 0.30, ("电子商务", "计算机应用", "农业机械使用与维护", "中餐烹饪"),
                  comprehensive=True),
    SchoolProfile("530681", "水富市职业高级中学", 0.40, ("化工机械与设备", "计算机应用", "电子商务",
                                                "水电站运行与管理")),
)

COMPREHENSIVE_PROGRAM = "综合高中"
GENERAL_HIGH_SCHOOL_PROGRAM = "普通高中"

# Hospital names for the extra facilities of a scaled-up demo (all in 昭阳区, the city centre).
EXTRA_FACILITIES: tuple[str, ...] = (
    "昭通市第一人民医院", "昭通市中医医院", "昭通市第二人民医院", "昭通市妇幼保健院",
    "昭阳区人民医院", "昭通市第三人民医院",
)

# Reporters named in files that carry personal data: obviously fake names and numbers.
REPORTERS: tuple[str, ...] = ("张三", "李四", "王五", "赵六", "陈七", "刘八", "杨九", "周十")
