"""The demo landing zone: every county's submissions for every dataset, as clerks send them.

`build_demo_frames` gives the canonical rows (pure, fast, no rendering); `plan_demo_submissions`
turns them into files (bytes plus what validation should say about each; `iter_demo_submissions`
renders them one partition at a time); `write_demo_landing` streams those files to a local
folder or any fsspec URL and returns the `DemoManifest`.

The figures of `countyflow.demo.targets` hold for the final accepted submission of each
partition. Three lifecycle cases are built in (see `LifecycleCase`):

* 鲁甸县 2025-summer `childcare_sites`: the first file has an approximate count (`约170人`) and
  a row with left-behind > enrolled, so it is rejected; a corrected resubmission (later
  modification time, a name that sorts after: `…（更正）.xlsx`) is accepted.
* 盐津县 2024 `vocational_enrollment`: a valid file with a typo, then a valid correction that
  supersedes it.
* 彝良县 2025-winter: the daily attendance and volunteer files are older than the county's
  site registry; processing order, not arrival order, must decide (both are accepted).

Two more partitions arrive after their due date (`LATE_PARTITIONS`); every other file is
received on time (`_received_at`).

About 60 % of the spreadsheets (and every pinned one in `_PINNED_FORMS`) are laid out as real
county forms (SPEC §3.1, `countyflow.demo.forms`): merged group cells, 小计 and 总合计 rows,
two-row headers, one sheet per month, a 填表说明 sheet first, the 卫统 block, a hidden cancelled
row, `—` for 0, no county column, `2025级` cohorts, `7.14` dates, wide volunteer sheets.
`DemoFile.layouts` names them. Only how the rows are written changes: every file still carries
its partition's canonical rows (a wide volunteer sheet, which cannot hold institutions, is
only used where no site has two institutions of one kind, and then loads them empty).

Determinism: the same seed and scale give the same bytes for every file (XLSX included:
fixed workbook properties and zip timestamps) and the same modification times.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum

import fsspec
import polars as pl
from fsspec.implementations.local import LocalFileSystem

from countyflow.demo import forms
from countyflow.demo._random import rng_for
from countyflow.demo.childcare import build_childcare
from countyflow.demo.expect import rule_hits, site_registry, surgery_history
from countyflow.demo.health import build_health
from countyflow.demo.render import VARIANTS, Defect, FileStyle, FileText, Rendered, Variant, render
from countyflow.demo.targets import DEMO_TARGETS, SUIJIANG, SUMMER_2025, DemoTargets
from countyflow.demo.vocational import build_vocational
from countyflow.ingest.model import SubmissionStatus
from countyflow.periods import PeriodKind, parse_period
from countyflow.reference import counties
from schemas import contract_for
from schemas.contract import ColumnType

DEFAULT_SEED = 20250706
"""7月6日: the day 威信县's first 2025 summer class opened."""

DATASETS: tuple[str, ...] = ("childcare_sites", "childcare_volunteers", "childcare_daily",
                             "vocational_enrollment", "health_monthly")

CHINA_TIME = timezone(timedelta(hours=8))

REJECTED_PARTITION = ("530621", "childcare_sites", "2025-summer")
SUPERSEDED_PARTITION = ("530623", "vocational_enrollment", "2024")
LATE_REGISTRY = ("530628", "2025-winter")
"""County and season whose daily attendance and volunteers arrive before its site registry."""

LATE_PARTITIONS: dict[tuple[str, str, str], datetime] = {
    # Well past the due dates of countyflow/reference/calendar.csv (09-30, the 10th of next month).
    ("530627", "childcare_daily", "2025-summer"): datetime(2025, 10, 14, 16, 20, tzinfo=CHINA_TIME),
    ("530602", "health_monthly", "2024-02"): datetime(2024, 3, 18, 10, 5, tzinfo=CHINA_TIME),
}
"""Partitions whose only file arrives late (the Spring Festival; a big county's daily sheets)."""

CORRECTION_SUFFIX = "（更正）"


class LifecycleCase(StrEnum):
    REJECTED = "rejected"
    """The first file of a partition, with errors: rejected, nothing of it loaded."""
    CORRECTION_OF_REJECTED = "correction_of_rejected"
    """Its corrected resubmission: accepted, counts toward the figures."""
    SUPERSEDED = "superseded"
    """A valid file replaced by a later valid correction."""
    SUPERSEDING_CORRECTION = "superseding_correction"
    """The correction that replaces it: counts toward the figures."""
    ARRIVES_BEFORE_REGISTRY = "arrives_before_registry"
    """Daily attendance (or volunteers) older than its site registry: accepted all the same."""
    REGISTRY_AFTER_DEPENDANTS = "registry_after_dependants"
    """That site registry."""
    LATE = "late"
    """Valid and accepted, but received after the partition's due date."""


@dataclass(frozen=True)
class DemoFile:
    """One file of the demo landing zone and what the pipeline should make of it."""

    path: str
    """Relative to the landing zone: `<county_code>/<dataset>/<period>/<file name>`."""
    county_code: str
    dataset: str
    period: str
    file_name: str
    format: str
    """csv, xlsx or json."""
    variant: Variant
    """csv-utf8, csv-utf8-bom, csv-gb18030, xlsx, json-list or json-records."""
    encoding: str | None
    rows: int
    """Data rows (title, header, total and notes rows of a spreadsheet not counted)."""
    size_bytes: int
    sha256: str
    modified_at: datetime
    expected_status: SubmissionStatus
    """Status after one run over the whole landing zone (all counties, all datasets)."""
    expected_errors: tuple[str, ...]
    expected_warnings: tuple[str, ...]
    """Rule ids (contract rules and `schemas.contract.COMMON_RULES`) the report should list."""
    final: bool
    """True when this file's rows are the partition's loaded facts (counts toward the figures)."""
    case: LifecycleCase | None = None
    personal_headers: tuple[str, ...] = ()
    """Headers of personal-data columns in the file (must be dropped on read)."""
    unknown_headers: tuple[str, ...] = ()
    layouts: tuple[str, ...] = ()
    """Real county form layouts (SPEC §3.1) the file uses (`FileStyle.layouts`)."""

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["modified_at"] = self.modified_at.isoformat()
        data["expected_status"] = self.expected_status.value
        data["case"] = self.case.value if self.case else None
        return data


@dataclass(frozen=True)
class DemoSubmission:
    """A planned file: its manifest entry, the canonical rows it carries, its bytes."""

    file: DemoFile
    frame: pl.DataFrame = field(repr=False)
    """What the clerk meant (typed, canonical columns plus `county_code` and `period`)."""
    data: bytes = field(repr=False)
    raw: pl.DataFrame = field(repr=False)
    """The cells as written, header names as columns."""


@dataclass(frozen=True)
class DemoManifest:
    """Every file written, in path order."""

    landing: str
    seed: int
    scale: int
    files: tuple[DemoFile, ...]

    def lifecycle_cases(self) -> tuple[DemoFile, ...]:
        return tuple(f for f in self.files if f.case is not None)

    def partition(self, county_code: str, dataset: str, period: str) -> tuple[DemoFile, ...]:
        """The partition's files, oldest first (the pipeline's supersession order)."""
        files = [f for f in self.files
                 if (f.county_code, f.dataset, f.period) == (county_code, dataset, period)]
        return tuple(sorted(files, key=lambda f: (f.modified_at, f.file_name)))

    def rows(self, dataset: str, *, final_only: bool = True) -> int:
        return sum(f.rows for f in self.files if f.dataset == dataset and (f.final or not final_only))

    def to_dict(self) -> dict[str, object]:
        return {"landing": self.landing, "seed": self.seed, "scale": self.scale,
                "files": [f.to_dict() for f in self.files]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1)


# --------------------------------------------------------------------------- public API


def demo_targets(scale: int = 1) -> DemoTargets:
    """The figures a demo of this scale reproduces."""
    return DEMO_TARGETS.scaled(scale)


def build_demo_frames(seed: int = DEFAULT_SEED, scale: int = 1) -> dict[str, pl.DataFrame]:
    """The final (accepted) canonical rows of every dataset, all partitions; nothing written.

    Each frame has its contract's columns, typed, plus `period` (and `county_code`, which
    `childcare_volunteers` files do not carry: their path does).
    """
    targets = demo_targets(scale)
    county_codes = sorted(counties()["county_code"].to_list())
    childcare = build_childcare(seed, targets, county_codes)
    return {
        "childcare_sites": childcare.sites,
        "childcare_volunteers": childcare.volunteers,
        "childcare_daily": childcare.daily,
        "vocational_enrollment": build_vocational(seed, targets, scale),
        "health_monthly": build_health(seed, targets),
    }


def plan_demo_submissions(seed: int = DEFAULT_SEED, scale: int = 1) -> tuple[DemoSubmission, ...]:
    """Every file of the demo landing zone, rendered (pure: nothing is written), in path order.

    Holds every file's bytes and frames at once (about 3.5 GB at scale 100);
    `iter_demo_submissions` renders them one partition at a time, as `write_demo_landing` does.
    """
    return tuple(sorted(iter_demo_submissions(seed, scale), key=lambda s: s.file.path))


def iter_demo_submissions(seed: int = DEFAULT_SEED, scale: int = 1) -> Iterator[DemoSubmission]:
    """The files of `plan_demo_submissions`, rendered lazily one partition at a time, in
    dataset, then county and period order (not path order)."""
    frames = build_demo_frames(seed, scale)
    history = surgery_history(frames["health_monthly"])
    sites = frames["childcare_sites"]
    for dataset in DATASETS:
        for (county_code, period), part in _partitions(frames[dataset]):
            lookups: dict[str, pl.DataFrame] = {}
            if dataset in ("childcare_daily", "childcare_volunteers"):
                lookups["site_registry"] = site_registry(
                    sites.filter(pl.col("county_code") == county_code, pl.col("period") == period))
            months = None
            if dataset == "health_monthly":
                lookups["surgery_history"] = history.filter(pl.col("period") == period).drop("period")
                months = frames[dataset].filter(pl.col("county_code") == county_code)
            yield from _partition_files(seed, dataset, county_code, period, part, lookups, months)


def write_demo_landing(landing: str, *, seed: int = DEFAULT_SEED, scale: int = 1) -> DemoManifest:
    """Write the demo landing zone to `landing` (a local path or an fsspec URL).

    Files are overwritten with identical bytes on a re-run; nothing else in `landing` is
    touched. On a local filesystem each file's modification time is set to its
    `DemoFile.modified_at`, so supersession order is the same on every machine. Files are
    rendered and written one partition at a time: memory holds the canonical frames and the
    file being written, never the whole landing zone.
    """
    return write_submissions(landing, iter_demo_submissions(seed, scale), seed=seed, scale=scale)


def write_submissions(landing: str, submissions: Iterable[DemoSubmission], *, seed: int = DEFAULT_SEED,
                      scale: int = 1) -> DemoManifest:
    """Write planned submissions (from `plan_demo_submissions(seed, scale)` or
    `iter_demo_submissions`) to `landing`; the manifest lists them in path order."""
    fs, root = fsspec.core.url_to_fs(landing)
    root = root.rstrip("/")
    local = isinstance(fs, LocalFileSystem)
    made: set[str] = set()
    files: list[DemoFile] = []
    for submission in submissions:
        target = f"{root}/{submission.file.path}"
        folder = target.rsplit("/", 1)[0]
        if folder not in made:
            fs.makedirs(folder, exist_ok=True)
            made.add(folder)
        fs.pipe_file(target, submission.data)
        if local:
            stamp = submission.file.modified_at.timestamp()
            os.utime(target, (stamp, stamp))
        files.append(submission.file)
    return DemoManifest(landing, seed, scale, tuple(sorted(files, key=lambda f: f.path)))


# --------------------------------------------------------------------------- partitions


def _partitions(frame: pl.DataFrame) -> Iterator[tuple[tuple[str, str], pl.DataFrame]]:
    parts = frame.partition_by("county_code", "period", as_dict=True, maintain_order=True)
    for key in sorted(parts):
        county_code, period = (str(k) for k in key)
        yield (county_code, period), parts[key]


@dataclass(frozen=True)
class _Version:
    frame: pl.DataFrame
    file_name: str
    modified_at: datetime
    final: bool
    case: LifecycleCase | None = None
    defects: tuple[Defect, ...] = ()
    extra_errors: tuple[str, ...] = ()
    status: SubmissionStatus | None = None


def _partition_files(seed: int, dataset: str, county_code: str, period: str, frame: pl.DataFrame,
                     lookups: Mapping[str, pl.DataFrame],
                     months: pl.DataFrame | None = None) -> list[DemoSubmission]:
    """The partition's files. `months`: a monthly dataset's rows of every month of the county
    (a yearly workbook with month sheets carries the earlier months along)."""
    style = _style(seed, dataset, county_code, period, frame)
    frame = forms.arrange(dataset, frame, merge_keys=style.merge_keys, subtotals=style.subtotals,
                          month_sheets=style.month_sheets, wide=style.wide)
    earlier = _earlier_months(months, period) if style.month_sheets and months is not None else ()
    name = _file_name(seed, dataset, county_code, period, style)
    received = _received_at(seed, dataset, county_code, period)
    partition = (county_code, dataset, period)
    correction = f"{name.rsplit('.', 1)[0]}{CORRECTION_SUFFIX}.{style.extension}"
    versions: list[_Version]
    if partition == REJECTED_PARTITION:
        first, defects = _rejected_version(seed, frame)
        versions = [
            _Version(first, name, received, final=False, case=LifecycleCase.REJECTED, defects=defects,
                     extra_errors=("count_approximate",), status=SubmissionStatus.REJECTED),
            _Version(frame, correction, received + timedelta(days=2, hours=3), final=True,
                     case=LifecycleCase.CORRECTION_OF_REJECTED),
        ]
    elif partition == SUPERSEDED_PARTITION:
        versions = [
            _Version(_typo_version(frame), name, received, final=False, case=LifecycleCase.SUPERSEDED,
                     status=SubmissionStatus.SUPERSEDED),
            _Version(frame, correction, received + timedelta(days=9, hours=2), final=True,
                     case=LifecycleCase.SUPERSEDING_CORRECTION),
        ]
    elif (county_code, period) == LATE_REGISTRY and dataset.startswith("childcare_"):
        if dataset == "childcare_sites":
            received = _received_at(seed, "childcare_daily", county_code, period) + timedelta(days=2, hours=1)
            case = LifecycleCase.REGISTRY_AFTER_DEPENDANTS
        else:
            case = LifecycleCase.ARRIVES_BEFORE_REGISTRY
        versions = [_Version(frame, name, received, final=True, case=case)]
    elif partition in LATE_PARTITIONS:
        versions = [_Version(frame, name, LATE_PARTITIONS[partition], final=True, case=LifecycleCase.LATE)]
    else:
        versions = [_Version(frame, name, received, final=True)]
    return [_submission(seed, dataset, county_code, period, style, version, lookups, earlier)
            for version in versions]


def _earlier_months(months: pl.DataFrame, period: str) -> tuple[pl.DataFrame, ...]:
    """The rows of each earlier month of the period's year, in month order."""
    year, month = period.split("-")
    return tuple(part for m in range(1, int(month))
                 if (part := months.filter(pl.col("period") == f"{year}-{m:02d}")).height)


def _submission(seed: int, dataset: str, county_code: str, period: str, style: FileStyle,
                version: _Version, lookups: Mapping[str, pl.DataFrame],
                earlier: tuple[pl.DataFrame, ...] = ()) -> DemoSubmission:
    text = _file_text(dataset, county_code, period, version.modified_at)
    rendered: Rendered = render(contract_for(dataset), version.frame, style, text, seed=seed,
                                defects=version.defects, earlier=earlier)
    hits = rule_hits(dataset, version.frame, county_code=county_code, period=period, lookups=lookups)
    errors = tuple(sorted({*hits.errors, *version.extra_errors}))
    warnings = tuple(sorted({*hits.warnings, *(["unknown_column"] if rendered.unknown_headers else []),
                             *_form_warnings(dataset, style, version.frame, earlier)}))
    if version.final and errors:
        raise RuntimeError(f"demo bug: final file {county_code}/{dataset}/{period} has errors {errors}")
    status = version.status or (SubmissionStatus.ACCEPTED_WITH_WARNINGS if warnings else SubmissionStatus.ACCEPTED)
    demo_file = DemoFile(
        path=f"{county_code}/{dataset}/{period}/{version.file_name}",
        county_code=county_code,
        dataset=dataset,
        period=period,
        file_name=version.file_name,
        format=style.format,
        variant=style.variant,
        encoding=style.encoding,
        rows=rendered.rows,
        size_bytes=len(rendered.data),
        sha256=hashlib.sha256(rendered.data).hexdigest(),
        modified_at=version.modified_at,
        expected_status=status,
        expected_errors=errors,
        expected_warnings=warnings,
        final=version.final,
        case=version.case,
        personal_headers=rendered.personal_headers,
        unknown_headers=rendered.unknown_headers,
        layouts=style.layouts if style.format == "xlsx" else (),
    )
    return DemoSubmission(demo_file, version.frame, rendered.data, rendered.raw)


def _form_warnings(dataset: str, style: FileStyle, frame: pl.DataFrame,
                   earlier: tuple[pl.DataFrame, ...]) -> list[str]:
    """What reading a real county form should report as warnings (SPEC §3.1)."""
    if style.format != "xlsx":
        return []
    warnings = []
    if style.extra_sheet or style.instructions_first or earlier:
        warnings.append("sheet_skipped")  # instructions, or the year's earlier month sheets
    if style.hidden_row:
        warnings.append("hidden_rows_skipped")
    if style.no_county:
        warnings.append("county_from_path")
    counts = [c.name for c in contract_for(dataset).columns
              if c.type is ColumnType.COUNT and c.required and c.name in frame.columns]
    if style.dash_zero and not style.wide and frame.select(pl.any_horizontal(pl.col(counts) == 0).any()).item():
        warnings.append("count_dash_zero")
    return warnings


def _rejected_version(seed: int, frame: pl.DataFrame) -> tuple[pl.DataFrame, tuple[Defect, ...]]:
    """The clerk's first try: the biggest site's count written as `约…人`, and one row with
    enrolled and left-behind children swapped (so left-behind > enrolled)."""
    rng = rng_for(seed, "rejected", *REJECTED_PARTITION)
    biggest = int(frame["children_enrolled"].arg_max() or 0)
    candidates = [i for i, (enrolled, left) in enumerate(zip(
        frame["children_enrolled"], frame["left_behind_children"], strict=True))
        if left < enrolled and i != biggest]
    swapped = rng.choice(candidates)
    enrolled = frame["children_enrolled"].to_list()
    left_behind = frame["left_behind_children"].to_list()
    enrolled[swapped], left_behind[swapped] = left_behind[swapped], enrolled[swapped]
    first = frame.with_columns(pl.Series("children_enrolled", enrolled),
                               pl.Series("left_behind_children", left_behind))
    approximate = f"约{round(enrolled[biggest], -1)}人"
    return first, (Defect(biggest, "children_enrolled", approximate),)


def _typo_version(frame: pl.DataFrame) -> pl.DataFrame:
    """A valid first file with a typo: the biggest grade-1 class reported 9 students too many."""
    grade_one = (pl.col("grade") == 1) & (pl.col("track") == "secondary_vocational")
    target = int(frame.with_row_index().filter(grade_one).sort("enrolled", descending=True)["index"][0])
    row = pl.int_range(pl.len()) == target
    return frame.with_columns(
        pl.when(row).then(pl.col("enrolled") + 9).otherwise(pl.col("enrolled")).alias("enrolled"),
        pl.when(row).then(pl.col("new_intake") + 9).otherwise(pl.col("new_intake")).alias("new_intake"),
    )


# --------------------------------------------------------------------------- styles


_FORMAT_WEIGHTS: dict[str, tuple[int, ...]] = {
    # csv-utf8, csv-utf8-bom, csv-gb18030, xlsx, json-list, json-records
    "childcare_sites": (12, 12, 11, 55, 5, 5),
    "childcare_volunteers": (14, 13, 13, 45, 7, 8),
    "childcare_daily": (30, 20, 25, 15, 5, 5),
    "vocational_enrollment": (7, 7, 6, 70, 5, 5),
    "health_monthly": (10, 10, 10, 40, 15, 15),
}

# Files whose look is fixed, so every form the spec lists is present whatever the seed.
_PINNED: dict[tuple[str, str, str], dict[str, object]] = {
    ("530626", "childcare_sites", "2025-summer"): dict(
        variant="xlsx", headers="label", title_rows=3, total_row=True, notes=True, units=0.5,
        date_style="cn"),
    ("530602", "childcare_sites", "2025-summer"): dict(
        variant="csv-gb18030", crlf=True, headers="mixed", personal=True, county_style="name",
        enum_style="alias", date_style="slash"),
    ("530621", "childcare_sites", "2025-summer"): dict(
        variant="xlsx", headers="mixed", title_rows=2, total_row=True, notes=True, serial=True,
        date_style="excel"),
    ("530629", "childcare_sites", "2025-summer"): dict(variant="json-records", headers="canonical"),
    ("530623", "childcare_sites", "2025-summer"): dict(
        variant="csv-utf8-bom", crlf=True, units=1.0, fullwidth=0.2, date_style="cn_short",
        county_style="pinyin", missing="—"),
    ("530626", "childcare_volunteers", "2025-summer"): dict(variant="xlsx", title_rows=1, total_row=True),
    ("530602", "health_monthly", "2025-07"): dict(
        variant="xlsx", title_rows=2, total_row=True, wan=True, thousands=True, notes=True),
    ("530602", "health_monthly", "2023-01"): dict(variant="json-list", headers="canonical"),
    ("530623", "vocational_enrollment", "2024"): dict(
        variant="xlsx", title_rows=1, total_row=True, grade_style="一年级", enum_style="alias"),
    ("530628", "childcare_daily", "2025-winter"): dict(variant="csv-gb18030", crlf=True),
}


def _style(seed: int, dataset: str, county_code: str, period: str, frame: pl.DataFrame) -> FileStyle:
    rng = rng_for(seed, "style", dataset, county_code, period)
    variant: Variant = rng.choices(VARIANTS, weights=_FORMAT_WEIGHTS[dataset])[0]
    pinned = _PINNED.get((county_code, dataset, period), {})
    if (county_code, dataset, period) in _PINNED_FORMS:
        pinned = {"variant": "xlsx"}
    variant = pinned.get("variant", variant)  # type: ignore[assignment]
    xlsx = variant == "xlsx"
    contract = contract_for(dataset)
    omit = [c.name for c in contract.columns
            if not c.required and c.name in frame.columns and frame[c.name].null_count() == frame.height]
    if dataset == "childcare_daily" and rng.random() < 0.5:
        omit.append("county_code")  # optional: the path says which county
    style = FileStyle(
        variant=variant,
        headers=rng.choices(("canonical", "label", "mixed"),
                            weights=(50, 30, 20) if variant.startswith("json") else (15, 45, 40))[0],
        crlf=variant in ("csv-utf8-bom", "csv-gb18030") or rng.random() < 0.2,
        units=rng.choice((0.0, 0.0, 0.0, 0.2, 0.5, 1.0)),
        thousands=rng.random() < 0.5,
        fullwidth=rng.choice((0.0, 0.0, 0.0, 0.1, 0.3)),
        wan=rng.random() < 0.5,
        date_style=rng.choice(("iso", "iso", "slash", "dot", "cn", "cn_short", "mixed",
                               *(("excel", "excel") if xlsx else ()))),
        county_style=rng.choice(("code", "code", "name", "name", "short", "pinyin", "mixed")),
        enum_style=rng.choice(("canonical", "alias", "alias", "mixed")),
        grade_style=rng.choice(("int", "int", "一年级", "高一", "1年级", "mixed")),
        missing=rng.choice(("", "", "—", "/", "-", "无", "N/A")),
        padding=rng.choice((0.0, 0.0, 0.05, 0.2)),
        personal=rng.random() < 0.25,
        serial=xlsx and rng.random() < 0.3,
        title_rows=rng.choices((0, 1, 2, 3), weights=(1, 3, 3, 2))[0] if xlsx else 0,
        total_row=xlsx and dataset != "childcare_daily" and rng.random() < 0.6,
        notes=xlsx and rng.random() < 0.5,
        extra_sheet=xlsx and rng.random() < 0.15,
        omit=tuple(omit),
    )
    style = replace(style, **{k: v for k, v in pinned.items() if k != "variant"})  # type: ignore[arg-type]
    partition = (county_code, dataset, period)
    lifecycle = partition in (REJECTED_PARTITION, SUPERSEDED_PARTITION) or (
        (county_code, period) == LATE_REGISTRY and dataset.startswith("childcare_"))
    if style.format != "xlsx" or partition in _PINNED or lifecycle:
        return style  # the lifecycle cases keep plain files: their statuses are what they test
    if partition in _PINNED_FORMS:
        return _possible(replace(style, **_PINNED_FORMS[partition]), partition, frame)  # type: ignore[arg-type]
    return _possible(_real_forms(seed, partition, frame, style), partition, frame)


# Real county forms (SPEC §3.1) pinned, so every layout is present whatever the seed.
_PINNED_FORMS: dict[tuple[str, str, str], dict[str, object]] = {
    ("530624", "childcare_sites", "2025-summer"): dict(
        headers="label", merge_keys=True, subtotals=True, total_row=True, total_at_top=True,
        total_label="总合计", two_row_header=True, hidden_row=True, date_style="md", title_rows=2),
    ("530625", "vocational_enrollment", "2025"): dict(
        headers="label", merge_keys=True, subtotals=True, total_row=True, total_label="合计",
        two_row_header=True, dash_zero="—", no_county=True, grade_style="cohort", serial=True),
    ("530602", "health_monthly", "2025-06"): dict(
        month_sheets=True, health_block=True, instructions_first=True, extra_sheet=False, merge_keys=True,
        hidden_row=True, title_rows=1, total_row=True, total_label="合计"),
    ("530602", "health_monthly", "2024-12"): dict(month_sheets=True, no_county=True, health_block=True,
                                                   title_rows=2),
    ("530622", "childcare_daily", "2025-summer"): dict(
        month_sheets=True, merge_keys=True, subtotals=True, date_style="md", instructions_first=True,
        extra_sheet=False),
    ("530625", "childcare_volunteers", "2025-summer"): dict(wide=True, hidden_row=True, total_row=True,
                                                            total_label="合计"),
}
_FORMS_SHARE = 0.6
"""Share of the other spreadsheets laid out as real county forms."""
_TOTAL_LABELS = ("合计", "合计", "总合计", "总计")
_CANDIDATES: dict[str, tuple[str, ...]] = {
    "childcare_sites": ("merge_keys", "subtotals", "total_at_top", "two_row_header", "instructions_first",
                        "hidden_row", "no_county", "md_dates"),
    "childcare_volunteers": ("merge_keys", "instructions_first", "hidden_row", "wide", "wide"),
    "childcare_daily": ("month_sheets", "month_sheets", "merge_keys", "subtotals", "instructions_first",
                        "hidden_row", "md_dates"),
    "vocational_enrollment": ("merge_keys", "subtotals", "total_at_top", "two_row_header",
                              "instructions_first", "hidden_row", "dash_zero", "no_county", "cohort"),
    "health_monthly": ("month_sheets", "health_block", "merge_keys", "instructions_first", "hidden_row",
                       "no_county", "total_at_top"),
}


def _real_forms(seed: int, partition: tuple[str, str, str], frame: pl.DataFrame, style: FileStyle) -> FileStyle:
    """Some spreadsheets laid out as county offices really send them (a separate random stream,
    so the other files' looks do not move)."""
    county_code, dataset, period = partition
    rng = rng_for(seed, "forms", dataset, county_code, period)
    if rng.random() >= _FORMS_SHARE:
        return style
    candidates = sorted(set(_CANDIDATES[dataset]), key=_CANDIDATES[dataset].index)
    weights = [_CANDIDATES[dataset].count(name) for name in candidates]
    chosen: set[str] = set()
    for _ in range(rng.choice((1, 2, 2, 3, 3, 4))):
        chosen.add(rng.choices(candidates, weights=weights)[0])
    label = rng.choice(_TOTAL_LABELS)
    changes: dict[str, object] = {}
    for name in sorted(chosen, key=candidates.index):
        if name in ("subtotals", "total_at_top"):
            changes.update({name: True, "total_row": True, "total_label": label})
        elif name == "instructions_first":
            changes.update(instructions_first=True, extra_sheet=False)
        elif name == "dash_zero":
            changes["dash_zero"] = rng.choice(("—", "—", "—", "－", "/"))
        elif name == "md_dates":
            changes["date_style"] = "md"
        elif name == "cohort":
            changes["grade_style"] = "cohort"
        else:
            changes[name] = True
    return replace(style, **changes)  # type: ignore[arg-type]


def _possible(style: FileStyle, partition: tuple[str, str, str], frame: pl.DataFrame) -> FileStyle:
    """Drop what this file cannot carry: a wide volunteer sheet where a site has two
    institutions of one kind (or whose institutions are a headline figure), a two-row header
    without both of its columns or with English headers."""
    county_code, dataset, period = partition
    if style.wide and (dataset != "childcare_volunteers" or (county_code, period) == (SUIJIANG, SUMMER_2025)
                       or not forms.wide_possible(frame)):
        style = replace(style, wide=False)
    if style.wide:
        style = replace(style, merge_keys=False, subtotals=False)
    if style.two_row_header:
        present = {c for c in frame.columns if c not in style.omit and frame[c].null_count() < frame.height}
        possible = {"childcare_sites": set(forms.TWO_ROW_LEAVES) <= present,
                    "vocational_enrollment": "enrolled" in present}.get(dataset, False)
        if not possible or style.headers == "canonical":
            style = replace(style, two_row_header=False)
    if style.month_sheets and dataset not in ("childcare_daily", "health_monthly"):
        style = replace(style, month_sheets=False)
    if style.no_county and dataset in ("childcare_daily", "childcare_volunteers"):
        style = replace(style, no_county=False)
    return style


# --------------------------------------------------------------------------- names and times


def _county_names(county_code: str) -> tuple[str, str]:
    row = counties().filter(pl.col("county_code") == county_code).row(0, named=True)
    return row["name_zh"], row["short_zh"]


def _season_word(period: str, rng_choice: str) -> str:
    kind = parse_period(period).kind
    if kind is PeriodKind.WINTER:
        return "寒假"
    return rng_choice


def _file_name(seed: int, dataset: str, county_code: str, period: str, style: FileStyle) -> str:
    rng = rng_for(seed, "file-name", dataset, county_code, period)
    name, short = _county_names(county_code)
    window = parse_period(period)
    year = window.year
    season = _season_word(period, rng.choice(("暑期", "暑假")))
    templates: dict[str, tuple[str, ...]] = {
        "childcare_sites": (f"{name}{year}年{season}托管点统计表", f"{name}{year}年{season}留守儿童集中托管点基本情况",
                            f"附件1 {short}{year}{season}托管点情况汇总"),
        "childcare_volunteers": (f"{name}{year}年{season}托管志愿者情况统计表", f"{short}{season}托管志愿者汇总（{year}）"),
        "childcare_daily": (f"{name}{year}年{season}托管每日到托情况", f"{short}{season}托管点到托日报汇总{year}",
                            f"{name}托管点每日到托统计（{year}年{season}）"),
        "vocational_enrollment": (f"{name}{year}学年中职学校在校生与招生情况",
                                  f"{name}{year}-{year + 1}学年职业学校学生数统计表",
                                  f"{short}职中{year}年秋季学期学籍统计"),
        "health_monthly": (f"滇东北中心医院心血管病中心{year}年{window.start.month}月专科服务月报",
                           f"心血管病中心月报{period.replace('-', '')}",
                           f"专科服务月报_{period}"),
    }
    stem = rng.choice(templates[dataset])
    if style.format == "json" and rng.random() < 0.5:
        stem = f"在线填报导出_{dataset}_{county_code}_{period}"
    return f"{stem}.{style.extension}"


def _received_at(seed: int, dataset: str, county_code: str, period: str) -> datetime:
    """When the file reached the landing zone (its modification time), China time."""
    rng = rng_for(seed, "received", dataset, county_code, period)
    window = parse_period(period)
    if window.kind is PeriodKind.SCHOOL_YEAR:
        day = date(window.year, 10, 8) + timedelta(days=rng.randint(0, 10))
    elif window.kind is PeriodKind.MONTH:
        day = window.end + timedelta(days=rng.randint(3, 8))
    else:
        summer = window.kind is PeriodKind.SUMMER
        month_day = {
            "childcare_sites": (7, 18) if summer else (1, 20),
            "childcare_volunteers": (7, 25) if summer else (1, 24),
            "childcare_daily": (9, 16) if summer else (3, 16),
        }[dataset]
        day = date(window.year, *month_day) + timedelta(days=rng.randint(0, 6))
    moment = time(rng.randint(8, 17), rng.randint(0, 59), rng.randint(0, 59))
    return datetime.combine(day, moment, tzinfo=CHINA_TIME)


def _file_text(dataset: str, county_code: str, period: str, received: datetime) -> FileText:
    """Title and subtitle lines of a spreadsheet, as a county office would head it."""
    name, _ = _county_names(county_code)
    window = parse_period(period)
    season = "暑期" if window.kind is PeriodKind.SUMMER else "寒假"
    titles = {
        "childcare_sites": f"昭通市{window.year}年{season}留守儿童集中托管点统计表",
        "childcare_volunteers": f"昭通市{window.year}年{season}托管志愿者情况统计表",
        "childcare_daily": f"昭通市{window.year}年{season}托管点每日到托情况表",
        "vocational_enrollment": f"{window.year}—{window.year + 1}学年中职学校在校生与招生情况统计表",
        "health_monthly": f"{window.year}年{window.start.month}月医疗机构专科服务月报表",
    }
    reporter = "云南省滇东北中心医院心血管病中心" if dataset == "health_monthly" else f"{name}教育体育局"
    filed = received.date()
    return FileText(
        title=titles[dataset],
        subtitle=f"填报单位：{reporter}　　填报日期：{filed.year}年{filed.month}月{filed.day}日",
        county_code=county_code,
        dataset=dataset,
        period=period,
    )
