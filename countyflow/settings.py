"""The one settings object. Read at the edge (CLI, deployment entry points) and passed in."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

Policy = Literal["strict", "partial"]


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
    landing: str = Field(default="data/landing", description="Local path or fsspec URL of the landing zone.")
    archive_dir: Path = Field(default=Path("data/archive"), description="Raw submissions, kept by SHA-256.")
    reports_dir: Path = Field(default=Path("data/reports"), description="Clerk reports per submission.")
    staging_dir: Path = Field(
        default=Path("data/staging"),
        description="Validated frames handed from the staging task to the load task (Parquet).",
    )
    max_file_bytes: int = Field(default=50 * 1024 * 1024, description="Submissions larger than this are rejected.")
    max_sheet_cells: int = Field(default=5_000_000, description="A spreadsheet expanding past this is rejected.")
    max_columns: int = Field(default=500, description="A file with more columns than this is rejected.")
    default_policy: Policy = "strict"
    dataset_policies: dict[str, Policy] = Field(default_factory=dict, description="Per-dataset policy override.")
    task_runner: Literal["thread", "dask"] = "thread"
    dask_address: str | None = None

    def policy_for(self, dataset: str) -> Policy:
        return self.dataset_policies.get(dataset, self.default_policy)

    def sqlalchemy_url(self) -> str:
        """The warehouse URL with the password filled in; never log the result."""
        url = make_url(self.warehouse_url.get_secret_value())
        if url.password is None and self.warehouse_password is not None:
            url = url.set(password=self.warehouse_password.get_secret_value())
        return url.render_as_string(hide_password=False)

    def safe_warehouse_url(self) -> str:
        """The warehouse URL with any password masked, for logs and the UI."""
        return make_url(self.warehouse_url.get_secret_value()).render_as_string(hide_password=True)
