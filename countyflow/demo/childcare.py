"""Holiday childcare demo data: site registries, volunteers and daily attendance per season.

Shape: every county has a master list of sites (the 2025 summer registry, the largest);
earlier seasons use a subset of it, so a site keeps its code, name and rough size across
seasons. Integer totals (sites, children, volunteers per county and per site) are split
with `allocate`, so the city-wide and county sums equal the targets exactly.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import polars as pl

from countyflow.demo._random import allocate, rng_for, salt_for, uniform
from countyflow.demo.profiles import (
    UNIVERSITIES,
    VILLAGE_FIRST,
    VILLAGE_SECOND,
    CountyProfile,
    county_profile,
)
from countyflow.demo.targets import DemoTargets, NamedSite
from countyflow.periods import PeriodKind, parse_period

MIN_CHILDREN_PER_SITE = 5
_NATURAL_DRAWS = 200
"""Draws of a natural site name before its pool counts as used up (see `_site_name`)."""

SITES_SCHEMA: dict[str, pl.DataType] = {
    "county_code": pl.Utf8(),
    "site_code": pl.Utf8(),
    "site_name": pl.Utf8(),
    "township": pl.Utf8(),
    "host_type": pl.Utf8(),
    "start_date": pl.Date(),
    "end_date": pl.Date(),
    "hours_per_day": pl.Float64(),
    "meal_subsidy_yuan": pl.Float64(),
    "children_enrolled": pl.Int64(),
    "left_behind_children": pl.Int64(),
    "relocated_children": pl.Int64(),
    "service_person_times": pl.Int64(),
    "period": pl.Utf8(),
}

VOLUNTEERS_SCHEMA: dict[str, pl.DataType] = {
    "county_code": pl.Utf8(),
    "site_code": pl.Utf8(),
    "source": pl.Utf8(),
    "institution": pl.Utf8(),
    "volunteers": pl.Int64(),
    "period": pl.Utf8(),
}

# Typical children per site by host type (median) and spread (log-normal sigma).
_SIZE: dict[str, tuple[float, float]] = {
    "school": (21.0, 0.45),
    "childrens_home": (10.0, 0.35),
    "community_center": (28.0, 0.30),
    "mobile": (40.0, 0.20),
}
_SOURCE_ORDER = ("university_student", "returning_student", "school_staff", "community_worker",
                 "social_volunteer", "other")


@dataclass(frozen=True)
class MasterSite:
    """A site as the county knows it, whatever the season."""

    county_code: str
    site_code: str
    site_name: str
    township: str | None
    host_type: str
    size: float
    """Relative number of children (named sites: their 2025 summer enrolment)."""
    named: NamedSite | None = None


@dataclass(frozen=True)
class ChildcareFrames:
    sites: pl.DataFrame
    volunteers: pl.DataFrame
    daily: pl.DataFrame


def build_childcare(seed: int, targets: DemoTargets, county_codes: Sequence[str]) -> ChildcareFrames:
    """Sites, volunteers and daily attendance of every season in `targets`, all counties."""
    master_season = max(targets.childcare, key=lambda t: t.sites).season
    masters = _master_sites(seed, targets, county_codes, master_season)
    sites, volunteers, daily = [], [], []
    for season_target in targets.childcare:
        season = season_target.season
        season_sites = _season_sites(seed, targets, masters, season, season == master_season)
        season_volunteers = _season_volunteers(seed, targets, season_sites, season)
        sites.append(season_sites)
        volunteers.append(season_volunteers)
        daily.append(_season_daily(seed, season_sites, season_volunteers, season))
    return ChildcareFrames(
        sites=pl.concat(sites).sort("period", "county_code", "site_code"),
        volunteers=pl.concat(volunteers),
        daily=pl.concat(daily),
    )


# --------------------------------------------------------------------------- master sites


def _master_sites(seed: int, targets: DemoTargets, county_codes: Sequence[str],
                  season: str) -> dict[str, list[MasterSite]]:
    counts = _county_split(
        targets.season(season).sites, county_codes,
        fixed={c: t.sites for c in county_codes if (t := targets.county(c, season))},
        weights=[county_profile(c).childcare_weight for c in county_codes],
        minimum=[max(1, len(_named_in(targets, c, season))) for c in county_codes],
    )
    return {
        county: _county_master(seed, county, count, _named_in(targets, county, season))
        for county, count in zip(county_codes, counts, strict=True)
    }


def _named_in(targets: DemoTargets, county_code: str, season: str) -> list[NamedSite]:
    return [s for s in targets.named_sites if s.county_code == county_code and season in s.seasons]


def _county_master(seed: int, county_code: str, count: int, named: list[NamedSite]) -> list[MasterSite]:
    rng = rng_for(seed, "childcare", "master", county_code)
    profile = county_profile(county_code)
    taken = {site.site_name for site in named}
    drafts: list[tuple[int, float, str, str | None, str, float, NamedSite | None]] = []
    for site in named:
        size = float(site.children_enrolled) if site.children_enrolled else _size(rng, site.host_type)
        drafts.append((_township_rank(profile, site.township), rng.random(), site.site_name,
                       site.township, site.host_type, size, site))
    centre_schools: set[str] = set()
    exhausted: set[str] = set()
    for _ in range(count - len(named)):
        host_type = _host_type(rng, profile)
        township = rng.choice(profile.townships)
        name = _site_name(rng, host_type, township, taken, centre_schools, exhausted)
        taken.add(name)
        drafts.append((_township_rank(profile, township), rng.random(), name, township, host_type,
                       _size(rng, host_type), None))
    drafts.sort(key=lambda d: (d[0], d[1]))
    width = max(3, len(str(len(drafts))))
    return [
        MasterSite(county_code, f"{county_code}-S{i:0{width}d}", name, township, host_type, size, site)
        for i, (_, _, name, township, host_type, size, site) in enumerate(drafts, start=1)
    ]


def _township_rank(profile: CountyProfile, township: str | None) -> int:
    return profile.townships.index(township) if township in profile.townships else len(profile.townships)


def _host_type(rng: random.Random, profile: CountyProfile) -> str:
    draw = rng.random()
    if draw < 0.03:
        return "community_center"
    return "school" if draw < 0.03 + profile.school_share else "childrens_home"


def _size(rng: random.Random, host_type: str) -> float:
    median, sigma = _SIZE[host_type]
    return median * math.exp(rng.gauss(0.0, sigma))


def _village(rng: random.Random) -> str:
    return rng.choice(VILLAGE_FIRST) + rng.choice(VILLAGE_SECOND)


def _site_name(rng: random.Random, host_type: str, township: str, taken: set[str],
               centre_schools: set[str], exhausted: set[str]) -> str:
    """A site name not in `taken` (the county's names so far).

    Names come first from the natural pool (village + kind of host, county-wide), a few
    thousand per county. Once `_NATURAL_DRAWS` draws in a row hit taken names, the pool of
    that host type is (nearly) used up, as happens from scale 15 in the biggest counties:
    `host_type` joins `exhausted` and the county's further sites of that type get derived
    names (`_derived_site_name`). Draws are unchanged until then, so the scales that never
    exhaust a pool (1 to 14) keep their exact names.
    """
    stem = _township_stem(township)
    if host_type not in exhausted:
        for _ in range(_NATURAL_DRAWS):
            village = _village(rng)
            if host_type == "school":
                if township not in centre_schools and rng.random() < 0.3:
                    centre_schools.add(township)
                    name = f"{stem}中心小学" if not township.endswith("街道") else f"{stem}小学"
                else:
                    name = f"{village}{rng.choice(('小学', '小学', '完小', '中学'))}"
            elif host_type == "childrens_home":
                name = f"{village}{rng.choice(('村', '村', '社区'))}儿童之家"
            else:
                name = f"{stem}{village}社区“一老一小”关爱服务中心"
            if name not in taken:
                return name
        exhausted.add(host_type)
    return _derived_site_name(rng, host_type, stem, taken)


def _derived_site_name(rng: random.Random, host_type: str, stem: str, taken: set[str]) -> str:
    """A name beyond the natural pool, as counties write them when villages repeat: the
    township first (`果珠大坝小学`, `果珠大坝村儿童之家`), and when that is taken too, a
    further care point of the same host (`果珠大坝小学第二托管点`, `…第三托管点`, …).

    Always terminates: the ordinal grows until the name is free.
    """
    village = _village(rng)
    if host_type == "school":
        base = f"{stem}{village}{rng.choice(('小学', '小学', '完小', '中学'))}"
    elif host_type == "childrens_home":
        base = f"{stem}{village}{rng.choice(('村', '村', '社区'))}儿童之家"
    else:
        base = f"{stem}{village}社区“一老一小”关爱服务中心"
    name, ordinal = base, 1
    while name in taken:
        ordinal += 1
        name = f"{base}第{_chinese_ordinal(ordinal)}托管点"
    return name


def _township_stem(township: str) -> str:
    """`果珠彝族乡` → `果珠`, `乌峰街道` → `乌峰`: the township as site names abbreviate it."""
    return re.sub(r"((回族|彝族|苗族)+)?(街道|镇|乡)$", "", township)


_DIGITS = "零一二三四五六七八九"


def _chinese_ordinal(number: int) -> str:
    """2 → 二, 10 → 十, 23 → 二十三; from 100 on, Arabic digits (as forms write them)."""
    if not 0 < number < 100:
        return str(number)
    tens, units = divmod(number, 10)
    if tens == 0:
        return _DIGITS[units]
    return f"{_DIGITS[tens] if tens > 1 else ''}十{_DIGITS[units] if units else ''}"


# --------------------------------------------------------------------------- sites per season


def _season_sites(seed: int, targets: DemoTargets, masters: dict[str, list[MasterSite]],
                  season: str, is_master: bool) -> pl.DataFrame:
    season_target = targets.season(season)
    county_codes = list(masters)
    if is_master:
        chosen = {county: list(sites) for county, sites in masters.items()}
    else:
        counts = _county_split(
            season_target.sites, county_codes,
            fixed={c: t.sites for c in county_codes if (t := targets.county(c, season))},
            weights=[len(masters[c]) for c in county_codes],
            minimum=[len(_named_in(targets, c, season)) for c in county_codes],
        )
        chosen = {
            county: _pick_sites(seed, season, masters[county], count)
            for county, count in zip(county_codes, counts, strict=True)
        }
    fixed_children = {
        county: sum(s.named.children_enrolled or 0 for s in sites if s.named and is_master)
        for county, sites in chosen.items()
    }
    children = _county_split(
        season_target.children_enrolled, county_codes,
        fixed={c: t.children_enrolled for c in county_codes if (t := targets.county(c, season))},
        weights=[sum(s.size for s in chosen[c]) for c in county_codes],
        minimum=[fixed_children[c] + MIN_CHILDREN_PER_SITE * sum(
            1 for s in chosen[c] if not (is_master and s.named and s.named.children_enrolled))
            for c in county_codes],
    )
    rows: list[dict[str, object]] = []
    for county, total in zip(county_codes, children, strict=True):
        rows.extend(_county_sites(seed, season, chosen[county], total, is_master))
    return pl.DataFrame(rows, schema=SITES_SCHEMA, orient="row")


def _pick_sites(seed: int, season: str, masters: list[MasterSite], count: int) -> list[MasterSite]:
    rng = rng_for(seed, "childcare", "pick", season, masters[0].county_code if masters else "")
    named = [s for s in masters if s.named and season in s.named.seasons]
    others = [s for s in masters if not s.named and s.host_type != "mobile"]
    if count > len(named) + len(others):
        raise ValueError(f"{season}: {count} sites asked, only {len(named) + len(others)} known")
    picked = {s.site_code for s in [*named, *rng.sample(others, count - len(named))]}
    return [s for s in masters if s.site_code in picked]


def _county_sites(seed: int, season: str, sites: list[MasterSite], total: int,
                  is_master: bool) -> list[dict[str, object]]:
    if not sites:
        return []
    period = parse_period(season)
    fixed = [
        s.named.children_enrolled if is_master and s.named and s.named.children_enrolled else None
        for s in sites
    ]
    free = [i for i, value in enumerate(fixed) if value is None]
    split = allocate(total - sum(v for v in fixed if v), [sites[i].size for i in free],
                     MIN_CHILDREN_PER_SITE)
    children = list(fixed)
    for i, value in zip(free, split, strict=True):
        children[i] = value
    profile = county_profile(sites[0].county_code)
    rows: list[dict[str, object]] = []
    for site, enrolled in zip(sites, children, strict=True):
        assert enrolled is not None
        rng = rng_for(seed, "childcare", "site", season, site.site_code)
        named = site.named if is_master else None
        start, days = _service_window(rng, period.kind, period.year)
        if named and named.start_date:
            start = named.start_date
        if named and named.service_days:
            days = named.service_days
        hours = named.hours_per_day if named and named.hours_per_day else _hours(rng)
        rows.append({
            "county_code": site.county_code,
            "site_code": site.site_code,
            "site_name": site.site_name,
            "township": site.township,
            "host_type": site.host_type,
            "start_date": start,
            "end_date": start + timedelta(days=days - 1),
            "hours_per_day": hours,
            "meal_subsidy_yuan": _meal_subsidy(seed, site),
            "children_enrolled": enrolled,
            "left_behind_children": round(enrolled * rng.uniform(0.55, 0.95)),
            "relocated_children": _relocated(rng, site, enrolled, profile, is_master),
            "service_person_times": _person_times(rng, site, enrolled, is_master),
            "period": season,
        })
    return rows


def _service_window(rng: random.Random, kind: PeriodKind, year: int) -> tuple[date, int]:
    """First day and number of service days: mostly 30 or more (policy), a few shorter."""
    if kind is PeriodKind.WINTER:
        start = date(year, 1, 10) + timedelta(days=rng.randint(0, 7))
        days = rng.randint(30, 38) if rng.random() < 0.9 else rng.randint(20, 29)
    else:
        start = date(year, 7, 1) + timedelta(days=rng.randint(0, 13))
        days = rng.randint(30, 45) if rng.random() < 0.94 else rng.randint(21, 29)
    return start, days


def _hours(rng: random.Random) -> float:
    return rng.choices((5.0, 5.5, 6.0, 4.5), weights=(38, 22, 37, 3))[0]


def _meal_subsidy(seed: int, site: MasterSite) -> float | None:
    """Yuan per child-day; a site keeps its standard across seasons."""
    if site.named and site.named.meal_subsidy_yuan is not None:
        return site.named.meal_subsidy_yuan
    rng = rng_for(seed, "childcare", "meal", site.site_code)
    options: dict[str, tuple[tuple[float | None, ...], tuple[int, ...]]] = {
        "school": ((8.0, 5.0, 6.0, 10.0, 12.0, 15.0, None), (60, 8, 8, 10, 4, 2, 8)),
        "childrens_home": ((0.0, 5.0, 8.0, None), (30, 15, 35, 20)),
        "community_center": ((8.0, 10.0), (70, 30)),
        "mobile": ((0.0, None), (50, 50)),
    }
    values, weights = options[site.host_type]
    return rng.choices(values, weights=weights)[0]


def _relocated(rng: random.Random, site: MasterSite, enrolled: int, profile: CountyProfile,
               is_master: bool) -> int | None:
    named = site.named
    if named and named.relocated_children is not None and named.children_enrolled:
        if is_master:
            return named.relocated_children
        return min(enrolled, round(enrolled * named.relocated_children / named.children_enrolled))
    if site.host_type == "mobile" or rng.random() < 0.15:
        return None  # not reported
    share = min(0.6, max(0.0, rng.gauss(profile.relocated_share, 0.08)))
    return round(enrolled * share)


def _person_times(rng: random.Random, site: MasterSite, enrolled: int, is_master: bool) -> int | None:
    if site.host_type != "mobile":
        return None
    if is_master and site.named and site.named.service_person_times:
        return site.named.service_person_times
    return enrolled * rng.randint(10, 14)


# --------------------------------------------------------------------------- volunteers


def _season_volunteers(seed: int, targets: DemoTargets, sites: pl.DataFrame, season: str) -> pl.DataFrame:
    season_target = targets.season(season)
    by_county = sites.group_by("county_code", maintain_order=True).agg(
        pl.len().alias("sites"), pl.col("children_enrolled").sum().alias("children"))
    county_codes = by_county["county_code"].to_list()
    site_counts = by_county["sites"].to_list()
    children = by_county["children"].to_list()
    fixed_univ = {c: t.volunteers_university for c in county_codes if (t := targets.county(c, season))}
    university = _county_split(season_target.volunteers_university, county_codes, fixed=fixed_univ,
                               weights=children, minimum=[0] * len(county_codes))
    other = _county_split(season_target.volunteers_other, county_codes, fixed={},
                          weights=[c + 8 * s for c, s in zip(children, site_counts, strict=True)],
                          minimum=site_counts)
    rows: list[dict[str, object]] = []
    for county, univ, rest in zip(county_codes, university, other, strict=True):
        county_sites = sites.filter(pl.col("county_code") == county).to_dicts()
        target = targets.county(county, season)
        rows.extend(_university_rows(seed, season, county_sites, univ,
                                     target.universities if target else None))
        rows.extend(_other_rows(seed, season, county_sites, rest))
    frame = pl.DataFrame(rows, schema={k: VOLUNTEERS_SCHEMA[k] for k in
                                       ("county_code", "site_code", "source", "institution", "volunteers")},
                         orient="row")
    source_rank = pl.col("source").replace_strict({s: i for i, s in enumerate(_SOURCE_ORDER)},
                                                  return_dtype=pl.Int64)
    return (
        frame.group_by("county_code", "site_code", "source", "institution", maintain_order=True)
        .agg(pl.col("volunteers").sum())
        .filter(pl.col("volunteers") > 0)
        .with_columns(pl.lit(season).alias("period"))
        .sort("county_code", "site_code", source_rank, "institution", nulls_last=True)
        .select(list(VOLUNTEERS_SCHEMA))
    )


def _university_rows(seed: int, season: str, sites: list[dict[str, Any]], total: int,
                     universities: tuple[str, ...] | None) -> list[dict[str, object]]:
    if total == 0 or not sites:
        return []
    rng = rng_for(seed, "childcare", "university", season, sites[0]["county_code"])
    if universities is None:
        wanted = max(1, min(5, total, round(total / 18) + 1))
        universities = tuple(_weighted_sample(rng, [u for u, _ in UNIVERSITIES],
                                              [w for _, w in UNIVERSITIES], wanted))
    team_sizes = allocate(total, [rng.uniform(0.6, 1.4) for _ in universities], minimum=1)
    # Teams go to the bigger sites, schools and community centres first.
    appeal = [float(s["children_enrolled"]) * (0.4 if s["host_type"] == "childrens_home" else 1.0)
              for s in sites]
    rows = []
    for university, size in zip(universities, team_sizes, strict=True):
        spread = max(1, min(size, len(sites), math.ceil(size / 8)))
        chosen = _weighted_sample(rng, list(range(len(sites))), appeal, spread)
        for index, count in zip(chosen, allocate(size, [rng.uniform(0.7, 1.3) for _ in chosen], 1),
                                strict=True):
            rows.append({"county_code": sites[index]["county_code"],
                         "site_code": sites[index]["site_code"], "source": "university_student",
                         "institution": university, "volunteers": count})
    return rows


def _other_rows(seed: int, season: str, sites: list[dict[str, Any]], total: int) -> list[dict[str, object]]:
    """One volunteer in charge per site (school staff or community worker), the rest spread."""
    if not sites:
        return []
    rng = rng_for(seed, "childcare", "other", season, sites[0]["county_code"])
    rows: list[dict[str, object]] = []
    candidates: list[tuple[dict[str, object], float]] = []
    for site in sites:
        code, county = site["site_code"], site["county_code"]
        size = float(site["children_enrolled"])
        if site["host_type"] == "school":
            base = {"source": "school_staff",
                    "institution": site["site_name"] if rng.random() < 0.7 else None}
            extra = {"source": "community_worker", "institution": None}
        else:
            township = site["township"]
            base = {"source": "community_worker",
                    "institution": f"{township}人民政府" if township and rng.random() < 0.4 else None}
            extra = {"source": "school_staff", "institution": None}
        rows.append({"county_code": county, "site_code": code, **base, "volunteers": 1})
        for part, weight in ((base, 1.0), ({"source": "returning_student", "institution": None}, 1.2),
                             ({"source": "social_volunteer", "institution": None}, 0.35),
                             ({"source": "other", "institution": None}, 0.08), (extra, 0.3)):
            candidates.append(({"county_code": county, "site_code": code, **part},
                               weight * size * rng.uniform(0.5, 1.5)))
    extra_counts = allocate(total - len(sites), [w for _, w in candidates])
    rows.extend({**row, "volunteers": n} for (row, _), n in zip(candidates, extra_counts, strict=True) if n)
    return rows


def _weighted_sample(rng: random.Random, items: list, weights: list[float], count: int) -> list:
    """`count` distinct items, drawn with probability proportional to weight (Efraimidis–Spirakis)."""
    keys = [rng.random() ** (1.0 / max(w, 1e-9)) for w in weights]
    order = sorted(range(len(items)), key=lambda i: -keys[i])
    return [items[i] for i in sorted(order[:count])]


# --------------------------------------------------------------------------- daily attendance


def _season_daily(seed: int, sites: pl.DataFrame, volunteers: pl.DataFrame, season: str) -> pl.DataFrame:
    """One row per site and service day; noise from a vectorised hash, no Python per row."""
    on_roll = volunteers.group_by("site_code").agg(pl.col("volunteers").sum().alias("on_roll"))
    days = (
        sites.select("county_code", "site_code", "start_date", "end_date", "children_enrolled",
                     "meal_subsidy_yuan")
        .join(on_roll, on="site_code", how="left")
        .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("site_index"),
                      pl.date_ranges("start_date", "end_date", "1d").alias("date"))
        .explode("date")
        .with_columns((pl.col("date") - pl.col("start_date")).dt.total_days().alias("day_index"))
    )
    salt = salt_for(seed, "childcare", "daily", season)
    keys = (days["site_index"], days["day_index"])
    days = days.with_columns(
        uniform(salt, *keys).alias("u_present"),
        uniform(salt + 1, *keys).alias("u_duty"),
        uniform(salt + 2, *keys).alias("u_meals"),
    )
    present = (pl.col("children_enrolled") * (0.70 + 0.30 * pl.col("u_present"))).ceil().cast(pl.Int64)
    on_roll_count = pl.col("on_roll").fill_null(0)
    duty = (on_roll_count * (0.5 + 0.5 * pl.col("u_duty"))).ceil().cast(pl.Int64).clip(
        pl.min_horizontal(on_roll_count, 1), on_roll_count)
    return (
        days.with_columns(present.alias("children_present"), duty.alias("volunteers_on_duty"))
        .with_columns(
            pl.when(pl.col("meal_subsidy_yuan") > 0)
            .then(pl.col("children_present") + pl.col("volunteers_on_duty")
                  - (pl.col("u_meals") < 0.1).cast(pl.Int64))
            .otherwise(None)
            .clip(lower_bound=0)
            .alias("meals_served"),
            pl.lit(season).alias("period"),
        )
        .select("county_code", "site_code", "date", "children_present", "volunteers_on_duty",
                "meals_served", "period")
    )


# --------------------------------------------------------------------------- helpers


def _county_split(total: int, county_codes: Sequence[str], *, fixed: dict[str, int],
                  weights: Sequence[float], minimum: Sequence[int]) -> list[int]:
    """Split a city-wide total over counties; `fixed` counties get exactly their figure."""
    free = [i for i, c in enumerate(county_codes) if c not in fixed]
    split = allocate(total - sum(fixed.values()), [weights[i] for i in free], [minimum[i] for i in free])
    result = [fixed.get(c, 0) for c in county_codes]
    for i, value in zip(free, split, strict=True):
        result[i] = value
    return result
