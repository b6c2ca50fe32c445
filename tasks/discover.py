"""Discovery: the landing-zone edge (local folder or any fsspec URL)."""

from __future__ import annotations

from typing import NamedTuple

from prefect import get_run_logger, task

from countyflow.ingest.discover import discover_submissions as _discover
from countyflow.ingest.model import IGNORED_REASONS, IgnoredEntry, SubmissionRef
from countyflow.settings import Settings


class Discovery(NamedTuple):
    """The submissions found, and the entries that are not submissions (with the reason)."""

    submissions: list[SubmissionRef]
    ignored: list[IgnoredEntry]


@task(retries=2, retry_delay_seconds=5, timeout_seconds=1800)
def discover_submissions(settings: Settings) -> Discovery:
    """List every file of the landing zone with its hash, archiving the raw bytes.

    A data file inside a hidden folder is logged as a warning, once per folder: it was most
    likely meant to be submitted. The log names the folder, not the file (file names may
    name people).
    """
    ignored: list[IgnoredEntry] = []
    submissions = list(_discover(settings.landing, archive_dir=settings.archive_dir,
                                 max_file_bytes=settings.max_file_bytes, ignored=ignored))
    logger = get_run_logger()
    for folder in sorted({entry.relative_path.rsplit("/", 1)[0] for entry in ignored if entry.warning}):
        logger.warning("%s: %s", folder, IGNORED_REASONS["hidden_folder"][1])
    return Discovery(submissions, ignored)
