"""The one settings object. Read at the edge (CLI, deployment entry points) and passed in."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError
from sqlalchemy.engine import make_url

from schemas import CONTRACTS

Policy = Literal["strict", "partial"]

DEFAULT_MAX_TEXT_CHARS = 1000
"""Longest cell text a submission may hold; library functions default to it."""
MAX_ISSUE_ROWS_PER_RULE = 1000
"""Default of `Settings.max_issue_rows_per_rule`, and of the functions it is passed to."""


class Settings(BaseSettings):
    """countyflow settings: flags override environment (`COUNTYFLOW_*`), which overrides defaults."""

    model_config = SettingsConfigDict(env_prefix="COUNTYFLOW_", extra="ignore")

    warehouse_url: SecretStr = Field(
        default=SecretStr("duckdb:///data/warehouse.duckdb"),
        description="SQLAlchemy URL of the warehouse; may carry a password, so it is secret.",
    )
    warehouse_password: SecretStr | None = Field(
        default=None, description="Password injected into warehouse_url when the URL has none."
    )
    warehouse_password_block: str | None = Field(
        default=None,
        description="Name of a Prefect Secret block holding the password, used when neither "
        "the URL nor COUNTYFLOW_WAREHOUSE_PASSWORD gives one (loaded when the engine is made).",
    )
    warehouse_lock_timeout: float = Field(
        default=30 * 60.0, ge=0,
        description="Seconds to wait for a DuckDB warehouse file another process holds.",
    )
    landing: str = Field(default="data/landing", description="Local path or fsspec URL of the landing zone.")
    archive_dir: Path = Field(default=Path("data/archive"), description="Raw submissions, kept by SHA-256.")
    reports_dir: Path = Field(default=Path("data/reports"), description="Clerk reports per submission.")
    staging_dir: Path = Field(
        default=Path("data/staging"),
        description="Validated frames handed from the staging task to the load task (Arrow IPC files).",
    )
    # --- isolation (countyflow/isolation.py): each submission is staged in a worker process ---
    stage_memory_mb: int = Field(
        default=3072, ge=0,
        description="Memory (MiB of data segment, RLIMIT_DATA) a staging worker process may use; "
        "a file needing more is rejected as too_large_when_expanded. 0: no limit.",
    )
    stage_timeout_seconds: float = Field(
        default=300.0, ge=0,
        description="Seconds one submission may take to stage; then its worker is killed and "
        "the file rejected as timed_out. 0: no limit.",
    )
    stage_in_worker: bool = Field(
        default=True,
        description="Stage each submission in a worker process (crash, memory and time bounded); "
        "False stages in the calling process (debugging only: a hostile file can kill the run).",
    )
    staging_leftover_seconds: float = Field(
        default=6 * 3600.0, ge=0,
        description="A run's start removes staging files older than this (left by a failed or "
        "killed run); younger ones may belong to a run still going.",
    )
    # --- end isolation ----------------------------------------------------------------------
    max_file_bytes: int = Field(default=50 * 1024 * 1024, description="Submissions larger than this are rejected.")
    max_sheet_cells: int = Field(default=5_000_000, description="A spreadsheet expanding past this is rejected.")
    max_columns: int = Field(default=500, description="A file with more columns than this is rejected.")
    max_text_chars: int = Field(
        default=DEFAULT_MAX_TEXT_CHARS, ge=1,
        description="A cell longer than this many characters is a row error (text_too_long).",
    )
    max_issue_rows_per_rule: int = Field(
        default=MAX_ISSUE_ROWS_PER_RULE, ge=1,
        description="Per submission and rule × column, the audit table and the reports' "
        "per-issue lists keep this many issues one by one, then one summary issue with the "
        "count of the rest; counts and verdicts are always exact.",
    )
    default_policy: Policy = "strict"
    dataset_policies: dict[str, Policy] = Field(default_factory=dict, description="Per-dataset policy override.")
    task_runner: Literal["thread", "dask"] = "thread"
    dask_address: str | None = None

    # --- quality gate (warehouse/quality.py, tasks/check.py) ---------------------------
    run_quality_checks: bool = Field(
        default=True,
        description="Run the Great Expectations gate after loading (GX is slow to import).",
    )
    data_docs_dir: Path = Field(
        default=Path("data/quality"), description="Where the GX Data Docs site is written."
    )
    quality_severities: dict[str, Literal["error", "warning"]] = Field(
        default_factory=dict,
        description="Severity override per expectation name (or glob, e.g. 'mart_*'): "
        "error fails the run, warning is only reported.",
    )
    # --- end quality gate ---------------------------------------------------------------

    @field_validator("dataset_policies")
    @classmethod
    def _known_datasets(cls, policies: dict[str, Policy]) -> dict[str, Policy]:
        """A misspelled dataset would silently keep the default policy: refuse it."""
        unknown = sorted(set(policies) - set(CONTRACTS))
        if unknown:
            raise ValueError(f"unknown dataset(s) {', '.join(unknown)}; known: {', '.join(sorted(CONTRACTS))}")
        return policies

    def policy_for(self, dataset: str) -> Policy:
        return self.dataset_policies.get(dataset, self.default_policy)

    def sqlalchemy_url(self) -> str:
        """The warehouse URL with the password filled in; never log the result.

        The password comes from the URL, else `warehouse_password`
        (COUNTYFLOW_WAREHOUSE_PASSWORD), else the Prefect Secret block named by
        `warehouse_password_block` (COUNTYFLOW_WAREHOUSE_PASSWORD_BLOCK).
        """
        url = make_url(self.warehouse_url.get_secret_value())
        password = self.resolved_password()
        if url.password is None and password is not None:
            url = url.set(password=password)
        return url.render_as_string(hide_password=False)

    def resolved_password(self) -> str | None:
        """The warehouse password from wherever it is configured (see `sqlalchemy_url`)."""
        url = make_url(self.warehouse_url.get_secret_value())
        if url.password is not None:
            return str(url.password)
        if self.warehouse_password is not None:
            return self.warehouse_password.get_secret_value()
        if self.warehouse_password_block:
            return _secret_block_value(self.warehouse_password_block)
        return None

    def safe_warehouse_url(self) -> str:
        """The warehouse URL with any password masked, for logs and the UI."""
        return make_url(self.warehouse_url.get_secret_value()).render_as_string(hide_password=True)


@lru_cache(maxsize=8)
def _secret_block_value(name: str) -> str:
    """The value of Prefect Secret block `name` (one API call per process and name)."""
    # lazy: Prefect only when a password block is named
    from prefect.blocks.system import Secret

    # Prefect's async_dispatch types `load` as block-or-coroutine; from sync code it is the block.
    value = Secret.load(name).get()  # type: ignore[union-attr]
    if not isinstance(value, str):
        raise TypeError(f"Prefect Secret block {name!r} must hold a string password")
    return value


def describe_setting_errors(error: ValidationError | SettingsError) -> list[str]:
    """One line per bad setting, naming its environment variable, what was given (never a
    secret's value) and what is allowed — instead of pydantic's multi-line dump."""
    if isinstance(error, SettingsError):  # a value the environment source cannot parse
        found = re.search(r'field "(\w+)"', str(error))
        name = f"COUNTYFLOW_{found.group(1).upper()}" if found else "a COUNTYFLOW_ setting"
        return [f"{name}: not valid JSON (e.g. {{\"childcare_daily\": \"partial\"}})"
                if found and found.group(1) == "dataset_policies" else f"{name}: cannot be parsed"]
    lines: list[str] = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem.get("loc") else "?"
        variable = f"COUNTYFLOW_{field.upper()}"
        secret = "password" in field or field == "warehouse_url"
        given = "" if secret or "input" not in problem else f" (given: {str(problem['input'])[:80]!r})"
        allowed = problem.get("ctx", {}).get("expected")
        message = f"expected {allowed}" if allowed else str(problem.get("msg", "invalid value"))
        lines.append(f"{variable}{given}: {message}")
    return lines
