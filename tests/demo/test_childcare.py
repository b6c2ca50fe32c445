"""Childcare master sites at large scales: codes and names stay unique once the natural pool
of village names runs out (scale 15 and up), and scales that never exhaust it keep their names.

Only the master registry is built here (no attendance, no rendering), so scale 100 is quick.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter

import pytest

from countyflow.demo import DEFAULT_SEED, demo_targets
from countyflow.demo.childcare import MasterSite, _chinese_ordinal, _master_sites, _township_stem
from countyflow.demo.targets import NAMED_SITES, SUMMER_2025
from countyflow.reference import county_codes
from schemas._common import SITE_CODE_PATTERN

_ORDINAL = re.compile(r"^(?P<base>.+)第(?P<ordinal>[一二三四五六七八九十]+|\d+)托管点$")
_NUMBERS = {_chinese_ordinal(n): n for n in range(2, 1000)}


def _masters(scale: int) -> dict[str, list[MasterSite]]:
    return _master_sites(DEFAULT_SEED, demo_targets(scale), sorted(county_codes()), SUMMER_2025)


def _digest(masters: dict[str, list[MasterSite]]) -> str:
    text = "\n".join(f"{s.site_code}|{s.site_name}|{s.township}|{s.host_type}"
                     for county in sorted(masters) for s in masters[county])
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def scale_100() -> dict[str, list[MasterSite]]:
    return _masters(100)


def test_scale_100_has_every_site_with_a_unique_code(scale_100) -> None:
    sites = [site for county_sites in scale_100.values() for site in county_sites]
    assert len(sites) == demo_targets(100).season(SUMMER_2025).sites
    codes = [site.site_code for site in sites]
    # The warehouse keys sites by code alone, across counties.
    assert len(set(codes)) == len(codes)
    for county, county_sites in scale_100.items():
        for site in county_sites:
            assert site.county_code == county
            assert site.site_code.startswith(f"{county}-S")
            assert re.fullmatch(SITE_CODE_PATTERN, site.site_code)


def test_scale_100_names_are_unique_in_each_county(scale_100) -> None:
    for county, county_sites in scale_100.items():
        repeated = [n for n, c in Counter(s.site_name for s in county_sites).items() if c > 1]
        assert not repeated, (county, repeated[:5])
    named = Counter((s.county_code, s.site_name) for county_sites in scale_100.values()
                    for s in county_sites if s.named)
    assert named == Counter((s.county_code, s.site_name) for s in NAMED_SITES if SUMMER_2025 in s.seasons)


def test_derived_names_follow_their_township_and_count_up(scale_100) -> None:
    """`…第三托管点` only after `…第二托管点`, which only after the plain name; all carry the
    site's township."""
    derived = 0
    for county_sites in scale_100.values():
        names = {s.site_name for s in county_sites}
        for site in county_sites:
            match = _ORDINAL.match(site.site_name)
            if not match:
                continue
            derived += 1
            assert site.township is not None
            assert site.site_name.startswith(_township_stem(site.township))
            number = _NUMBERS[match["ordinal"]]
            before = match["base"] if number == 2 else f"{match['base']}第{_chinese_ordinal(number - 1)}托管点"
            assert before in names, site.site_name
    assert derived > 0  # scale 100 does exhaust the natural pool


def test_large_scales_are_deterministic() -> None:
    """Scale 20 already derives names. The digest is fixed, so a run with another
    `PYTHONHASHSEED` (pytest does not fix it) would catch a set's order leaking in."""
    digest = _digest(_masters(20))
    assert _digest(_masters(20)) == digest
    assert digest == "8ef2775f39f5d4821034af3d7db04aa7267e906aef4f8cee8af14496281b4e4b"


@pytest.mark.parametrize(("scale", "digest"), [
    (1, "c1f4e576a759922138560d512eeffe8d44c41918d53e4cc5fdc82df4920877b0"),
    (10, "398336535f940ec80a4e9bb5c18e99aab2e407f223204c108fc5fc77a20a7bea"),
])
def test_scales_below_exhaustion_keep_their_names(scale: int, digest: str) -> None:
    """The registries of scale 1 (the reference figures) and 10 as generated before names
    could be derived: codes, names, townships and host types unchanged."""
    masters = _masters(scale)
    assert not any(_ORDINAL.match(s.site_name) for sites in masters.values() for s in sites)
    assert _digest(masters) == digest


@pytest.mark.parametrize(("number", "text"), [
    (1, "一"), (2, "二"), (9, "九"), (10, "十"), (11, "十一"), (20, "二十"), (23, "二十三"),
    (99, "九十九"), (100, "100"), (1234, "1234"),
])
def test_chinese_ordinal(number: int, text: str) -> None:
    assert _chinese_ordinal(number) == text


def test_township_stem() -> None:
    assert _township_stem("果珠彝族乡") == "果珠"
    assert _township_stem("上高桥回族彝族苗族乡") == "上高桥"
    assert _township_stem("乌峰街道") == "乌峰"
    assert _township_stem("永丰镇") == "永丰"
