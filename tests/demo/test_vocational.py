"""Vocational schools at large scales: codes stay 10-digit and unique, names unique."""

from __future__ import annotations

import re

from countyflow.demo.profiles import SCHOOLS
from countyflow.demo.vocational import _schools


def test_scale_100_schools_have_unique_codes_and_names() -> None:
    schools = _schools(100)
    assert len(schools) == 100 * len(SCHOOLS)
    codes = [s.school_code for s in schools]
    assert len(set(codes)) == len(codes)
    assert len({s.name for s in schools}) == len(schools)
    for school in schools:
        # schemas/vocational_enrollment.py: school_code_format
        assert re.fullmatch(r"\d{10}", school.school_code)
        assert school.school_code[2:6] == school.county_code[2:]
