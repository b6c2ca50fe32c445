"""Find submissions in the landing zone and archive their bytes by SHA-256.

The landing zone is a local folder or any fsspec URL (`s3://…`, `sftp://…`,
`memory://…`), laid out as `<county_code>/<dataset>/<period>/<file>` (SPEC §3).
Discovery is the only step that reads the landing zone: it streams each file once,
hashing it and copying it into the archive at the same time, so a submission can be
re-processed later from the archive alone, whatever happens to the landing zone.
Files are handled one at a time; no file's bytes are held in memory whole.

Names are text everywhere downstream (ledger, clerk reports, artifacts), so a name that
is not UTF-8 — Windows zip tools write GBK names, which Python hands over as
surrogate-escaped text — is decoded as GB18030 when its bytes are valid GB18030, and
otherwise rejected as `path_undecodable` with the bytes shown escaped (`\\xff`).

Entries that are never submissions (symlinks, Office lock files, hidden files and
folders, OS metadata, partial transfers) are reported to the caller as `IgnoredEntry`s
with their reason, so the run summary lists them; a data file inside a hidden folder is
flagged as a warning.

On a local landing zone a re-run does not re-read unchanged files: the archive keeps a
small cache (`.discovery-cache.json`) of each file's SHA-256 keyed by its stat signature
(size, mtime, ctime, inode). ctime cannot be set by users and changes on every write or
`utime`, so a rewrite that restores size and mtime still misses the cache; an entry is
also only used while its archived copy exists.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import suppress
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any, NamedTuple

from fsspec import AbstractFileSystem
from fsspec.core import url_to_fs

from countyflow.ingest.model import IgnoredEntry, SubmissionRef
from countyflow.periods import InvalidPeriod, parse_period
from countyflow.reference import county_codes
from schemas import CONTRACTS

CHUNK_BYTES = 1024 * 1024
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Files that are never submissions: OS metadata, Office lock files (`~$名单.xlsx`),
# partial downloads/uploads that will be replaced by the finished file.
_JUNK_NAMES = frozenset({"thumbs.db", "desktop.ini", "__macosx"})
_JUNK_PREFIXES = (".", "~")
_JUNK_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".crdownload", ".download", ".swp")
# fsspec `info()` keys for "last modified", by backend: local/sftp, s3, azure/abfs,
# gcs, others. `created` is a last resort (memory fs: set on write).
_MODIFIED_KEYS = ("mtime", "LastModified", "last_modified", "updated", "modified", "modify")
_CREATED_KEYS = ("created", "ctime", "creation_time", "time")


class LandingPath(NamedTuple):
    """What a landing-zone path says about its file; `path_error` is a COMMON_RULES id."""

    county_code: str
    dataset: str
    period: str
    file_name: str
    extension: str
    path_error: str | None


def junk_reason(relative_path: str) -> str | None:
    """Why the path is never a submission (an `IGNORED_REASONS` key), None when it may be one."""
    parts = PurePosixPath(relative_path).parts
    for position, part in enumerate(parts):
        if part.lower() in _JUNK_NAMES:
            return "os_metadata"
        if part.startswith("~"):
            return "lock_file"
        if part.startswith("."):
            is_folder = position < len(parts) - 1
            if is_folder and _looks_like_data(parts[-1]):
                return "hidden_folder"
            return "hidden"
    if relative_path.lower().endswith(_JUNK_SUFFIXES):
        return "partial_transfer"
    return None


def _looks_like_data(file_name: str) -> bool:
    # lazy: the readers (calamine, openpyxl) load only when a file is looked at
    from countyflow.ingest.read import SUPPORTED_EXTENSIONS

    return not file_name.startswith(_JUNK_PREFIXES) and file_extension(file_name) in SUPPORTED_EXTENSIONS


def is_junk(relative_path: str) -> bool:
    """Hidden files and folders, Office lock files, OS metadata, partial transfers."""
    return junk_reason(relative_path) is not None


def ignored_entry(relative_path: str, reason: str) -> IgnoredEntry:
    """An `IgnoredEntry`; a data file in a hidden folder is a warning (it was likely meant
    to be submitted: zip tools and sync clients create such folders)."""
    return IgnoredEntry(relative_path, reason, warning=reason == "hidden_folder")


def _surrogate_free(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def decode_name(path: str) -> tuple[str, bool]:
    """A listed path as text: (text, True), or (the bytes escaped, False) when undecodable.

    Python lists a non-UTF-8 name with its bytes surrogate-escaped. Each such component is
    re-read from its bytes as GB18030 (what Chinese Windows and its zip tools write); one
    that is not valid GB18030 either is shown with its undecodable bytes as `\\xNN`.
    Components that are already text are left alone, so a UTF-8 folder keeps its name.
    """
    if _surrogate_free(path):
        return path, True
    parts: list[str] = []
    decoded = True
    for part in path.split("/"):
        if _surrogate_free(part):
            parts.append(part)
            continue
        raw = part.encode("utf-8", "surrogateescape" if _escaped_only(part) else "surrogatepass")
        try:
            parts.append(raw.decode("gb18030"))
        except UnicodeDecodeError:
            parts.append(raw.decode("utf-8", "backslashreplace"))
            decoded = False
    return "/".join(parts), decoded


def _escaped_only(text: str) -> bool:
    """True when every surrogate in `text` is a surrogate-escaped byte (U+DC80…U+DCFF)."""
    return all(not 0xD800 <= ord(char) <= 0xDFFF or 0xDC80 <= ord(char) <= 0xDCFF
               for char in text)


def file_extension(file_name: str) -> str:
    """Lower-case extension without the dot (`报表.XLSX` → `xlsx`); empty when none."""
    return PurePosixPath(file_name).suffix.lstrip(".").lower()


def parse_landing_path(relative_path: str) -> LandingPath:
    """Split `<county_code>/<dataset>/<period>/<file>` and check each part.

    Pure. The first problem found wins, in path order: layout, county, dataset,
    period, period kind. With a wrong layout the fields are filled best-effort.
    """
    parts = [part for part in relative_path.strip("/").split("/") if part]
    file_name = parts[-1] if parts else ""
    extension = file_extension(file_name)
    if len(parts) != 4:
        head = [*parts[:-1], "", "", ""][:3]
        return LandingPath(head[0], head[1], head[2], file_name, extension, "path_layout")
    county, dataset, period, _ = parts
    error: str | None = None
    if county not in county_codes():
        error = "unknown_county_path"
    elif dataset not in CONTRACTS:
        error = "unknown_dataset_path"
    else:
        try:
            kind = parse_period(period).kind
        except InvalidPeriod:
            error = "unknown_period_path"
        else:
            if kind not in CONTRACTS[dataset].period_kinds:
                error = "period_kind_mismatch"
    return LandingPath(county, dataset, period, file_name, extension, error)


def _as_utc(value: object) -> datetime | None:
    """A timestamp in any form fsspec backends use (epoch number, datetime, ISO/HTTP/FTP string)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        with suppress(OverflowError, OSError, ValueError):
            return datetime.fromtimestamp(float(value), UTC)
        return None
    if isinstance(value, str) and value.strip():
        text = value.strip()
        with suppress(ValueError):
            return _as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
        with suppress(TypeError, ValueError, IndexError):
            return _as_utc(parsedate_to_datetime(text))
        with suppress(ValueError):
            return datetime.strptime(text[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    return None


def modified_at(fs: AbstractFileSystem, path: str, info: Mapping[str, Any]) -> datetime:
    """Last modification time in UTC; falls back to the epoch so ordering stays deterministic."""
    for key in _MODIFIED_KEYS:
        if (stamp := _as_utc(info.get(key))) is not None:
            return stamp
    with suppress(Exception):  # `modified` is optional in fsspec and raises when absent
        if (stamp := _as_utc(fs.modified(path))) is not None:
            return stamp
    for key in _CREATED_KEYS:
        if (stamp := _as_utc(info.get(key))) is not None:
            return stamp
    return EPOCH


def archive_path_for(archive_dir: Path, sha256: str, extension: str) -> Path:
    """Where the archive keeps a submission's bytes: `<sha[:2]>/<sha>.<ext>`."""
    suffix = f".{extension}" if extension else ""
    return Path(archive_dir) / sha256[:2] / f"{sha256}{suffix}"


def _copy_and_hash(stream: IO[bytes], spool: IO[bytes] | None,
                   max_bytes: int) -> tuple[str, int]:
    """Stream `stream` into sha256 (and `spool` while within `max_bytes`). Returns (hex, size)."""
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(CHUNK_BYTES):
        digest.update(chunk)
        size += len(chunk)
        if spool is not None and size <= max_bytes:
            spool.write(chunk)
    return digest.hexdigest(), size


def ingest_file(fs: AbstractFileSystem, path: str, *, extension: str, archive_dir: Path,
                max_file_bytes: int) -> tuple[str, int, str]:
    """Hash one file and archive it (unless over the size limit). Returns (sha, size, archive path).

    The bytes are spooled to a temporary file inside the archive and renamed into place
    only when that hash is not archived yet, so the archive never holds a partial file
    and an existing copy is never rewritten.
    """
    archive_dir = Path(archive_dir)
    archive_dir.mkdir(parents=True, exist_ok=True)
    spool = tempfile.NamedTemporaryFile(dir=archive_dir, prefix=".incoming-", delete=False)  # noqa: SIM115
    try:
        with spool, fs.open(path, "rb") as stream:
            sha256, size = _copy_and_hash(stream, spool, max_file_bytes)
        if size > max_file_bytes:
            return sha256, size, ""
        target = archive_path_for(archive_dir, sha256, extension)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(spool.name, target)
        return sha256, size, str(target)
    finally:
        with suppress(FileNotFoundError):
            os.unlink(spool.name)


CACHE_NAME = ".discovery-cache.json"
_CACHE_VERSION = 1


def _stat_signature(fs: AbstractFileSystem, info: Mapping[str, Any]) -> list[Any] | None:
    """What must stay equal for a cached hash to be trusted; None where it cannot be told
    (not a local filesystem, or a stat field missing)."""
    if "file" not in fs.protocol:
        return None
    signature = [info.get(key) for key in ("size", "mtime", "created", "ino")]
    return None if any(value is None for value in signature) else signature


def _load_cache(archive_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((Path(archive_dir) / CACHE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != _CACHE_VERSION:
        return {}
    entries = data.get("files")
    return entries if isinstance(entries, dict) else {}


def _save_cache(archive_dir: Path, entries: Mapping[str, Any]) -> None:
    """Replace the cache atomically; a failure only costs re-hashing next time."""
    archive_dir = Path(archive_dir)
    with suppress(OSError):
        archive_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=archive_dir, prefix=".cache-", suffix=".tmp",
                                         delete=False, encoding="utf-8") as spool:
            json.dump({"version": _CACHE_VERSION, "files": entries}, spool)
        try:
            os.replace(spool.name, archive_dir / CACHE_NAME)
        finally:
            with suppress(FileNotFoundError):
                os.unlink(spool.name)


def _cached(entry: Any, signature: list[Any] | None, max_file_bytes: int) -> tuple[str, int, str] | None:
    """The cached (sha, size, archive path) when it still describes the file and the archive."""
    if signature is None or not isinstance(entry, dict) or entry.get("signature") != signature:
        return None
    sha256, size, archived = entry.get("sha256"), entry.get("size"), entry.get("archived")
    if not isinstance(sha256, str) or not isinstance(size, int) or not isinstance(archived, str):
        return None
    if size > max_file_bytes:
        return (sha256, size, "") if not archived else None
    if not archived or not Path(archived).is_file():
        return None
    return sha256, size, archived


def _relative(path: str, root: str) -> str:
    root = root.rstrip("/")
    if root and path.startswith(root + "/"):
        return path[len(root) + 1:]
    return path.lstrip("/")


def discover_submissions(landing: str, *, archive_dir: Path, max_file_bytes: int,
                         ignored: list[IgnoredEntry] | None = None) -> Iterator[SubmissionRef]:
    """Yield one `SubmissionRef` per file of the landing zone, sorted by relative path.

    Every file is hashed and archived as it is yielded (files over `max_file_bytes` are
    hashed but not archived: `archive_path` is empty and `path_error` is
    `file_too_large`). Path problems are reported through `path_error`, never raised,
    so a misplaced file still shows up in the audit instead of vanishing. A landing zone
    that does not exist yields nothing. Unchanged local files are not re-read (see the
    module docstring); the cache is rewritten once the whole listing has been yielded.
    Entries that are not submissions are appended to `ignored` (when given) with their
    reason, in path order.
    """
    fs, root = url_to_fs(landing)
    try:
        listing: dict[str, dict[str, Any]] = fs.find(root, withdirs=False, detail=True)
    except FileNotFoundError:
        return
    entries = sorted(
        ((decode_name(_relative(path, root)), path, info) for path, info in listing.items()),
        key=lambda entry: entry[0][0],
    )
    cache = _load_cache(archive_dir)
    seen: dict[str, Any] = {}
    for (relative, decodable), path, info in entries:
        if info.get("type", "file") != "file":
            # A symlink could point anywhere (outside the landing zone too): never followed.
            if ignored is not None:
                ignored.append(ignored_entry(relative, "symlink" if info.get("islink") else "not_a_file"))
            continue
        if (reason := junk_reason(relative)) is not None:
            if ignored is not None:
                ignored.append(ignored_entry(relative, reason))
            continue
        where = parse_landing_path(relative)
        cache_key = fs.unstrip_protocol(path)  # the listed name: what a re-run lists again
        source_url = decode_name(cache_key)[0]
        signature = _stat_signature(fs, info)
        hit = _cached(cache.get(cache_key), signature, max_file_bytes)
        if hit is not None:
            sha256, size, archived = hit
        else:
            try:
                sha256, size, archived = ingest_file(
                    fs, path, extension=where.extension, archive_dir=archive_dir,
                    max_file_bytes=max_file_bytes)
            except FileNotFoundError:
                continue  # moved or deleted since the listing: it is no longer a submission here
        if signature is not None:
            seen[cache_key] = {"signature": signature, "sha256": sha256, "size": size,
                                "archived": archived}
        error = where.path_error if decodable else "path_undecodable"
        if size > max_file_bytes:
            # Size wins so that "not archived" always means exactly `file_too_large`.
            error = "file_too_large"
        yield SubmissionRef(
            submission_id=sha256,
            source_url=source_url,
            relative_path=relative,
            county_code=where.county_code,
            dataset=where.dataset,
            period=where.period,
            file_name=where.file_name,
            extension=where.extension,
            size_bytes=size,
            modified_at=modified_at(fs, path, info),
            archive_path=archived,
            path_error=error,
        )
    if seen or cache:
        # Entries of other landing zones sharing this archive are kept; this one's are
        # replaced, so files that left it are forgotten.
        prefix = fs.unstrip_protocol(root.rstrip("/")) + "/"
        others = {url: entry for url, entry in cache.items() if not url.startswith(prefix)}
        _save_cache(archive_dir, {**others, **seen})


def open_archived(ref: SubmissionRef) -> bytes:
    """A submission's bytes from the archive, checked against its SHA-256.

    Raises FileNotFoundError when it was never archived (over the size limit) or the
    archive lost it, and ValueError when the archived bytes no longer match the id.
    """
    if not ref.archive_path:
        raise FileNotFoundError(f"submission {ref.submission_id} was not archived "
                                f"({ref.path_error or 'no archive path'})")
    data = Path(ref.archive_path).read_bytes()
    if hashlib.sha256(data).hexdigest() != ref.submission_id:
        raise ValueError(f"archived bytes of {ref.submission_id} do not match its SHA-256")
    return data
