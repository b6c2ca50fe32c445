"""Stand-ins for `countyflow.staging.stage_to_files`, run inside a staging worker by the
isolation tests (named as `module:function` in the request): each fails one way."""

from __future__ import annotations

import io
import os
import time
import zipfile
from collections.abc import Mapping

import polars as pl

from countyflow.ingest.model import SubmissionRef
from countyflow.pipeline import StagedSubmission
from countyflow.settings import Settings

Lookups = Mapping[str, pl.DataFrame | None]
HERE = "tests.isolation_fakes"


def abort(ref: SubmissionRef, lookups: Lookups, settings: Settings) -> StagedSubmission:
    """A native crash, as calamine's failed 16 GB allocation ends."""
    os.abort()


def exit_hard(ref: SubmissionRef, lookups: Lookups, settings: Settings) -> StagedSubmission:
    """Native code calling exit(): no exception, no reply, just gone."""
    os._exit(3)


def allocate_python(ref: SubmissionRef, lookups: Lookups, settings: Settings) -> StagedSubmission:
    """Twice the worker's memory limit from Python: a MemoryError."""
    blocks = [bytearray(64 * 1024 * 1024) for _ in range(2 * settings.stage_memory_mb // 64 + 1)]
    raise AssertionError(f"the memory limit did not hold ({len(blocks)} blocks)")


def allocate_native(ref: SubmissionRef, lookups: Lookups, settings: Settings) -> StagedSubmission:
    """Twice the worker's memory limit in one Rust allocation (Polars): an abort after
    `memory allocation of … failed`, as calamine does with a sheet range it believes."""
    rows = 2 * settings.stage_memory_mb * 1024 * 1024 // 8
    column = pl.int_range(0, rows, eager=True)  # materialised (a repeat would stay a scalar)
    raise AssertionError(f"the memory limit did not hold ({column.len()} rows)")


def sleep(ref: SubmissionRef, lookups: Lookups, settings: Settings) -> StagedSubmission:
    """Far longer than the worker's time limit."""
    time.sleep(600)
    raise AssertionError("the time limit did not hold")


class FileSaysNo(ValueError):
    """An exception whose message quotes the file, as readers' messages do."""


def raise_error(ref: SubmissionRef, lookups: Lookups, settings: Settings) -> StagedSubmission:
    raise FileSaysNo("张三 13812345678 in cell B7")


def refuse_secrets(ref: SubmissionRef, lookups: Lookups, settings: Settings) -> StagedSubmission:
    """Stages for real, after checking no warehouse secret reached the worker; leaves the
    worker's pid where the test can read it."""
    from countyflow.staging import stage_to_files

    leaked = [key for key in os.environ if key.startswith("COUNTYFLOW_WAREHOUSE")]
    if settings.warehouse_url.get_secret_value() or settings.warehouse_password is not None or leaked:
        raise RuntimeError("a warehouse secret reached the staging worker")
    settings.staging_dir.mkdir(parents=True, exist_ok=True)
    (settings.staging_dir / "worker.pid").write_text(str(os.getpid()))
    return stage_to_files(ref, lookups, settings)


_SHEET_PARTS = {
    "[Content_Types].xml":
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '</Types>',
    "_rels/.rels":
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
        '</Relationships>',
    "xl/workbook.xml":
        '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels":
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        '</Relationships>',
    "xl/worksheets/sheet1.xml":
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>学校名称</t></is></c></row>'
        '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>',
}


def endless_sheet_xlsx() -> bytes:
    """A 1 KB workbook whose sheet has no `<dimension>` and one cell at XFD1048576: calamine
    sizes its cell grid from the cells it sees, 16,384 × 1,048,576 of them (16 GB+)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in _SHEET_PARTS.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def raise_missing(ref: SubmissionRef, lookups: Lookups, settings: Settings) -> StagedSubmission:
    raise FileNotFoundError("raised in the calling process")
