"""The demo landing zone: deterministic, laid out as SPEC §3 says, messy, and exact on SPEC §8.

These tests read the generator's own frames and files; they do not use the project's readers
(the pipeline proves the figures end to end in `countyflow demo`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import fsspec
import openpyxl
import polars as pl
import pytest

from countyflow.demo import (
    DEFAULT_SEED,
    DemoManifest,
    DemoSubmission,
    LifecycleCase,
    build_demo_frames,
    demo_targets,
    iter_demo_submissions,
    plan_demo_submissions,
    write_demo_landing,
    write_submissions,
)
from countyflow.demo.expect import surgery_history
from countyflow.demo.targets import DEMO_TARGETS, SUIJIANG, SUMMER_2025, ZHAOYANG
from countyflow.ingest.model import SubmissionStatus
from countyflow.periods import PeriodKind, parse_period
from countyflow.reference import county_codes, reference_path
from schemas import CONTRACTS, contract_for
from schemas.contract import PERSONAL_COLUMNS, ColumnType

T = DEMO_TARGETS


@pytest.fixture(scope="module")
def plan() -> tuple[DemoSubmission, ...]:
    return plan_demo_submissions()


@pytest.fixture(scope="module")
def final(plan: tuple[DemoSubmission, ...]) -> dict[str, pl.DataFrame]:
    """The rows of the final accepted submission of each partition, per dataset."""
    frames: dict[str, list[pl.DataFrame]] = {}
    for submission in plan:
        if submission.file.final:
            frames.setdefault(submission.file.dataset, []).append(submission.frame)
    return {dataset: pl.concat(parts) for dataset, parts in frames.items()}


@pytest.fixture(scope="module")
def landings(tmp_path_factory: pytest.TempPathFactory,
             plan: tuple[DemoSubmission, ...]) -> tuple[Path, DemoManifest, Path, DemoManifest]:
    """Two landing zones from two independent generations (one inside write_demo_landing)."""
    first, second = tmp_path_factory.mktemp("landing-a"), tmp_path_factory.mktemp("landing-b")
    return first, write_demo_landing(str(first)), second, write_submissions(str(second), plan)


def _files(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()}


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_the_same_bytes_times_and_manifest(landings) -> None:
    first, manifest_a, second, manifest_b = landings
    files_a, files_b = _files(first), _files(second)
    assert files_a.keys() == files_b.keys()
    assert len(files_a) == len(manifest_a.files)
    for relative, path in files_a.items():
        assert path.read_bytes() == files_b[relative].read_bytes(), relative
        assert path.stat().st_mtime == files_b[relative].stat().st_mtime, relative
    assert manifest_a.files == manifest_b.files


def test_rewriting_from_another_process_changes_nothing(landings) -> None:
    """Another interpreter (other hash seed) rewrites the same bytes and modification times."""
    first, manifest, _, _ = landings
    before = {rel: (p.read_bytes(), p.stat().st_mtime) for rel, p in _files(first).items()}
    script = ("import sys, json; from countyflow.demo import write_demo_landing; "
              "print(json.dumps([f.sha256 for f in write_demo_landing(sys.argv[1]).files]))")
    result = subprocess.run([sys.executable, "-c", script, str(first)], capture_output=True, text=True,
                            check=True, env={**os.environ, "PYTHONHASHSEED": "4242"})
    assert json.loads(result.stdout) == [f.sha256 for f in manifest.files]
    assert {rel: (p.read_bytes(), p.stat().st_mtime) for rel, p in _files(first).items()} == before


def test_another_seed_gives_other_rows_but_the_same_figures() -> None:
    other = build_demo_frames(seed=DEFAULT_SEED + 1)
    default = build_demo_frames()
    assert not other["childcare_sites"].equals(default["childcare_sites"])
    for frames in (other, default):
        season = frames["childcare_sites"].filter(pl.col("period") == SUMMER_2025)
        assert season.height == 997
        assert season["children_enrolled"].sum() == 16000


def test_manifest_matches_the_files_on_disk(landings) -> None:
    first, manifest, _, _ = landings
    on_disk = _files(first)
    assert sorted(on_disk) == [f.path for f in manifest.files]
    for entry in manifest.files:
        data = on_disk[entry.path].read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry.sha256
        assert len(data) == entry.size_bytes
        assert on_disk[entry.path].stat().st_mtime == entry.modified_at.timestamp()
    json.loads(manifest.to_json())  # serialisable for the CLI and benchmarks


def test_memory_landing(plan: tuple[DemoSubmission, ...]) -> None:
    url = "memory://countyflow-demo-test"
    fs = fsspec.filesystem("memory")
    try:
        manifest = write_submissions(url, plan)
        assert len(manifest.files) == len(plan)
        for submission in plan[:: max(1, len(plan) // 15)]:
            assert fs.cat_file(f"/countyflow-demo-test/{submission.file.path}") == submission.data
    finally:
        if fs.exists("/countyflow-demo-test"):
            fs.rm("/countyflow-demo-test", recursive=True)


def test_streamed_submissions_are_the_plan(plan: tuple[DemoSubmission, ...]) -> None:
    """`write_demo_landing` renders one partition at a time: the same files as the plan."""
    streamed = {s.file.path: s for s in iter_demo_submissions()}
    assert sorted(streamed) == [s.file.path for s in plan]
    for submission in plan:
        assert streamed[submission.file.path].file == submission.file
        assert streamed[submission.file.path].data == submission.data


def test_manifest_lists_files_in_path_order_whatever_the_input_order(
        plan: tuple[DemoSubmission, ...]) -> None:
    url = "memory://countyflow-demo-order"
    fs = fsspec.filesystem("memory")
    subset = [s for s in plan if s.file.county_code == SUIJIANG][::-1]
    try:
        manifest = write_submissions(url, iter(subset))
        assert [f.path for f in manifest.files] == sorted(s.file.path for s in subset)
    finally:
        if fs.exists("/countyflow-demo-order"):
            fs.rm("/countyflow-demo-order", recursive=True)


# --------------------------------------------------------------------------- layout


def test_every_path_parses_into_county_dataset_and_period(plan: tuple[DemoSubmission, ...]) -> None:
    counties = county_codes()
    seen: dict[str, set[tuple[str, str]]] = {}
    for submission in plan:
        county, dataset, period, name = submission.file.path.split("/")
        assert county in counties
        assert dataset in CONTRACTS
        assert parse_period(period).kind in contract_for(dataset).period_kinds
        assert name.endswith(f".{submission.file.format}") and name == submission.file.file_name
        seen.setdefault(dataset, set()).add((county, period))
    for dataset in ("childcare_sites", "childcare_volunteers", "childcare_daily"):
        assert seen[dataset] == {(c, s) for c in counties for s in ("2024-summer", "2025-winter", "2025-summer")}
    assert seen["vocational_enrollment"] == {(c, y) for c in counties for y in ("2022", "2023", "2024", "2025")}
    months = {p for _, p in seen["health_monthly"]}
    assert {c for c, _ in seen["health_monthly"]} == {ZHAOYANG}
    assert len(months) == 31 and min(months) == "2023-01" and max(months) == "2025-07"


def test_final_submissions_carry_exactly_the_demo_frames(plan: tuple[DemoSubmission, ...],
                                                         final: dict[str, pl.DataFrame]) -> None:
    """Exactly the canonical rows, except that a wide volunteer sheet cannot carry institutions
    (it is only used where that drops no row: one institution at most per site and kind)."""
    frames = build_demo_frames()
    wide = pl.DataFrame([(s.file.county_code, s.file.period) for s in plan
                         if s.file.final and "wide_volunteers" in s.file.layouts],
                        schema=["county_code", "period"], orient="row")
    assert wide.height >= 1
    volunteers = frames["childcare_volunteers"].join(wide.with_columns(pl.lit(True).alias("wide")),
                                                     on=["county_code", "period"], how="left")
    frames["childcare_volunteers"] = volunteers.with_columns(
        pl.when(pl.col("wide")).then(None).otherwise(pl.col("institution")).alias("institution")).drop("wide")
    assert final.keys() == frames.keys()
    for dataset, frame in frames.items():
        columns = frame.columns
        key = [c for c in ("period", "county_code", *contract_for(dataset).key) if c in columns]
        assert final[dataset].select(columns).sort(key, nulls_last=True).equals(
            frame.sort(key, nulls_last=True)), dataset


# --------------------------------------------------------------------------- §8 figures


def test_childcare_figures(final: dict[str, pl.DataFrame]) -> None:
    sites, volunteers = final["childcare_sites"], final["childcare_volunteers"]
    for target in T.childcare:
        season = sites.filter(pl.col("period") == target.season)
        assert season.height == target.sites
        assert season["site_code"].n_unique() == target.sites
        assert season["children_enrolled"].sum() == target.children_enrolled
        helpers = volunteers.filter(pl.col("period") == target.season)
        university = helpers.filter(pl.col("source") == "university_student")["volunteers"].sum()
        assert university == target.volunteers_university
        assert helpers["volunteers"].sum() - university == target.volunteers_other
    assert T.season(SUMMER_2025).children_enrolled - T.season("2024-summer").children_enrolled == 6000
    suijiang = sites.filter(pl.col("period") == SUMMER_2025, pl.col("county_code") == SUIJIANG)
    assert suijiang.height == 12 and suijiang["children_enrolled"].sum() == 412 >= 400
    universities = volunteers.filter(pl.col("period") == SUMMER_2025, pl.col("county_code") == SUIJIANG,
                                     pl.col("source") == "university_student")
    assert universities["volunteers"].sum() == 45
    assert set(universities["institution"]) == {"大连理工大学", "大连海事大学", "苏州大学"}


def test_named_sites(final: dict[str, pl.DataFrame]) -> None:
    summer = final["childcare_sites"].filter(pl.col("period") == SUMMER_2025)
    hongLu = summer.filter(pl.col("site_name") == "红路馨居小学").row(0, named=True)
    assert (hongLu["county_code"], hongLu["host_type"]) == (ZHAOYANG, "school")
    assert hongLu["children_enrolled"] == 946 and hongLu["meal_subsidy_yuan"] == 8
    for named in T.named_sites:
        if SUMMER_2025 not in named.seasons:
            continue
        row = summer.filter(pl.col("site_name") == named.site_name).row(0, named=True)
        assert row["county_code"] == named.county_code and row["host_type"] == named.host_type
        for field in ("township", "children_enrolled", "relocated_children", "start_date",
                      "hours_per_day", "meal_subsidy_yuan", "service_person_times"):
            if getattr(named, field) is not None:
                assert row[field] == getattr(named, field), (named.site_name, field)
        if named.service_days:
            assert (row["end_date"] - row["start_date"]).days + 1 == named.service_days
    longxi = summer.filter(pl.col("site_name").str.starts_with("扎西镇龙溪社区")).row(0, named=True)
    assert longxi["start_date"] == date(2025, 7, 6) and longxi["host_type"] == "community_center"
    yongfeng = summer.filter(pl.col("township") == "永丰镇", pl.col("site_name").is_in(
        ["永丰镇中心小学", "永丰镇吴家湾小学", "永丰镇团结社区儿童之家"]))
    assert yongfeng["children_enrolled"].sum() == 495 and 200 < yongfeng["relocated_children"].sum() < 300
    mobile = summer.filter(pl.col("county_code") == "530623", pl.col("host_type") == "mobile")
    assert 2000 < mobile["service_person_times"].sum() < 3000


def test_vocational_figures(final: dict[str, pl.DataFrame]) -> None:
    vocational = final["vocational_enrollment"]
    intake = dict(vocational.group_by("period").agg(pl.col("new_intake").sum()).iter_rows())
    assert intake == dict(T.vocational.new_intake)
    assert 2000 <= intake["2023"] - intake["2022"] <= 2999
    assert 4000 <= intake["2024"] - intake["2023"] <= 4999
    assert T.vocational.intake_change("2023") == intake["2023"] - intake["2022"]
    general = vocational.filter(pl.col("track") == "general_high_school_class")
    assert general["period"].unique().sort().to_list() == ["2024", "2025"]
    per_year = general.group_by("period").agg(pl.col("new_intake").sum(), pl.col("school_code").n_unique())
    for year, places, schools in per_year.iter_rows():
        assert places == T.vocational.general_high_school_places[year] == 800
        assert schools == T.vocational.general_high_school_schools == 4
    assert "鲁甸职业技术高级中学" in set(general["school_name"])
    first_pathways = vocational.filter(pl.col("track").is_in(["vocational_college_3_2", "undergraduate_3_4"]))
    assert first_pathways["period"].min() == "2024"
    assert set(first_pathways["school_name"]) == {"昭通卫生职业学院", "绥江县职业高级中学"}
    comprehensive = vocational.filter(pl.col("track") == "comprehensive_high_school", pl.col("period") == "2025")
    assert comprehensive["school_code"].n_unique() == T.vocational.comprehensive_high_school_schools == 9


def test_health_figures(final: dict[str, pl.DataFrame]) -> None:
    health = final["health_monthly"]
    target = T.health
    assert set(health["facility_name"]) == {target.facility_name}
    assert re.fullmatch(r"[0-9A-Z]{6,18}", target.facility_code)
    assert health["surgeries"].sum() == target.surgeries_total == 52954
    assert health["experts_dispatched"].sum() == target.experts_dispatched_total == 95
    assert health["visiting_experts"].sum() == target.visiting_experts_total == 658
    assert health["returned_patients"].sum() == target.returned_patients_total > 1000
    monthly = health.group_by("period").agg(
        pl.col("beds_open", "surgeries", "resident_experts", "local_surgeons_independent").sum(),
        (pl.col("experts_dispatched") > 0).any().alias("dispatch")).sort("period")
    assert monthly.height == target.months == 31
    assert monthly["beds_open"][-1] == target.beds_open_latest == 268
    assert monthly["resident_experts"].min() >= target.resident_experts_min == 8
    surgeons = monthly["local_surgeons_independent"].to_list()
    assert (surgeons[0], surgeons[-1]) == (3, 16) and surgeons == sorted(surgeons)
    assert monthly["dispatch"].sum() >= 25  # new experts arrive in most months
    first_year = monthly["surgeries"].head(12).sum()
    last_year = monthly["surgeries"].tail(12).sum()
    assert last_year > 1.5 * first_year  # growing
    departments = pl.read_csv(reference_path("departments.csv"))
    assert set(health["department"]) == set(departments["department"])
    groups = Counter(departments["group"])
    assert (groups["internal"], groups["surgical"]) == (target.internal_groups, target.surgical_groups) == (6, 3)


def test_counting_a_rejected_or_superseded_file_would_break_the_figures(plan) -> None:
    replaced = {s.file.case: s for s in plan if s.file.case is not None}
    rejected = replaced[LifecycleCase.REJECTED].frame
    corrected = replaced[LifecycleCase.CORRECTION_OF_REJECTED].frame
    assert rejected["children_enrolled"].sum() != corrected["children_enrolled"].sum()
    old = replaced[LifecycleCase.SUPERSEDED].frame
    new = replaced[LifecycleCase.SUPERSEDING_CORRECTION].frame
    assert old["new_intake"].sum() != new["new_intake"].sum()


def test_scaled_demo_hits_scaled_targets() -> None:
    frames, targets = build_demo_frames(scale=2), demo_targets(2)
    sites = frames["childcare_sites"].filter(pl.col("period") == SUMMER_2025)
    assert sites.height == targets.season(SUMMER_2025).sites == 2 * 997
    assert sites["children_enrolled"].sum() == 2 * 16000
    assert sites.filter(pl.col("site_name") == "红路馨居小学").height == 1
    intake = dict(frames["vocational_enrollment"].group_by("period").agg(pl.col("new_intake").sum()).iter_rows())
    assert intake == dict(targets.vocational.new_intake)
    health = frames["health_monthly"]
    assert health["facility_code"].n_unique() == 2
    assert health["surgeries"].sum() == 2 * 52954


# --------------------------------------------------------------------------- plausibility


def test_final_files_break_no_contract_rule(plan: tuple[DemoSubmission, ...]) -> None:
    for submission in plan:
        if submission.file.final:
            assert submission.file.expected_errors == (), submission.file.path
            assert submission.file.expected_status in (SubmissionStatus.ACCEPTED,
                                                       SubmissionStatus.ACCEPTED_WITH_WARNINGS)
    warnings = Counter(w for s in plan if s.file.final for w in s.file.expected_warnings)
    assert set(warnings) <= {"hours_below_policy", "service_days_below_policy", "unknown_column",
                             # reading real county forms (SPEC §3.1)
                             "sheet_skipped", "hidden_rows_skipped", "county_from_path", "count_dash_zero"}


def test_sites_are_plausible(final: dict[str, pl.DataFrame]) -> None:
    sites = final["childcare_sites"]
    assert sites["site_code"].str.contains(r"^[0-9A-Za-z-]{4,32}$").all()
    for period in sites["period"].unique():
        window = parse_period(period)
        season = sites.filter(pl.col("period") == period)
        assert season["start_date"].min() >= window.start and season["end_date"].max() <= window.end
    days = (sites["end_date"] - sites["start_date"]).dt.total_days() + 1
    assert (days >= 30).mean() > 0.85 and days.min() >= 20
    assert sites["hours_per_day"].is_in([5.0, 5.5, 6.0]).mean() > 0.9
    assert sites["hours_per_day"].min() >= 4.5
    meals = sites["meal_subsidy_yuan"].drop_nulls()
    assert meals.min() >= 0 and meals.max() <= 15 and meals.mode().to_list() == [8.0]
    assert (sites["left_behind_children"] <= sites["children_enrolled"]).all()
    assert (sites["relocated_children"].fill_null(0) <= sites["children_enrolled"]).all()
    hosts = Counter(sites["host_type"])
    assert hosts["school"] + hosts["childrens_home"] > 0.9 * sites.height


def test_volunteers_and_daily_are_plausible(final: dict[str, pl.DataFrame]) -> None:
    volunteers, daily, sites = final["childcare_volunteers"], final["childcare_daily"], final["childcare_sites"]
    assert volunteers["volunteers"].min() >= 1
    assert not volunteers.select("period", "site_code", "source", "institution").is_duplicated().any()
    assert volunteers.join(sites, on=["period", "site_code"], how="anti").height == 0
    summer = daily.filter(pl.col("period") == SUMMER_2025)
    assert 30_000 < summer.height < 50_000
    joined = daily.join(sites, on=["period", "site_code"])
    assert joined.height == daily.height
    assert joined["date"].is_between(joined["start_date"], joined["end_date"]).all()
    service_days = ((sites["end_date"] - sites["start_date"]).dt.total_days() + 1).sum()
    assert daily.height == service_days  # every site, every service day
    assert (joined["children_present"] <= joined["children_enrolled"]).all()
    ratio = joined["children_present"] / joined["children_enrolled"]
    assert ((ratio >= 0.7) & (ratio <= 1.0)).mean() > 0.95
    meals = joined.drop_nulls("meals_served")
    assert (meals["meals_served"] <= meals["children_present"] + meals["volunteers_on_duty"]).all()
    assert not daily.select("period", "site_code", "date").is_duplicated().any()


def test_vocational_rows_are_plausible(final: dict[str, pl.DataFrame]) -> None:
    vocational = final["vocational_enrollment"]
    assert vocational["school_code"].str.contains(r"^\d{10}$").all()
    assert vocational.filter(pl.col("grade") > 1)["new_intake"].sum() == 0
    assert (vocational["dropouts"] <= vocational["enrolled"]).all()
    assert vocational["grade"].is_between(1, 3).all()
    assert set(vocational["county_code"]) == county_codes()
    key = ["period", "school_code", "program", "track", "grade"]
    assert not vocational.select(key).is_duplicated().any()


def test_surgeries_never_spike(final: dict[str, pl.DataFrame]) -> None:
    """No month exceeds 3 × even the smallest of the department's previous 12 months."""
    health = final["health_monthly"].sort("period")
    previous_min = pl.col("surgeries").rolling_min(window_size=12, min_samples=1).shift(1)
    checked = health.with_columns(previous_min.over("facility_code", "department").alias("floor"))
    assert (checked["surgeries"] <= 3 * checked["floor"].fill_null(10**9)).all()
    assert surgery_history(health)["ctx_surgeries_median_12m"].null_count() == 9  # only the first month


# --------------------------------------------------------------------------- messy forms


def test_every_format_and_encoding_is_present(plan: tuple[DemoSubmission, ...]) -> None:
    variants = Counter(s.file.variant for s in plan)
    assert set(variants) == {"csv-utf8", "csv-utf8-bom", "csv-gb18030", "xlsx", "json-list", "json-records"}
    gb18030 = [s for s in plan if s.file.variant == "csv-gb18030"]
    for submission in gb18030:
        assert submission.data.decode("gb18030").splitlines()[0]
    not_utf8 = 0
    for submission in gb18030:  # an all-ASCII file is valid in both encodings
        try:
            submission.data.decode("utf-8")
        except UnicodeDecodeError:
            not_utf8 += 1
    assert not_utf8 >= 1
    for submission in plan:
        if submission.file.variant == "csv-utf8-bom":
            assert submission.data.startswith(b"\xef\xbb\xbf")
        if submission.file.variant == "csv-utf8":
            assert not submission.data.startswith(b"\xef\xbb\xbf")
            submission.data.decode("utf-8")
    for submission in plan:
        if submission.file.format == "json":
            payload = json.loads(submission.data)
            if submission.file.variant == "json-list":
                assert isinstance(payload, list) and len(payload) == submission.file.rows
            else:
                assert {k: payload[k] for k in ("county_code", "dataset", "period")} == {
                    "county_code": submission.file.county_code, "dataset": submission.file.dataset,
                    "period": submission.file.period}
                assert len(payload["records"]) == submission.file.rows


def test_spreadsheets_have_titles_total_rows_and_notes(plan: tuple[DemoSubmission, ...]) -> None:
    """Plain spreadsheets (real county form layouts are checked in test_forms.py)."""
    checked = 0
    for submission in plan:
        if (submission.file.format != "xlsx" or submission.file.dataset == "childcare_daily"
                or submission.file.layouts):
            continue
        rows = list(openpyxl.load_workbook(io.BytesIO(submission.data)).worksheets[0].iter_rows(values_only=True))
        header = [str(h) for h in submission.raw.columns]
        header_at = next(i for i, row in enumerate(rows) if [str(h) for h in row] == header)
        assert header_at <= 5
        total = [row for row in rows if row[0] == "合计"]
        if not total:
            continue
        checked += 1
        assert header_at >= 1 or submission.file.rows  # title rows are optional, data is not
        assert total[0] == rows[header_at + 1 + submission.file.rows]
        counts = [c for c in contract_for(submission.file.dataset).columns if c.type is ColumnType.COUNT]
        raw_names = _canonical_names(submission)
        for position, name in enumerate(header):
            column = raw_names.get(name)
            if column in {c.name for c in counts} and total[0][position] is not None:
                assert total[0][position] == submission.frame[column].sum(), (submission.file.path, column)
    assert checked >= 5
    pinned = next(s for s in plan if s.file.path.startswith(f"{SUIJIANG}/childcare_sites/{SUMMER_2025}/"))
    rows = list(openpyxl.load_workbook(io.BytesIO(pinned.data)).worksheets[0].iter_rows(values_only=True))
    assert str(rows[0][0]).startswith("昭通市2025年暑期")
    assert any(str(row[0]).startswith("填表说明") for row in rows if row[0])
    assert any(str(row[0]).startswith("填报人") for row in rows if row[0])


def test_personal_data_columns_are_in_some_raw_files(plan: tuple[DemoSubmission, ...]) -> None:
    with_personal = [s for s in plan if s.file.personal_headers]
    assert with_personal
    labels = {h for c in PERSONAL_COLUMNS for h in c.headers}
    for submission in with_personal:
        assert set(submission.file.personal_headers) <= labels
        assert set(submission.file.personal_headers) <= set(submission.raw.columns)
    csv_file = next(s for s in with_personal if s.file.format == "csv")
    header = csv_file.data.decode(csv_file.file.encoding or "utf-8").splitlines()[0]
    assert "填报人" in header and "联系电话" in header


def test_headers_values_and_aliases_vary(plan: tuple[DemoSubmission, ...]) -> None:
    headers = Counter(h for s in plan for h in s.raw.columns)
    assert "托管儿童数" in headers and "children_enrolled" in headers
    assert any("(" in h for h in headers) and any(h != h.strip() for h in headers)
    cells = pl.concat([
        s.raw.select(pl.all().cast(pl.Utf8)).unpivot(value_name="cell").select("cell")
        for s in plan if s.file.dataset != "childcare_daily"
    ])["cell"].drop_nulls()
    for pattern in (r"^\d+人$", r"^\d+元$", r"^\d+(\.\d)?小时$", r"^\d{1,3}(,\d{3})+", r"[０-９]", r"^\d+(\.\d)?万",
                    r"^\d{4}/\d{1,2}/\d{1,2}$", r"^\d{4}\.\d{1,2}\.\d{1,2}$", r"^\d{4}年\d{1,2}月\d{1,2}日$",
                    r"^\d{1,2}月\d{1,2}日$", r"^(—|/|-|无|N/A)$", r"^(昭阳|Zhaoyang|zhaoyang|昭阳区)$",
                    r"^(中职班|中职|学校|儿童之家|大学生志愿者|村（社区）干部|社区工作者)$", "\u3000$"):
        assert cells.str.contains(pattern).any(), pattern


def test_raw_cells_read_back_to_the_canonical_values(plan: tuple[DemoSubmission, ...]) -> None:
    """A minimal reading of counts and dates (units, separators, full-width digits, 万, date
    forms, missing markers) gives back exactly the frame behind each final file."""
    for submission in plan:
        if not submission.file.final:
            continue
        names = _canonical_names(submission)
        period = parse_period(submission.file.period)
        for header, column_name in names.items():
            column = contract_for(submission.file.dataset).column(column_name)
            if column.type not in (ColumnType.COUNT, ColumnType.DATE):
                continue
            cells = submission.raw[header]
            if column.type is ColumnType.COUNT:
                values = cells if cells.dtype == pl.Int64 else _read_counts(cells, zero_dash=column.required)
            else:
                values = cells if cells.dtype == pl.Date else _read_dates(cells, period.year)
            assert values.equals(submission.frame[column_name], check_names=False), (
                submission.file.path, column_name)


# --------------------------------------------------------------------------- lifecycle


def test_lifecycle_cases(landings) -> None:
    _, manifest, _, _ = landings
    cases = {f.case: f for f in manifest.lifecycle_cases()}
    assert set(cases) == set(LifecycleCase)
    rejected, corrected = cases[LifecycleCase.REJECTED], cases[LifecycleCase.CORRECTION_OF_REJECTED]
    assert (rejected.county_code, rejected.dataset, rejected.period) == ("530621", "childcare_sites", SUMMER_2025)
    assert rejected.expected_status is SubmissionStatus.REJECTED and not rejected.final
    assert {"count_approximate", "left_behind_exceed_enrolled"} <= set(rejected.expected_errors)
    assert corrected.final and corrected.expected_errors == ()
    assert corrected.file_name.endswith(f"（更正）.{corrected.format}")
    assert manifest.partition("530621", "childcare_sites", SUMMER_2025) == (rejected, corrected)
    superseded, newer = cases[LifecycleCase.SUPERSEDED], cases[LifecycleCase.SUPERSEDING_CORRECTION]
    assert superseded.dataset == "vocational_enrollment" and superseded.expected_errors == ()
    assert superseded.expected_status is SubmissionStatus.SUPERSEDED and not superseded.final
    assert manifest.partition(superseded.county_code, superseded.dataset, superseded.period) == (superseded, newer)
    for old, new in ((rejected, corrected), (superseded, newer)):
        assert old.modified_at < new.modified_at and old.file_name < new.file_name
    registry = cases[LifecycleCase.REGISTRY_AFTER_DEPENDANTS]
    early = [f for f in manifest.lifecycle_cases() if f.case is LifecycleCase.ARRIVES_BEFORE_REGISTRY]
    assert {f.dataset for f in early} == {"childcare_daily", "childcare_volunteers"}
    for dependant in early:
        assert (dependant.county_code, dependant.period) == (registry.county_code, registry.period) == (
            "530628", "2025-winter")
        assert dependant.modified_at < registry.modified_at and dependant.final
        assert dependant.expected_status is SubmissionStatus.ACCEPTED
    assert sum(1 for f in manifest.files if not f.final) == 2
    late = [f for f in manifest.lifecycle_cases() if f.case is LifecycleCase.LATE]
    assert {(f.county_code, f.dataset, f.period) for f in late} == {
        ("530627", "childcare_daily", SUMMER_2025), ("530602", "health_monthly", "2024-02")}
    assert all(f.final and f.expected_status in (SubmissionStatus.ACCEPTED,
                                                 SubmissionStatus.ACCEPTED_WITH_WARNINGS) for f in late)


def test_modification_times_are_plausible(landings) -> None:
    """After the period starts (months: after they end), on time unless meant to be late."""
    _, manifest, _, _ = landings
    for entry in manifest.files:
        window = parse_period(entry.period)
        received = entry.modified_at.date()
        assert received > window.start
        if window.kind is PeriodKind.MONTH:
            assert received > window.end
            due = date(window.end.year + window.end.month // 12, window.end.month % 12 + 1, 10)
        elif window.kind is PeriodKind.SCHOOL_YEAR:
            due = date(window.year, 10, 31)
        else:
            due = date(window.year, 9 if window.kind is PeriodKind.SUMMER else 3, 30 if window.kind is PeriodKind.SUMMER else 31)
        assert (received > due) == (entry.case is LifecycleCase.LATE), entry.path
        assert os.path.basename(entry.path) == entry.file_name


# --------------------------------------------------------------------------- helpers


def _canonical_names(submission: DemoSubmission) -> dict[str, str]:
    """Raw header → canonical column, the forgiving way a reader matches them."""
    def key(text: str) -> str:
        return text.strip().replace("（", "(").replace("）", ")").lower()
    lookup = {key(h): c.name for c in contract_for(submission.file.dataset).columns for h in c.headers}
    return {h: lookup[key(h)] for h in submission.raw.columns if key(h) in lookup}


def _read_counts(cells: pl.Series, *, zero_dash: bool = False) -> pl.Series:
    """Counts as written; in a required count column `—`, `－`, `/` mean 0 (SPEC §3)."""
    if zero_dash:
        cells = cells.replace(["—", "－", "-", "/", "无"], ["0"] * 5)
    text = (cells.str.strip_chars()
            .str.replace_many([chr(0xFF10 + d) for d in range(10)], [str(d) for d in range(10)])
            .str.replace(r"(人次|人|个|名|元|天|小时|台|张)$", "")
            .str.replace_all(",", ""))
    text = pl.Series(cells.name, [None if t in ("", "—", "-", "/", "无", "N/A") else t for t in text])
    wan = text.str.ends_with("万").fill_null(False)
    numbers = text.str.strip_suffix("万").cast(pl.Float64)
    return pl.select(pl.when(pl.lit(wan)).then(numbers * 10_000).otherwise(numbers).round(0)
                     .cast(pl.Int64)).to_series()


def _read_dates(cells: pl.Series, year: int) -> pl.Series:
    parts = cells.str.extract_groups(r"^(?:(\d{4})[-/.年])?(\d{1,2})[-/.月](\d{1,2})日?$")
    return pl.select(pl.date(parts.struct.field("1").cast(pl.Int32).fill_null(year),
                             parts.struct.field("2").cast(pl.Int32),
                             parts.struct.field("3").cast(pl.Int32))).to_series()
