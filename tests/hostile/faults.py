"""Faults injected by file name into a real `countyflow run` process.

A file named `fault-<fake>.<ext>` is staged by `tests.isolation_fakes.<fake>` (a native abort,
an allocation past the memory limit, a hang, an exception): what crafted files made calamine
do before the bounds, without really crashing the machine. Every other file is staged for
real. `ENTRY` starts the CLI with this staging function as the default of
`countyflow.isolation.stage_isolated`; the workers then run `stage` below in their own
processes, with their real memory and time limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import polars as pl

from countyflow.ingest.model import SubmissionRef
from countyflow.pipeline import StagedSubmission
from countyflow.settings import Settings

FAULT_PREFIX = "fault-"
ENTRY = ("-c", "import tests.hostile.faults as f; f.install(); from countyflow.cli import app; app()")
"""Replaces `-m countyflow.cli` (tests.processes.start_countyflow): the CLI with faults."""
REPO = Path(__file__).resolve().parents[2]
"""What the process needs on PYTHONPATH to import `tests` (its workers inherit the path)."""


def stage(ref: SubmissionRef, lookups: Mapping[str, pl.DataFrame | None],
          settings: Settings) -> StagedSubmission:
    from countyflow.staging import stage_to_files
    from tests import isolation_fakes

    stem = ref.file_name.rsplit(".", 1)[0]
    if stem.startswith(FAULT_PREFIX):
        fake = getattr(isolation_fakes, stem.removeprefix(FAULT_PREFIX))
        return fake(ref, lookups, settings)  # type: ignore[no-any-return]
    return stage_to_files(ref, lookups, settings)


def install() -> None:
    """Make `stage` what staging workers run in this process."""
    from countyflow import isolation

    assert isolation.stage_isolated.__kwdefaults__ is not None
    isolation.stage_isolated.__kwdefaults__["function"] = f"{__name__}:stage"
