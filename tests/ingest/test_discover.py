"""Discovery: landing-zone walking (local and fsspec memory), hashing, archiving, path checks."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import fsspec
import pytest
from fsspec.implementations.memory import MemoryFileSystem

from countyflow.ingest.discover import (
    CACHE_NAME,
    EPOCH,
    archive_path_for,
    decode_name,
    discover_submissions,
    is_junk,
    junk_reason,
    modified_at,
    open_archived,
    parse_landing_path,
)
from countyflow.ingest.model import IGNORED_REASONS, IgnoredEntry, SubmissionRef
from schemas.contract import COMMON_RULES

SITES_CSV = "530602/childcare_sites/2025-summer/昭阳区暑期托管点汇总表.csv"
LIMIT = 1024 * 1024


@pytest.fixture
def memory_landing() -> Iterator[str]:
    """A fresh `memory://` landing zone; the process-wide memory store is cleared after."""
    root = f"memory://landing-{uuid.uuid4().hex}"
    yield root
    MemoryFileSystem.store.clear()
    MemoryFileSystem.pseudo_dirs.clear()
    MemoryFileSystem.pseudo_dirs.append("")


def put(landing: str | Path, relative: str, data: bytes) -> None:
    """Write one landing-zone file through fsspec (works for local paths and URLs)."""
    fs, root = fsspec.core.url_to_fs(str(landing))
    path = f"{root.rstrip('/')}/{relative}"
    fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    fs.pipe_file(path, data)


def discover(landing: str | Path, archive: Path, max_file_bytes: int = LIMIT) -> list[SubmissionRef]:
    return list(discover_submissions(str(landing), archive_dir=archive, max_file_bytes=max_file_bytes))


# --- parse_landing_path -------------------------------------------------------------------


def test_parse_valid_path() -> None:
    where = parse_landing_path(SITES_CSV)
    assert where == ("530602", "childcare_sites", "2025-summer", "昭阳区暑期托管点汇总表.csv", "csv", None)


@pytest.mark.parametrize(("relative", "error"), [
    ("999999/childcare_sites/2025-summer/a.csv", "unknown_county_path"),
    ("昭阳区/childcare_sites/2025-summer/a.csv", "unknown_county_path"),
    ("530602/childcare/2025-summer/a.csv", "unknown_dataset_path"),
    ("530602/childcare_sites/2025-spring/a.csv", "unknown_period_path"),
    ("530602/health_monthly/2025-13/a.csv", "unknown_period_path"),
    ("530602/childcare_sites/2025/a.csv", "period_kind_mismatch"),
    ("530602/vocational_enrollment/2025-summer/a.csv", "period_kind_mismatch"),
    ("530602/health_monthly/2025/a.json", "period_kind_mismatch"),
    ("530602/childcare_sites/0000/a.csv", "unknown_period_path"),
    ("530602/childcare_sites/9999/a.csv", "unknown_period_path"),
    ("530602/health_monthly/0000-01/a.csv", "unknown_period_path"),
    ("530602/childcare_sites/2019-summer /a.csv", "unknown_period_path"),
    ("530602/childcare_sites/２０１９-summer/a.csv", "unknown_period_path"),
    ("530602/childcare_sites/a.csv", "path_layout"),
    ("530602/childcare_sites/2025-summer/补报/a.csv", "path_layout"),
    ("a.csv", "path_layout"),
])
def test_parse_path_errors(relative: str, error: str) -> None:
    assert error in COMMON_RULES
    assert parse_landing_path(relative).path_error == error


def test_parse_wrong_depth_fills_what_it_can() -> None:
    where = parse_landing_path("530602/childcare_sites/x.XLSX")
    assert (where.county_code, where.dataset, where.period, where.file_name, where.extension) == (
        "530602", "childcare_sites", "", "x.XLSX", "xlsx")


@pytest.mark.parametrize(("relative", "junk"), [
    (".DS_Store", True),
    ("530602/childcare_sites/2025-summer/.DS_Store", True),
    ("530602/childcare_sites/2025-summer/~$托管点.xlsx", True),
    ("530602/.git/config", True),
    ("__MACOSX/530602/childcare_sites/2025-summer/._a.csv", True),
    ("530602/childcare_sites/2025-summer/Thumbs.db", True),
    ("530602/childcare_sites/2025-summer/a.xlsx.part", True),
    ("530602/childcare_sites/2025-summer/a.csv", False),
    ("530602/childcare_sites/2025-summer/托管点（修订）.xlsx", False),
])
def test_junk_files(relative: str, junk: bool) -> None:
    assert is_junk(relative) is junk


@pytest.mark.parametrize(("relative", "reason"), [
    ("530602/childcare_sites/2025-summer/~$托管点.xlsx", "lock_file"),
    ("530602/childcare_sites/2025-summer/.DS_Store", "hidden"),
    ("530602/childcare_sites/.2019-winter/sites.csv", "hidden_folder"),
    ("530602/childcare_sites/.2019-winter/.sites.csv", "hidden"),
    ("530602/.git/config", "hidden"),
    ("__MACOSX/530602/childcare_sites/2025-summer/._a.csv", "os_metadata"),
    ("530602/childcare_sites/2025-summer/a.xlsx.part", "partial_transfer"),
    ("530602/childcare_sites/2025-summer/a.csv", None),
])
def test_junk_reasons(relative: str, reason: str | None) -> None:
    assert junk_reason(relative) == reason
    assert reason is None or reason in IGNORED_REASONS


@pytest.mark.parametrize(("listed", "text", "decodable"), [
    ("530602/a.csv", "530602/a.csv", True),
    # 昭阳区 in GBK, as Python lists a name that is not UTF-8
    ("530602/" + "昭阳区".encode("gbk").decode("utf-8", "surrogateescape") + ".csv",
     "530602/昭阳区.csv", True),
    # UTF-8 folder, GBK file name: each part is decoded on its own
    ("托管/" + "名单".encode("gbk").decode("utf-8", "surrogateescape"), "托管/名单", True),
    ("530602/" + b"\xff\xfe.csv".decode("utf-8", "surrogateescape"), "530602/\\xff\\xfe.csv", False),
])
def test_decode_name(listed: str, text: str, decodable: bool) -> None:
    assert decode_name(listed) == (text, decodable)


# --- discovery ----------------------------------------------------------------------------


FILES: dict[str, bytes] = {
    SITES_CSV: "县（区）代码,托管点编码\r\n530602,ZY-1\r\n".encode(),
    "530602/childcare_sites/2025-summer/补充.json": b"[]",
    "530621/vocational_enrollment/2024/鲁甸县中职学校.xlsx": b"PK\x03\x04 not really",
    "530621/childcare_sites/2025/a.csv": b"x",
    "999999/childcare_sites/2025-summer/a.csv": b"y",
    "530602/childcare_sites/2025-summer/.DS_Store": b"junk",
    "530602/childcare_sites/2025-summer/~$托管点.xlsx": b"lock",
}
GOOD = [SITES_CSV, "530602/childcare_sites/2025-summer/补充.json",
        "530621/vocational_enrollment/2024/鲁甸县中职学校.xlsx"]


def _check_refs(refs: list[SubmissionRef], archive: Path, scheme: str) -> None:
    relatives = [ref.relative_path for ref in refs]
    assert relatives == sorted(relatives)
    assert set(relatives) == {name for name in FILES if not is_junk(name)}
    for ref in refs:
        data = FILES[ref.relative_path]
        assert ref.submission_id == hashlib.sha256(data).hexdigest()
        assert ref.size_bytes == len(data)
        assert ref.source_url.startswith(scheme)
        assert ref.source_url.endswith(ref.relative_path)
        assert ref.modified_at.tzinfo is not None and ref.modified_at.utcoffset() == timedelta(0)
        assert abs(ref.modified_at - datetime.now(UTC)) < timedelta(minutes=5)
        assert Path(ref.archive_path) == archive_path_for(archive, ref.submission_id, ref.extension)
        assert Path(ref.archive_path).read_bytes() == data
        assert open_archived(ref) == data
        assert (ref.path_error is None) == (ref.relative_path in GOOD)
    by_path = {ref.relative_path: ref for ref in refs}
    assert by_path["530621/childcare_sites/2025/a.csv"].path_error == "period_kind_mismatch"
    assert by_path["999999/childcare_sites/2025-summer/a.csv"].path_error == "unknown_county_path"
    ref = by_path[SITES_CSV]
    assert (ref.county_code, ref.dataset, ref.period, ref.file_name, ref.extension) == (
        "530602", "childcare_sites", "2025-summer", "昭阳区暑期托管点汇总表.csv", "csv")
    assert not list(archive.rglob(".incoming-*"))


def test_discover_local_landing(tmp_path: Path) -> None:
    landing, archive = tmp_path / "landing", tmp_path / "archive"
    for relative, data in FILES.items():
        put(landing, relative, data)
    refs = discover(landing, archive)
    _check_refs(refs, archive, "file://")
    ref = next(r for r in refs if r.relative_path == SITES_CSV)
    stat_mtime = datetime.fromtimestamp(os.stat(landing / SITES_CSV).st_mtime, UTC)
    assert ref.modified_at == stat_mtime


def test_discover_memory_landing(memory_landing: str, tmp_path: Path) -> None:
    for relative, data in FILES.items():
        put(memory_landing, relative, data)
    _check_refs(discover(memory_landing, tmp_path / "archive"), tmp_path / "archive", "memory://")


def test_discover_file_url(tmp_path: Path) -> None:
    put(tmp_path / "landing", SITES_CSV, FILES[SITES_CSV])
    refs = discover(f"file://{tmp_path / 'landing'}", tmp_path / "archive")
    assert [ref.relative_path for ref in refs] == [SITES_CSV]


def test_missing_landing_zone_yields_nothing(tmp_path: Path, memory_landing: str) -> None:
    assert discover(tmp_path / "nowhere", tmp_path / "archive") == []
    assert discover(memory_landing, tmp_path / "archive") == []


def test_archive_is_written_once(tmp_path: Path) -> None:
    landing, archive = tmp_path / "landing", tmp_path / "archive"
    data = FILES[SITES_CSV]
    put(landing, SITES_CSV, data)
    put(landing, "530602/childcare_sites/2025-summer/同一文件副本.csv", data)
    first = discover(landing, archive)
    assert len({ref.submission_id for ref in first}) == 1
    assert len({ref.archive_path for ref in first}) == 1
    stored = Path(first[0].archive_path)
    before = stored.stat().st_mtime_ns, stored.stat().st_ino
    os.utime(stored, ns=(1, 1))  # if anything rewrote it, the time would change back
    second = discover(landing, archive)
    assert [ref.submission_id for ref in second] == [ref.submission_id for ref in first]
    assert stored.stat().st_mtime_ns == 1 and stored.stat().st_ino == before[1]
    # the archive holds the submission and discovery's own hash cache, nothing partial
    assert [p for p in archive.rglob("*") if p.is_file() and p.name != CACHE_NAME] == [stored]


def _ingests(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the paths discovery actually reads (cache misses)."""
    import countyflow.ingest.discover as discover_module

    calls: list[str] = []
    real = discover_module.ingest_file

    def spy(fs: Any, path: str, **kwargs: Any) -> tuple[str, int, str]:
        calls.append(path)
        return real(fs, path, **kwargs)

    monkeypatch.setattr(discover_module, "ingest_file", spy)
    return calls


def test_unchanged_files_are_not_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    landing, archive = tmp_path / "landing", tmp_path / "archive"
    put(landing, SITES_CSV, FILES[SITES_CSV])
    first = discover(landing, archive)
    calls = _ingests(monkeypatch)
    assert discover(landing, archive) == first
    assert calls == []


def test_rewrite_with_same_size_and_mtime_is_hashed_again(tmp_path: Path) -> None:
    landing, archive = tmp_path / "landing", tmp_path / "archive"
    put(landing, SITES_CSV, FILES[SITES_CSV])
    path = landing / SITES_CSV
    (first,) = discover(landing, archive)
    stat = path.stat()
    changed = FILES[SITES_CSV].replace(b"1", b"2", 1)
    assert len(changed) == stat.st_size and changed != FILES[SITES_CSV]
    path.write_bytes(changed)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # ctime still moves on
    (second,) = discover(landing, archive)
    assert second.submission_id == hashlib.sha256(changed).hexdigest() != first.submission_id
    assert open_archived(second) == changed


def test_cache_is_not_trusted_without_the_archived_copy(tmp_path: Path) -> None:
    landing, archive = tmp_path / "landing", tmp_path / "archive"
    put(landing, SITES_CSV, FILES[SITES_CSV])
    (first,) = discover(landing, archive)
    Path(first.archive_path).unlink()
    (second,) = discover(landing, archive)
    assert open_archived(second) == FILES[SITES_CSV]


def test_archive_survives_the_landing_zone(tmp_path: Path) -> None:
    landing, archive = tmp_path / "landing", tmp_path / "archive"
    put(landing, SITES_CSV, FILES[SITES_CSV])
    (ref,) = discover(landing, archive)
    (landing / SITES_CSV).unlink()
    assert open_archived(ref) == FILES[SITES_CSV]


def test_open_archived_detects_tampering(tmp_path: Path) -> None:
    put(tmp_path / "landing", SITES_CSV, FILES[SITES_CSV])
    (ref,) = discover(tmp_path / "landing", tmp_path / "archive")
    Path(ref.archive_path).write_bytes(b"changed")
    with pytest.raises(ValueError, match="SHA-256"):
        open_archived(ref)


def test_file_over_size_limit_is_hashed_not_archived(tmp_path: Path) -> None:
    big = os.urandom(3 * 1024 * 1024 + 17)  # spans several read chunks
    put(tmp_path / "landing", "530602/childcare_sites/2025-summer/big.xlsx", big)
    (ref,) = discover(tmp_path / "landing", tmp_path / "archive", max_file_bytes=1024 * 1024)
    assert ref.path_error == "file_too_large"
    assert ref.submission_id == hashlib.sha256(big).hexdigest()
    assert ref.size_bytes == len(big)
    assert ref.archive_path == ""
    archived = [p for p in (tmp_path / "archive").rglob("*") if p.is_file() and p.name != CACHE_NAME]
    assert not archived
    with pytest.raises(FileNotFoundError):
        open_archived(ref)


def test_file_at_exactly_the_limit_is_accepted(tmp_path: Path) -> None:
    data = b"x" * 1000
    put(tmp_path / "landing", SITES_CSV, data)
    (ref,) = discover(tmp_path / "landing", tmp_path / "archive", max_file_bytes=1000)
    assert ref.path_error is None and open_archived(ref) == data


def test_every_path_error_through_discovery(memory_landing: str, tmp_path: Path) -> None:
    cases = {
        "999999/childcare_sites/2025-summer/a.csv": "unknown_county_path",
        "530602/nope/2025-summer/a.csv": "unknown_dataset_path",
        "530602/childcare_sites/summer/a.csv": "unknown_period_path",
        "530602/health_monthly/2025/a.csv": "period_kind_mismatch",
        "530602/childcare_sites/a.csv": "path_layout",
    }
    for relative in cases:
        put(memory_landing, relative, relative.encode())
    refs = discover(memory_landing, tmp_path / "archive")
    assert {ref.relative_path: ref.path_error for ref in refs} == cases
    assert all(open_archived(ref) == ref.relative_path.encode() for ref in refs)


# --- modification times -------------------------------------------------------------------


class _NoModified:
    def modified(self, path: str) -> datetime:
        raise NotImplementedError


class _Modified:
    def modified(self, path: str) -> datetime:
        return datetime(2025, 7, 6, 12, 0)


@pytest.mark.parametrize(("info", "expected"), [
    ({"mtime": 1751803200.0}, datetime(2025, 7, 6, 12, 0, tzinfo=UTC)),
    ({"LastModified": datetime(2025, 7, 6, 20, 0, tzinfo=timezone(timedelta(hours=8)))},
     datetime(2025, 7, 6, 12, 0, tzinfo=UTC)),
    ({"last_modified": datetime(2025, 7, 6, 12, 0)}, datetime(2025, 7, 6, 12, 0, tzinfo=UTC)),
    ({"updated": "2025-07-06T12:00:00Z"}, datetime(2025, 7, 6, 12, 0, tzinfo=UTC)),
    ({"modified": "Sun, 06 Jul 2025 12:00:00 GMT"}, datetime(2025, 7, 6, 12, 0, tzinfo=UTC)),
    ({"modify": "20250706120000"}, datetime(2025, 7, 6, 12, 0, tzinfo=UTC)),
    ({"created": 1751803200}, datetime(2025, 7, 6, 12, 0, tzinfo=UTC)),
    ({"mtime": "garbage", "created": 1751803200}, datetime(2025, 7, 6, 12, 0, tzinfo=UTC)),
    ({}, EPOCH),
])
def test_modified_at_across_backends(info: dict[str, Any], expected: datetime) -> None:
    assert modified_at(_NoModified(), "p", info) == expected  # type: ignore[arg-type]


def test_modified_at_prefers_fs_modified_over_created() -> None:
    stamp = modified_at(_Modified(), "p", {"created": 0.0})  # type: ignore[arg-type]
    assert stamp == datetime(2025, 7, 6, 12, 0, tzinfo=UTC)


# --- hostile names and entries that are not submissions -------------------------------------


def _gbk(text: str) -> bytes:
    return text.encode("gbk")


def test_hostile_landing_zone_entries(tmp_path: Path) -> None:
    """Non-UTF-8 names, bad periods, symlinks, lock files and hidden folders beside a good
    file: nothing raises, every entry is either a submission or listed as ignored."""
    landing, outside = tmp_path / "landing", tmp_path / "outside"
    good = "县（区）代码,托管点编码\r\n530602,ZY-1\r\n".encode()
    put(landing, SITES_CSV, good)
    season = os.fsencode(landing / "530602/childcare_sites/2025-summer")
    # A GBK file name (valid GB18030) and bytes that are no text in any encoding.
    gbk_name = _gbk("昭阳区托管点.csv")
    with open(os.path.join(season, gbk_name), "wb") as stream:
        stream.write(b"gbk name")
    with open(os.path.join(season, b"\xff\xfe\x80.csv"), "wb") as stream:
        stream.write(b"undecodable name")
    for period in ("0000", "9999", "2019-summer ", "２０１９-summer"):
        put(landing, f"530602/childcare_sites/{period}/a.csv", period.encode())
    put(landing, "530602/health_monthly/0000-01/a.csv", b"month zero")
    put(landing, "530602/childcare_sites/.2019-winter/托管点.csv", b"hidden folder")
    put(landing, "530602/childcare_sites/2025-summer/~$托管点.xlsx", b"lock")
    put(outside, "secret.csv", b"outside the landing zone")
    (landing / "530602/childcare_sites/2025-summer/link.csv").symlink_to(outside / "secret.csv")
    (landing / "530602/childcare_sites/2024-summer").symlink_to(outside)

    ignored: list[IgnoredEntry] = []
    refs = list(discover_submissions(str(landing), archive_dir=tmp_path / "archive",
                                     max_file_bytes=LIMIT, ignored=ignored))
    by_path = {ref.relative_path: ref for ref in refs}
    assert by_path[SITES_CSV].path_error is None and open_archived(by_path[SITES_CSV]) == good

    gbk = by_path["530602/childcare_sites/2025-summer/昭阳区托管点.csv"]
    assert gbk.path_error is None
    assert gbk.file_name == "昭阳区托管点.csv" and gbk.source_url.endswith("昭阳区托管点.csv")
    assert open_archived(gbk) == b"gbk name"

    (undecodable,) = [ref for ref in refs if ref.path_error == "path_undecodable"]
    assert undecodable.relative_path == "530602/childcare_sites/2025-summer/\\xff\\xfe\\x80.csv"
    assert open_archived(undecodable) == b"undecodable name"

    for period in ("0000", "9999", "2019-summer ", "２０１９-summer"):
        assert by_path[f"530602/childcare_sites/{period}/a.csv"].path_error == "unknown_period_path"
    assert by_path["530602/health_monthly/0000-01/a.csv"].path_error == "unknown_period_path"
    for ref in refs:  # every name downstream is text (reports and the ledger write it)
        for value in (ref.relative_path, ref.source_url, ref.file_name, ref.period):
            value.encode("utf-8")

    assert {(entry.relative_path, entry.reason, entry.warning) for entry in ignored} == {
        ("530602/childcare_sites/.2019-winter/托管点.csv", "hidden_folder", True),
        ("530602/childcare_sites/2025-summer/~$托管点.xlsx", "lock_file", False),
        ("530602/childcare_sites/2025-summer/link.csv", "symlink", False),
        ("530602/childcare_sites/2024-summer", "symlink", False),
    }
    assert not any("secret" in ref.relative_path or ref.relative_path in {
        entry.relative_path for entry in ignored} for ref in refs)

    # A second run finds the same names in the cache (the listed, undecoded names are its keys).
    again = list(discover_submissions(str(landing), archive_dir=tmp_path / "archive",
                                      max_file_bytes=LIMIT))
    assert [ref.relative_path for ref in again] == [ref.relative_path for ref in refs]
