"""Cardiovascular centre demo data: facility × department, per month.

The centre of 云南省滇东北中心医院 opened its sub-specialty groups with experts from 云南阜外
医院 from January 2023 (the page). Surgeries grow steadily (no month jumps past 3 × the
department's recent median); resident experts are the dispatches of the last three months
(each stays three months), so "≥ 8 on site every month" follows from the dispatch plan;
independent local surgeons only ever increase.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import polars as pl

from countyflow.demo._random import allocate, rng_for
from countyflow.demo.profiles import EXTRA_FACILITIES
from countyflow.demo.targets import DemoTargets, HealthTarget
from countyflow.reference import reference_path

HEALTH_SCHEMA: dict[str, pl.DataType] = {
    "county_code": pl.Utf8(),
    "facility_code": pl.Utf8(),
    "facility_name": pl.Utf8(),
    "department": pl.Utf8(),
    "beds_open": pl.Int64(),
    "surgeries": pl.Int64(),
    "interventional_procedures": pl.Int64(),
    "outpatient_visits": pl.Int64(),
    "inpatient_admissions": pl.Int64(),
    "resident_experts": pl.Int64(),
    "experts_dispatched": pl.Int64(),
    "visiting_experts": pl.Int64(),
    "local_surgeons_independent": pl.Int64(),
    "returned_patients": pl.Int64(),
    "period": pl.Utf8(),
}

EXPERT_STAY_MONTHS = 3
ROUND_OUTPATIENT = 12_000
"""冠心病 outpatient visits of the last month: a round figure (files may write it as 1.2万)."""


@dataclass(frozen=True)
class Department:
    name: str
    group: str
    surgery_share: float
    bed_share: float
    interventional_share: float
    outpatient_base: float
    surgeon_weight: float


# Shares are rough: coronary interventions dominate, as in any regional heart centre.
_PROFILE: dict[str, tuple[float, float, float, float, float]] = {
    #             surgeries, beds, interventional/surgeries, outpatient/month, new surgeons
    "冠心病": (0.33, 0.22, 0.95, 5000, 3.0),
    "心律失常": (0.15, 0.12, 0.92, 1500, 2.0),
    "心力衰竭": (0.05, 0.14, 0.60, 1200, 0.5),
    "高血压": (0.04, 0.08, 0.50, 2600, 0.5),
    "肺血管病": (0.05, 0.07, 0.85, 600, 1.0),
    "结构性心脏病": (0.09, 0.07, 0.90, 500, 1.5),
    "心脏外科": (0.16, 0.16, 0.00, 700, 2.0),
    "大血管外科": (0.08, 0.08, 0.40, 300, 1.0),
    "小儿心脏外科": (0.05, 0.06, 0.20, 400, 1.0),
}
_FIRST_SURGEONS = ("冠心病", "心脏外科", "心律失常")
_BEDS_PLAN = ((0, 0.56), (6, 0.67), (12, 0.78), (18, 0.88), (24, 0.94), (28, 1.0))
"""(month index, share of the latest bed count): beds open in steps as wards open."""


def departments() -> list[Department]:
    """The canonical departments (reference data) with the demo's shares."""
    reference = pl.read_csv(reference_path("departments.csv"))
    result = []
    for name, group in reference.select("department", "group").iter_rows():
        surgeries, beds, interventional, outpatient, surgeon = _PROFILE.get(name, (0.03, 0.05, 0.5, 300, 0.5))
        result.append(Department(name, group, surgeries, beds, interventional, outpatient, surgeon))
    return result


def months(first: str, last: str) -> list[str]:
    year, month = map(int, first.split("-"))
    result = []
    while f"{year:04d}-{month:02d}" <= last:
        result.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return result


def build_health(seed: int, targets: DemoTargets) -> pl.DataFrame:
    """Every month of the target window, every department, for each facility."""
    frames = []
    for index in range(targets.health_facilities):
        if index == 0:
            code, name = targets.health.facility_code, targets.health.facility_name
        else:
            name = (EXTRA_FACILITIES[index - 1] if index <= len(EXTRA_FACILITIES)
                    else f"昭通市第{index}医疗集团")
            code = f"12530600MB{index:07d}X"
        frames.append(_facility(seed, targets.health, code, name))
    return pl.concat(frames).sort("period", "facility_code")


def _facility(seed: int, target: HealthTarget, code: str, name: str) -> pl.DataFrame:
    rng = rng_for(seed, "health", code)
    depts = departments()
    month_labels = months(target.first_month, target.last_month)
    count = len(month_labels)
    trend = [_trend(i, count, label, rng) for i, label in enumerate(month_labels)]

    cells = [(m, d) for m in range(count) for d in range(len(depts))]
    surgeries = allocate(
        target.surgeries_total,
        [trend[m] * depts[d].surgery_share * rng.uniform(0.94, 1.06) for m, d in cells],
        minimum=1,
    )
    visiting = allocate(target.visiting_experts_total,
                        [math.sqrt(trend[m]) * (0.5 + depts[d].surgery_share) * rng.uniform(0.3, 1.7)
                         for m, d in cells])
    returned = allocate(target.returned_patients_total,
                        [trend[m] ** 1.5 * depts[d].surgery_share * rng.uniform(0.5, 1.5) for m, d in cells])
    beds = _beds(target.beds_open_latest, depts, count)
    dispatched = _dispatches(target, count)
    per_dept_dispatch = _dispatch_departments(rng, dispatched, len(depts))
    surgeons = _surgeons(rng, target, depts, count)

    rows = []
    for (m, d), surgery, visits, back in zip(cells, surgeries, visiting, returned, strict=True):
        dept = depts[d]
        growth = 1.0 + 1.2 * m / max(count - 1, 1)
        outpatient = round(dept.outpatient_base * growth * rng.uniform(0.92, 1.08))
        if m == count - 1 and dept.name == "冠心病":
            outpatient = ROUND_OUTPATIENT
        admissions = round(surgery * rng.uniform(1.05, 1.25))
        if dept.group == "internal" and dept.interventional_share < 0.7:
            admissions += round(beds[m][d] * 3.5 * rng.uniform(0.9, 1.1))
        resident = sum(per_dept_dispatch[k][d] for k in range(max(0, m - EXPERT_STAY_MONTHS + 1), m + 1))
        rows.append({
            "county_code": target.county_code,
            "facility_code": code,
            "facility_name": name,
            "department": dept.name,
            "beds_open": beds[m][d],
            "surgeries": surgery,
            "interventional_procedures": round(surgery * dept.interventional_share),
            "outpatient_visits": outpatient,
            "inpatient_admissions": admissions,
            "resident_experts": resident,
            "experts_dispatched": per_dept_dispatch[m][d],
            # A zero is often left blank on the form: not reported, which sums the same.
            "visiting_experts": visits if visits or rng.random() < 0.5 else None,
            "local_surgeons_independent": surgeons[m][d],
            "returned_patients": back if back or rng.random() < 0.5 else None,
            "period": month_labels[m],
        })
    return pl.DataFrame(rows, schema=HEALTH_SCHEMA, orient="row")


def _trend(index: int, count: int, label: str, rng: random.Random) -> float:
    """Relative activity: from 1 to about 2.6 over the window, a dip at the Spring Festival."""
    level = 1.0 + 1.6 * (index / max(count - 1, 1)) ** 0.9
    if label.endswith("-02"):
        level *= 0.88
    return level * rng.uniform(0.96, 1.04)


def _beds(latest: int, depts: list[Department], count: int) -> list[list[int]]:
    result = []
    for m in range(count):
        share = max(s for start, s in _BEDS_PLAN if start <= m)
        result.append(allocate(round(latest * share), [d.bed_share for d in depts]))
    if sum(result[-1]) != latest:
        raise ValueError("the bed plan must reach its latest figure by the last month")
    return result


def _dispatches(target: HealthTarget, count: int) -> list[int]:
    """New resident experts per month: a first team, then a steady rotation.

    Experts stay `EXPERT_STAY_MONTHS`, so the months with fewer dispatches are spread out
    to keep every three-month window at `resident_experts_min` or more.
    """
    first = target.resident_experts_min + 1
    rest = target.experts_dispatched_total - first
    low, extra = divmod(rest, count - 1)
    lows = count - 1 - extra
    low_months = {1 + (i * (count - 1)) // lows + (count - 1) // (2 * lows) for i in range(lows)} if lows else set()
    plan = [first] + [low if m in low_months else low + 1 for m in range(1, count)]
    on_site = [sum(plan[max(0, m - EXPERT_STAY_MONTHS + 1): m + 1]) for m in range(count)]
    if sum(plan) != target.experts_dispatched_total or min(on_site) < target.resident_experts_min:
        raise ValueError(f"no dispatch plan keeps {target.resident_experts_min} experts on site")
    return plan


def _dispatch_departments(rng: random.Random, plan: list[int], departments_count: int) -> list[list[int]]:
    """Assign dispatched experts to departments in rotation (shuffled once)."""
    order = list(range(departments_count))
    rng.shuffle(order)
    result, position = [], 0
    for dispatched in plan:
        month = [0] * departments_count
        for _ in range(dispatched):
            month[order[position % departments_count]] += 1
            position += 1
        result.append(month)
    return result


def _surgeons(rng: random.Random, target: HealthTarget, depts: list[Department],
              count: int) -> list[list[int]]:
    """Local surgeons operating independently: a point-in-time count that only grows."""
    names = [d.name for d in depts]
    current = [0] * len(depts)
    for i in range(target.surgeons_independent_first):
        current[names.index(_FIRST_SURGEONS[i % len(_FIRST_SURGEONS)])] += 1
    gains = target.surgeons_independent_last - target.surgeons_independent_first
    months_with_gain = sorted(rng.choices(range(1, count), k=gains)) if count > 1 else []
    weights = [d.surgeon_weight for d in depts]
    result = []
    for m in range(count):
        for _ in range(months_with_gain.count(m)):
            current[rng.choices(range(len(depts)), weights=weights)[0]] += 1
        result.append(list(current))
    return result
