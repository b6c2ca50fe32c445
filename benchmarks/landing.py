"""The benchmark's input: a scaled demo landing zone, its 5 % correction wave (W3) and the
pre-converted CSV copies the I/O-limit baseline (B0) loads.

Everything here runs outside the timed sections.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import polars as pl

from countyflow.demo.generate import DEFAULT_SEED, DemoSubmission, plan_demo_submissions

# One count per dataset that a correction can raise by 1 without breaking an error rule
# (it may add a warning, which never blocks): the file stays accepted and supersedes.
CORRECTED_COLUMN = {
    "childcare_sites": "children_enrolled",
    "childcare_volunteers": "volunteers",
    "childcare_daily": "children_present",
    "vocational_enrollment": "enrolled",
    "health_monthly": "beds_open",
}


@dataclass(frozen=True)
class LandingFile:
    """One file to (re)write: relative path, bytes, modification time (epoch seconds)."""

    path: str
    data: bytes
    mtime: float


def plan(scale: int, counties: Sequence[str] | None = None) -> tuple[DemoSubmission, ...]:
    """The demo's files at `scale`, optionally only those of some counties (for quick runs)."""
    submissions = plan_demo_submissions(DEFAULT_SEED, scale)
    if counties:
        submissions = tuple(s for s in submissions if s.file.county_code in set(counties))
    return submissions


def as_files(submissions: Sequence[DemoSubmission]) -> list[LandingFile]:
    return [LandingFile(s.file.path, s.data, s.file.modified_at.timestamp()) for s in submissions]


def write_files(landing: Path, files: Sequence[LandingFile]) -> None:
    for item in files:
        target = landing / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(item.data)
        os.utime(target, (item.mtime, item.mtime))


def corrections(submissions: Sequence[DemoSubmission], fraction: float = 0.05) -> list[LandingFile]:
    """W3's input: `fraction` of the files (final ones without a lifecycle case, evenly spread
    in path order) re-rendered with one count raised by 1 and a modification time a day
    later, so each is a new submission that supersedes the file it replaces."""
    from countyflow.demo.generate import _file_text, _style  # the generator's own rendering
    from countyflow.demo.render import render
    from schemas import contract_for

    candidates = [s for s in submissions if s.file.final and s.file.case is None]
    count = max(1, math.ceil(len(submissions) * fraction))
    step = max(1, len(candidates) // count)
    changed: list[LandingFile] = []
    for submission in candidates[::step][:count]:
        demo = submission.file
        column = CORRECTED_COLUMN[demo.dataset]
        first = pl.int_range(pl.len()) == 0
        frame = submission.frame.with_columns(
            pl.when(first).then(pl.col(column) + 1).otherwise(pl.col(column)).alias(column))
        style = _style(DEFAULT_SEED, demo.dataset, demo.county_code, demo.period, submission.frame)
        text = _file_text(demo.dataset, demo.county_code, demo.period, demo.modified_at)
        rendered = render(contract_for(demo.dataset), frame, style, text, seed=DEFAULT_SEED)
        later = (demo.modified_at + timedelta(days=1)).timestamp()
        changed.append(LandingFile(demo.path, rendered.data, later))
    return changed


def convert_for_b0(landing: Path, target: Path) -> dict[str, object]:
    """B0's input: each landing file as a clean UTF-8 CSV with canonical headers.

    XLSX and JSON (and GB18030 CSV) are converted here, outside the timed section, with
    countyflow's own reader (which also drops personal columns); B0 then only reads CSV
    text and inserts it, untyped and unvalidated. Returns {dataset: [csv paths]}, rows, and
    each landing file's CSV (`by_source`, which B1 reads for the workbooks), and each CSV's
    county and period from its landing path (`partitions`, which B3 keys its merge on).
    """
    from countyflow.ingest.discover import is_junk, parse_landing_path
    from countyflow.ingest.model import SOURCE_ROW, SubmissionRejected
    from countyflow.ingest.read import read_submission
    from schemas import CONTRACTS

    shutil.rmtree(target, ignore_errors=True)
    files: dict[str, list[str]] = {}
    by_source: dict[str, str] = {}
    partitions: dict[str, tuple[str, str]] = {}
    rows = 0
    for number, path in enumerate(sorted(p for p in landing.rglob("*") if p.is_file())):
        relative = path.relative_to(landing).as_posix()
        where = parse_landing_path(relative)
        if is_junk(relative) or where.path_error is not None:
            continue
        contract = CONTRACTS[where.dataset]
        try:
            parsed = read_submission(
                path.read_bytes(), extension=where.extension, contract=contract,
                expected={"county_code": where.county_code, "dataset": where.dataset,
                          "period": where.period},
                max_cells=10**9, max_columns=10_000)
        except SubmissionRejected:
            continue
        frame = parsed.frame.drop(SOURCE_ROW)
        out = target / where.dataset / f"{number:06d}.csv"
        out.parent.mkdir(parents=True, exist_ok=True)
        frame.write_csv(out)
        files.setdefault(where.dataset, []).append(str(out))
        by_source[relative] = str(out)
        partitions[str(out)] = (where.county_code, where.period)
        rows += frame.height
    manifest = {"files": files, "rows": rows, "by_source": by_source, "partitions": partitions}
    (target / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return manifest
