"""Vocational enrolment demo data: school × programme × track × grade, per school year.

Each (school, programme, track) is a stream of cohorts: a cohort enters grade 1 with its
new intake and loses its dropouts year by year, so grade 2 of one year is grade 1 of the
year before minus its dropouts. City-wide new intake per year is split exactly (targets);
the 普高班 (from 2024, one year, then streamed out), "3+2" and "3+4" tracks start in 2024.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from countyflow.demo._random import allocate, rng_for
from countyflow.demo.profiles import (
    COMPREHENSIVE_PROGRAM,
    GENERAL_HIGH_SCHOOL_PROGRAM,
    SCHOOLS,
    SchoolProfile,
)
from countyflow.demo.targets import DemoTargets

VOCATIONAL_SCHEMA: dict[str, pl.DataType] = {
    "county_code": pl.Utf8(),
    "school_code": pl.Utf8(),
    "school_name": pl.Utf8(),
    "program": pl.Utf8(),
    "track": pl.Utf8(),
    "grade": pl.Int64(),
    "enrolled": pl.Int64(),
    "new_intake": pl.Int64(),
    "dropouts": pl.Int64(),
    "period": pl.Utf8(),
}

_DROPOUT_RATE = {2020: 0.055, 2021: 0.05, 2022: 0.045, 2023: 0.035, 2024: 0.025, 2025: 0.018}
_NEW_CAMPUS = ("530622", "530627", "530628")  # 巧家, 镇雄, 彝良: new campuses (the page)


@dataclass(frozen=True)
class School:
    county_code: str
    school_code: str
    name: str
    profile: SchoolProfile


@dataclass(frozen=True)
class Stream:
    school: School
    program: str
    track: str


def build_vocational(seed: int, targets: DemoTargets, scale: int) -> pl.DataFrame:
    """Every school year of `targets.vocational.new_intake`, all schools."""
    years = sorted(int(y) for y in targets.vocational.new_intake)
    first_pathway = int(targets.vocational.first_pathway_year)
    schools = _schools(scale)
    intake: dict[Stream, dict[int, int]] = {}

    # Pathway classes first: their places are fixed, the rest of the intake is split after.
    general = [s for s in schools if s.profile.general_high_school_places]
    pathway_totals: dict[int, int] = {}
    for year in years:
        if year < first_pathway:
            pathway_totals[year] = 0
            continue
        places = targets.vocational.general_high_school_places.get(str(year), 0)
        split = allocate(places, [s.profile.general_high_school_places for s in general])
        total = places
        for school, count in zip(general, split, strict=True):
            intake.setdefault(Stream(school, GENERAL_HIGH_SCHOOL_PROGRAM, "general_high_school_class"), {})[year] = count
        for school in schools:
            for track, spec in (("vocational_college_3_2", school.profile.college_3_2),
                                ("undergraduate_3_4", school.profile.undergraduate_3_4)):
                if spec:
                    program, first_intake, later_intake = spec
                    count = first_intake if year == first_pathway else later_intake
                    intake.setdefault(Stream(school, program, track), {})[year] = count
                    total += count
        pathway_totals[year] = total

    program_weights = {
        (school.school_code, program): rng_for(seed, "vocational", "program", school.school_code, program)
        .uniform(0.5, 1.5) * (1.4 if i < 3 else 1.0)
        for school in schools for i, program in enumerate(school.profile.programs)
    }
    for year in years:
        rest = targets.vocational.new_intake[str(year)] - pathway_totals[year]
        weights = [_school_weight(seed, school, year, years[0]) for school in schools]
        for school, count in zip(schools, allocate(rest, weights), strict=True):
            _split_school_intake(seed, school, year, count, program_weights, intake)

    # Cohorts that are in grades 2–3 in the first years entered before them: synthesise
    # their intake from the first year's, a little smaller (intake has been growing).
    for stream, by_year in intake.items():
        if stream.track in ("secondary_vocational", "comprehensive_high_school") and years[0] in by_year:
            rng = rng_for(seed, "vocational", "early", stream.school.school_code, stream.program, stream.track)
            for back, factor in ((1, 0.93), (2, 0.86)):
                by_year[years[0] - back] = round(by_year[years[0]] * factor * rng.uniform(0.95, 1.05))

    rows = []
    for stream in sorted(intake, key=lambda s: (s.school.county_code, s.school.school_code,
                                               s.track, s.program)):
        rows.extend(_stream_rows(seed, stream, intake[stream], years))
    return pl.DataFrame(rows, schema=VOCATIONAL_SCHEMA, orient="row").sort(
        "period", "county_code", "school_code", "track", "program", "grade")


def _schools(scale: int) -> list[School]:
    schools: list[School] = []
    for copy in range(1, scale + 1):
        for profile in SCHOOLS:
            sequence = 1 + sum(1 for s in schools if s.county_code == profile.county_code)
            name = profile.name if copy == 1 else f"{profile.name}第{copy}分校"
            code = f"21{profile.county_code[2:]}{sequence:04d}"
            schools.append(School(profile.county_code, code, name, profile))
    return schools


def _school_weight(seed: int, school: School, year: int, first_year: int) -> float:
    rng = rng_for(seed, "vocational", "growth", school.school_code, year)
    growth = 1.0 + rng.uniform(-0.03, 0.10) * (year - first_year)
    if school.county_code in _NEW_CAMPUS and year >= 2024:
        growth *= 1.15
    return school.profile.weight * growth


def _split_school_intake(seed: int, school: School, year: int, count: int,
                         program_weights: dict[tuple[str, str], float],
                         intake: dict[Stream, dict[int, int]]) -> None:
    rng = rng_for(seed, "vocational", "split", school.school_code, year)
    parts: list[tuple[str, str]] = [(p, "secondary_vocational") for p in school.profile.programs]
    weights = [program_weights[(school.school_code, p)] for p in school.profile.programs]
    if school.profile.comprehensive:
        parts.append((COMPREHENSIVE_PROGRAM, "comprehensive_high_school"))
        weights.append(sum(weights) * rng.uniform(0.18, 0.25))
    for (program, track), value in zip(parts, allocate(count, weights), strict=True):
        intake.setdefault(Stream(school, program, track), {})[year] = value


def _stream_rows(seed: int, stream: Stream, intake: dict[int, int],
                 years: Sequence[int]) -> list[dict[str, object]]:
    """Follow each cohort of the stream through grades 1–3."""
    rng = rng_for(seed, "vocational", "cohorts", stream.school.school_code, stream.program, stream.track)
    grades = 1 if stream.track == "general_high_school_class" else 3
    rows = []
    for cohort in sorted(intake):
        enrolled = intake[cohort]
        for grade in range(1, grades + 1):
            year = cohort + grade - 1
            rate = _DROPOUT_RATE.get(year, 0.02) * rng.uniform(0.6, 1.4) * (0.7 if grade == 3 else 1.0)
            dropouts = min(enrolled, round(enrolled * rate))
            if year in years and enrolled > 0:
                rows.append({
                    "county_code": stream.school.county_code,
                    "school_code": stream.school.school_code,
                    "school_name": stream.school.name,
                    "program": stream.program,
                    "track": stream.track,
                    "grade": grade,
                    "enrolled": enrolled,
                    "new_intake": intake[cohort] if grade == 1 else 0,
                    "dropouts": dropouts,
                    "period": str(year),
                })
            enrolled -= dropouts
    return rows
