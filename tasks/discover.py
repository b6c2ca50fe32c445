"""Discovery: the landing-zone edge (local folder or any fsspec URL)."""

from __future__ import annotations

from prefect import task

from countyflow.ingest.discover import discover_submissions as _discover
from countyflow.ingest.model import SubmissionRef
from countyflow.settings import Settings


@task(retries=2, retry_delay_seconds=5, timeout_seconds=1800)
def discover_submissions(settings: Settings) -> list[SubmissionRef]:
    """List every file of the landing zone with its hash, archiving the raw bytes."""
    return list(
        _discover(settings.landing, archive_dir=settings.archive_dir, max_file_bytes=settings.max_file_bytes)
    )
