"""A small hand-made dataset spanning every domain, with known mart values."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.engine import Engine

from countyflow.ingest.model import SubmissionRef
from tests.warehouse import builders as b
from warehouse.load import record_submission

SHORT = (dt.date(2025, 7, 6), dt.date(2025, 7, 31))  # 26 service days


def load_sample(engine: Engine) -> dict[str, SubmissionRef]:
    """Load the sample; returns the refs worth asserting on, by name."""
    refs: dict[str, SubmissionRef] = {}
    s24, e24 = b.summer(2024)

    # childcare, 2024-summer: 昭阳区 100 children; 绥江县 one site with 0 children
    b.load(engine, "childcare_sites", "2024-summer", [
        b.site("ZY-001", children=40, left_behind=30, start=s24, end=e24),
        b.site("ZY-002", children=60, left_behind=50, start=s24, end=e24),
    ], modified=dt.datetime(2024, 9, 20, tzinfo=dt.UTC))
    b.load(engine, "childcare_sites", "2024-summer", [
        b.site("SJ-001", county=b.SUIJIANG, children=0, left_behind=0, start=s24, end=e24),
    ], county=b.SUIJIANG, modified=dt.datetime(2024, 10, 20, tzinfo=dt.UTC))

    # childcare, 2025-summer: 昭阳区 150 children (+50, +50 %), 绥江县 30 (prev 0 → pct NULL)
    refs["zy_sites_2025"], _ = b.load(engine, "childcare_sites", "2025-summer", [
        b.site("ZY-001", children=40, left_behind=30, relocated=5),
        b.site("ZY-002", children=60, left_behind=40, relocated=None),
        b.site("ZY-003", children=50, left_behind=20, relocated=1, start=SHORT[0], end=SHORT[1]),
    ])
    b.load(engine, "childcare_sites", "2025-summer", [
        b.site("SJ-001", county=b.SUIJIANG, children=30, left_behind=25),
    ], county=b.SUIJIANG)
    b.load(engine, "childcare_volunteers", "2025-summer", [
        b.volunteer("ZY-001", "university_student", 5, "昭通学院"),
        b.volunteer("ZY-001", "university_student", 4, "云南大学"),
        b.volunteer("ZY-002", "school_staff", 3),
    ])
    b.load(engine, "childcare_daily", "2025-summer", [
        b.attendance("ZY-001", dt.date(2025, 7, 7), 38),
    ])
    # a rejected correction of 昭阳区's daily attendance
    rejected = b.ref("childcare_daily", "2025-summer", name="更正.csv",
                     modified=b.T0 + dt.timedelta(days=5))
    record_submission(engine, rejected, b.rejected(4), None)
    refs["zy_daily_rejected"] = rejected

    # vocational: 2023 and 2024 for 昭阳区, 2024 for 绥江县 (nobody enrolled)
    b.load(engine, "vocational_enrollment", "2023", [
        b.enrollment("5306020001", "护理", 1, enrolled=100, new_intake=100, dropouts=5),
        b.enrollment("5306020001", "护理", 2, enrolled=80, new_intake=0, dropouts=3),
    ], modified=dt.datetime(2023, 10, 1, tzinfo=dt.UTC))
    b.load(engine, "vocational_enrollment", "2024", [
        b.enrollment("5306020001", "护理", 1, enrolled=150, new_intake=150),
        b.enrollment("5306020002", "汽修", 1, enrolled=50, new_intake=50,
                     track="undergraduate_3_4"),
    ], modified=dt.datetime(2024, 10, 1, tzinfo=dt.UTC))
    b.load(engine, "vocational_enrollment", "2024", [
        b.enrollment("5306260001", "旅游", 1, enrolled=0, new_intake=0, county=b.SUIJIANG),
    ], county=b.SUIJIANG, modified=dt.datetime(2024, 11, 5, tzinfo=dt.UTC))

    # health: one facility of 昭阳区, two months
    b.load(engine, "health_monthly", "2025-06", [
        b.health("冠心病", surgeries=100, beds=40, experts_dispatched=2, visiting_experts=10,
                 local_surgeons_independent=3),
        b.health("心脏外科", surgeries=20, beds=20, experts_dispatched=1, visiting_experts=None),
    ], modified=dt.datetime(2025, 7, 3, tzinfo=dt.UTC))
    b.load(engine, "health_monthly", "2025-07", [
        b.health("冠心病", surgeries=110, beds=42, experts_dispatched=0, visiting_experts=5,
                 local_surgeons_independent=4),
        b.health("心脏外科", surgeries=25, beds=20),
        b.health("大血管外科", surgeries=5, beds=10, local_surgeons_independent=1),
    ], modified=dt.datetime(2025, 8, 12, tzinfo=dt.UTC))
    return refs
